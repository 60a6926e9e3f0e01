"""The TensorFlow runtime: kport writes the graph as a tf.keras model file and real tf_keras runs it.

Going through the Keras writer means this backend checks two things at once:
that TensorFlow computes what the numpy reference computes, and that the
configs kport writes mean to real Keras what the IR means.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from kport.errors import BackendUnavailableError
from kport.ir.graph import Graph
from kport.runtime.base import Runtime


def build_tf_model(graph: Graph):
    """Returns a tf_keras Model equal to `graph` (written by kport, loaded by tf_keras)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tf_keras
    except ImportError:
        raise BackendUnavailableError("the tf backend needs TensorFlow and tf_keras", hint="pip install 'kport[tf]'")
    from kport.exporters.keras.legacy_h5_file import write_h5

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.h5")
        write_h5(graph, path)
        return tf_keras.models.load_model(path, compile=False)


class TfRuntime(Runtime):
    """Runs a graph with TensorFlow (CPU, or GPU when TensorFlow sees one)."""

    name = "tf"

    def __init__(self, graph: Graph, device: str = "cpu"):
        super().__init__(graph, device)
        self.model = build_tf_model(graph)

    def _run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        import tensorflow as tf

        args = [feeds[s.name] for s in self.graph.inputs]
        with tf.device("/GPU:0" if self.device == "cuda" else "/CPU:0"):
            out = self.model(args if len(args) > 1 else args[0], training=False)
        out = out if isinstance(out, (list, tuple)) else [out]
        return [np.asarray(o) for o in out]
