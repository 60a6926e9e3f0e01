"""`.keras` zips: Keras 3 and tf.keras 2.13+ (`model.save('x.keras')`).

Members: `config.json` (the model's `{class_name, config}`), `metadata.json`
(`keras_version`), and the weights as `model.weights.h5` (saving_lib `vars`
layout, see keras_vars) or `model.weights.npz`. Keras 3 writes its npz weights
as pickled dicts; kport never unpickles, so such files are refused.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from contextlib import contextmanager

import numpy as np

from kport.errors import FormatError, UnsafeContentError
from kport.importers import keras_config, keras_vars, provenance
from kport.ir.graph import Graph

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS_H5 = "model.weights.h5"
WEIGHTS_NPZ = "model.weights.npz"
# weights above this size are extracted to a temporary file instead of read into memory
IN_MEMORY_LIMIT = 256 << 20
# a member this large that inflates more than BOMB_RATIO times is refused (float weights barely compress)
BOMB_SIZE = 64 << 20
BOMB_RATIO = 100


def load_zip(path: str, weights: str | None = None, **options) -> Graph:
    """Imports a `.keras` zip.

    Args:
        path: the `.keras` file.
        weights: a separate weights file to use instead of the zip's own.
        **options: unused; accepted for a uniform importer signature.

    Raises:
        FormatError: not a Keras zip, or a corrupt one.
        UnsafeContentError: the weights are pickled objects.
        WeightError: weights missing or not fitting the architecture.
    """
    path = str(path)
    with open_zip(path) as z:
        return _load(ZipMembers(z, path), weights)


def load_dir(path: str, weights: str | None = None, **options) -> Graph:
    """Imports an unzipped `.keras` folder (`model.save(path, zipped=False)` in Keras 3)."""
    return _load(DirMembers(str(path)), weights)


def _load(members: "ZipMembers | DirMembers", weights: str | None) -> Graph:
    path, names = members.path, members.names
    if CONFIG not in names:
        raise FormatError("holds no Keras model (no config.json)", path=path,
                          hint="give a file saved with model.save('model.keras')")
    model = read_json_member(members, CONFIG)
    meta = read_json_member(members, METADATA) if METADATA in names else {}
    if not isinstance(model, dict) or "class_name" not in model:
        raise FormatError("config.json is not a Keras model description", path=path)
    version = (meta if isinstance(meta, dict) else {}).get("keras_version") or guess_version(model)
    source, ctx = provenance.describe(path, "keras", version)
    graph = keras_config.build_graph(model, source, ctx)
    if weights is not None:
        from kport.importers.weights_file import bind_weights_file

        bind_weights_file(graph, weights, model_config=model)
    elif WEIGHTS_H5 in names:
        keras_vars.bind_vars(graph, model, read_h5_member(members, WEIGHTS_H5))
    elif WEIGHTS_NPZ in names:
        keras_vars.bind_vars(graph, model, read_npz_member(members, WEIGHTS_NPZ))
    else:
        raise FormatError("the .keras model holds no weights (no model.weights.h5)", path=path,
                          hint="it is incomplete; save the model again")
    return graph


def guess_version(model: dict) -> str:
    """Who wrote a `.keras` config that lost its metadata.json: Keras 3 or tf.keras 2.13+.

    Keras 3 writes InputLayer `batch_shape` and DTypePolicy dicts; tf.keras
    writes `batch_input_shape` and plain dtype strings.
    """
    text = json.dumps(model)
    return "3" if '"batch_shape"' in text or '"DTypePolicy"' in text else "2.13"


def open_zip(path: str) -> zipfile.ZipFile:
    """Opens a zip, turning a truncated or corrupt file into a FormatError."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise FormatError(f"cannot read as a zip ({err})", path=path,
                          hint="the file is truncated or corrupt; copy it again")


class ZipMembers:
    """The members of a `.keras` zip."""

    def __init__(self, z: zipfile.ZipFile, path: str):
        self.z, self.path = z, path
        self.names = set(z.namelist())

    def read(self, member: str) -> bytes:
        self._check_size(member)
        try:
            return self.z.read(member)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            raise FormatError(f"cannot read '{member}' from the zip ({err})", path=self.path,
                              hint="the file is truncated or corrupt; copy it again")

    @contextmanager
    def h5_source(self, member: str):
        """Yields something h5py opens: bytes in memory, or for big weights a temporary file."""
        if self._check_size(member).file_size <= IN_MEMORY_LIMIT:
            yield io.BytesIO(self.read(member))
            return
        with tempfile.TemporaryDirectory(prefix="kport-") as tmp:  # one copy on disk, not a second in memory
            try:
                extracted = self.z.extract(member, tmp)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
                raise FormatError(f"cannot read '{member}' from the zip ({err})", path=self.path,
                                  hint="the file is truncated or corrupt; copy it again")
            yield extracted

    def _check_size(self, member: str) -> zipfile.ZipInfo:
        info = self.z.getinfo(member)
        if info.file_size > BOMB_SIZE and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
            raise UnsafeContentError(
                f"'{member}' inflates from {info.compress_size} to {info.file_size} bytes (a decompression bomb?)",
                path=self.path, hint="kport refuses it; a real .keras file stores its weights uncompressed")
        return info


class DirMembers:
    """The files of an unzipped `.keras` folder."""

    def __init__(self, path: str):
        self.path = path
        self.names = set(os.listdir(path))

    def read(self, member: str) -> bytes:
        with open(os.path.join(self.path, member), "rb") as fh:
            return fh.read()

    @contextmanager
    def h5_source(self, member: str):
        yield os.path.join(self.path, member)


def read_json_member(members, member: str):
    """Reads and parses a JSON member."""
    try:
        return json.loads(members.read(member).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FormatError(f"'{member}' is not valid JSON ({err})", path=members.path, hint="the file is corrupt")


def read_h5_member(members, member: str) -> keras_vars.VarsStore:
    """Reads the `vars` groups of the HDF5 weights member."""
    import h5py

    try:
        with members.h5_source(member) as source, h5py.File(source, "r") as h5:
            return keras_vars.read_h5_store(h5, members.path)
    except OSError as err:
        raise FormatError(f"'{member}' is not a readable HDF5 file ({err})", path=members.path,
                          hint="the file is truncated or corrupt; copy it again")


def read_npz_member(members, member: str) -> keras_vars.VarsStore:
    """Reads npz weights whose members are plain arrays named '<object path>/vars/<i>'.

    Raises:
        UnsafeContentError: a member is a pickled object array (Keras 3's own npz layout).
    """
    path = members.path
    store = keras_vars.VarsStore(path)
    try:
        with np.load(io.BytesIO(members.read(member)), allow_pickle=False) as npz:
            grouped: dict[str, dict[int, np.ndarray]] = {}
            for key in npz.files:
                try:
                    arr = npz[key]
                except ValueError:
                    raise UnsafeContentError(
                        f"'{member}' stores weights as pickled Python objects ('{key}'); kport never unpickles",
                        path=path, hint="save the model with the default .weights.h5 format: model.save('x.keras')")
                obj, _, index = key.rpartition("/")
                if not index.isdigit():
                    raise FormatError(f"unexpected member '{key}' in '{member}'", path=path,
                                      hint="the npz weights do not follow the Keras layout")
                grouped.setdefault(obj, {})[int(index)] = arr
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise FormatError(f"'{member}' is not a readable npz file ({err})", path=path,
                          hint="the file is truncated or corrupt; copy it again")
    for obj, arrays in grouped.items():
        store.add(obj, arrays, None)
    return store
