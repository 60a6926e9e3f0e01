"""`kport convert` targets for Keras files and SavedModels: writers, and runners that prove them.

A written Keras file is proven with the real Keras that reads it when it is
installed (Keras 3 for `.keras`, tf_keras for `.h5`); without TensorFlow it is
re-imported by kport and run on the numpy reference, which still proves the
writer's configs and weights round-trip.
"""
from __future__ import annotations

import os

import numpy as np

from kport.ir.graph import Graph


def write_keras_target(graph: Graph, path) -> list[str]:
    from kport.exporters.keras.keras3_file import write_keras

    write_keras(graph, path)
    return [os.fspath(path)]


def write_h5_target(graph: Graph, path) -> list[str]:
    from kport.exporters.keras.legacy_h5_file import write_h5

    write_h5(graph, path)
    return [os.fspath(path)]


def write_savedmodel_target(graph: Graph, path) -> list[str]:
    from kport.exporters.keras.savedmodel import write_savedmodel

    write_savedmodel(graph, path)
    return [os.fspath(path)]


def write_kport_target(graph: Graph, path) -> list[str]:
    from kport.ir import kport_file

    kport_file.save(graph, path)
    return [os.fspath(path)]


def _args(feeds: dict[str, np.ndarray]):
    arrays = list(feeds.values())
    return arrays if len(arrays) > 1 else arrays[0]


def _as_list(out) -> list[np.ndarray]:
    if isinstance(out, dict):
        out = list(out.values())
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def _kport_rerun(path, feeds) -> list[np.ndarray]:
    import kport

    return kport.run(kport.load(path), feeds)


def _run_in(module: str, path, feeds) -> list[np.ndarray]:
    """Loads the file with real Keras (`keras` or `tf_keras`) and runs it; kport's importer without it."""
    import importlib

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        keras = importlib.import_module(module)
    except ImportError:
        return _kport_rerun(path, feeds)
    model = keras.models.load_model(os.fspath(path), compile=False)
    return _as_list(model(_args(feeds), training=False))


def run_keras_file(path, feeds: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
    """Runs a `.keras` file in real Keras 3 when installed, else through kport's importer."""
    return _run_in("keras", path, feeds)


def run_h5_file(path, feeds: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
    """Runs a tf.keras `.h5` in real tf_keras when installed, else through kport's importer."""
    return _run_in("tf_keras", path, feeds)


def run_savedmodel(path, feeds: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
    """Runs a SavedModel's serving signature with TensorFlow."""
    import tensorflow as tf

    loaded = tf.saved_model.load(os.fspath(path))
    out = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in feeds.items()})
    return [np.asarray(out[n]) for n in names]


def run_kport_file(path, feeds: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
    """Runs a `.kport` file on the numpy reference."""
    return _kport_rerun(path, feeds)
