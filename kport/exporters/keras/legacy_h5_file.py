"""Writes a tf.keras (Keras 2) legacy HDF5 model file with h5py: tf_keras.models.load_model reads it."""
from __future__ import annotations

import json

import numpy as np

from kport.exporters.keras.layer_config import functional_config
from kport.ir.graph import Graph
from kport.util.atomic import atomic_write

TF_KERAS_VERSION = "2.21.0"


def write_h5(graph: Graph, path) -> None:
    """Writes `graph` as a full-model `.h5` in tf.keras's format (flattened Functional model)."""
    import h5py

    from kport.exporters.keras.layer_order import keras_layer_order
    from kport.exporters.keras.lowering import lower_for_keras

    graph = lower_for_keras(graph, "tf.keras")
    config, order = functional_config(graph, flavor="tf.keras")
    order = keras_layer_order(config, order)  # tf.keras binds weights to layers by position in its order
    model_config = {"class_name": "Functional", "config": config}
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["keras_version"] = TF_KERAS_VERSION
            f.attrs["backend"] = "tensorflow"
            f.attrs["model_config"] = json.dumps(model_config)
            write_weight_groups(f.create_group("model_weights"), [(name, layer) for _, name, layer in order])


def write_weight_groups(group, layers) -> None:
    """Writes Keras 2 `layer_names` / `weight_names` weight groups (also the save_weights layout)."""
    group.attrs["keras_version"] = TF_KERAS_VERSION
    group.attrs["backend"] = "tensorflow"
    group.attrs["layer_names"] = np.array([name.encode() for name, _ in layers])
    for name, layer in layers:
        g = group.create_group(name)
        weights = layer.weights if layer is not None else {}
        hook = getattr(layer.op, "keras_weight_names", None) if layer is not None else None
        wnames = hook(layer.name) if hook else [f"{name}/{w}:0" for w in weights]
        g.attrs["weight_names"] = np.array([w.encode() for w in wnames])
        for wname, arr in zip(wnames, weights.values()):
            g.create_dataset(wname, data=arr)
