"""Detects a model file's format from its first bytes, never from its extension."""
from __future__ import annotations

import os

from kport.errors import FormatError

HDF5 = b"\x89HDF\r\n\x1a\n"
ZIP = b"PK\x03\x04"


def sniff(path: str) -> str:
    """Returns 'hdf5', 'zip', 'keras_dir', 'json', 'pickle', 'gzip' or 'bz2'.

    Raises:
        FormatError: missing, empty or unrecognised file.
    """
    if not os.path.exists(path):
        raise FormatError("no such file", path=path, hint="check the path")
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "config.json")):
            return "keras_dir"  # Keras 3 `model.save(path, zipped=False)`
        raise FormatError("is a folder, not a model file", path=path,
                          hint="SavedModel folders are not read; save the model as .keras or .h5")
    with open(path, "rb") as fh:
        head = fh.read(512)
    if not head:
        raise FormatError("the file is empty", path=path,
                          hint="it was not fully written or copied; save or copy the model again")
    if head.startswith(HDF5) or head[512:520] == HDF5:
        return "hdf5"
    if head.startswith(ZIP):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bz2"
    if head[:1] == b"\x80" or head[:1] in (b"(", b"c", b"]", b"}"):
        return "pickle"
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"[", b'"'):
        return "json"
    raise FormatError("not a Keras model file (unknown content)", path=path,
                      hint="kport reads Keras .h5/.hdf5, .keras, JSON architectures and Theano pickles")
