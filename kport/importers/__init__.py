"""File formats -> IR. `load_model` dispatches on the file's content."""
from __future__ import annotations

from kport.errors import FormatError
from kport.importers.detect import sniff
from kport.ir.graph import Graph


def load_model(path: str, weights: str | None = None, **options) -> Graph:
    """Imports any supported model file into the IR.

    Args:
        path: the model file (format detected from its content).
        weights: a separate weights file (for architecture-only files).
        **options: format-specific options (e.g. `trust_lambda`, `arch`).

    Raises:
        KportError: the file cannot be read; the message names file and layer.
    """
    from kport.importers.lambda_trace import trusting

    with trusting(bool(options.pop("trust_lambda", False))):  # Lambda code is traced only on request
        return _load_model(str(path), weights, **options)


def _load_model(path: str, weights: str | None = None, **options) -> Graph:
    kind = sniff(path)
    if kind == "hdf5":
        from kport.importers.keras_h5 import load_h5

        return load_h5(path, weights)
    if kind == "zip":
        from kport.importers import keras_v3
        from kport.importers.safe_unpickle import is_pkl_utils_zip

        if is_pkl_utils_zip(path):  # Theano pkl_utils.dump: a pickle plus .npy members
            from kport.importers.theano_pickle import load_pickle

            return load_pickle(path, weights, **options)

        return keras_v3.load_zip(path, weights, **options)
    if kind == "keras_dir":
        from kport.importers import keras_v3

        return keras_v3.load_dir(path, weights, **options)
    if kind == "json":
        from kport.importers.keras_json import load_json

        return load_json(path, weights, **options)
    if kind in ("pickle", "gzip", "bz2"):
        try:
            from kport.importers.theano_pickle import load_pickle
        except ImportError:
            raise FormatError("pickled models are not supported yet", path=path)
        return load_pickle(path, weights, **options)
    raise FormatError("unsupported file", path=path)


__all__ = ["load_model", "sniff"]
