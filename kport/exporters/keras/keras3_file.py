"""Writes a Keras 3 `.keras` zip (config.json, metadata.json, model.weights.h5) with h5py and zipfile."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from kport.exporters.keras.layer_config import functional_config, snake_case
from kport.ir.graph import Graph
from kport.util.atomic import atomic_write

KERAS_VERSION = "3.10.0"  # the oldest Keras 3 whose config spelling this writer follows


def write_keras(graph: Graph, path) -> None:
    """Writes `graph` as a `.keras` file that Keras 3 loads with `keras.models.load_model`.

    The model is written flattened as one Functional model; nested models'
    layers keep their names.
    """
    import h5py

    from kport.exporters.keras.layer_order import keras_layer_order
    from kport.exporters.keras.lowering import lower_for_keras

    graph = lower_for_keras(graph, "keras3")
    config, order = functional_config(graph)
    order = keras_layer_order(config, order)  # Keras names the weight groups in its own layer order
    by_name = {name: layer for _, name, layer in order if layer is not None}
    for entry in config["layers"]:  # custom layers: their own `module` / `registered_name` (keras3_custom.py)
        entry.update(getattr(getattr(by_name.get(entry.get("name")), "op", None), "keras3_entry", None) or {})
    document = {"module": "keras.src.models.functional", "class_name": "Functional", "config": config,
                "registered_name": "Functional", "build_config": {"input_shape": None}, "compile_config": None}
    weights = io.BytesIO()
    with h5py.File(weights, "w") as f:
        f.create_group("vars").attrs["name"] = graph.name
        layers = f.create_group("layers")
        seen: dict[str, int] = {}
        for class_name, name, layer in order:
            base = snake_case(class_name)
            n = seen.get(base, 0)
            seen[base] = n + 1
            group = layers.create_group(base if n == 0 else f"{base}_{n}")
            vars_ = group.create_group("vars")
            vars_.attrs["name"] = name
            if layer is None:
                continue
            nested = getattr(layer.op, "keras3_vars", None)  # sub-layer paths (RNN cells, wrappers)
            if nested is not None:
                for sub, arrays in nested(layer.weights).items():
                    sub_vars = group.require_group(f"{sub}/vars")
                    for i, arr in enumerate(arrays):
                        sub_vars.create_dataset(str(i), data=arr)
                continue
            for i, arr in enumerate(_keras3_weights(layer)):
                vars_.create_dataset(str(i), data=arr)
    metadata = {"keras_version": KERAS_VERSION, "date_saved": "kport"}
    with atomic_write(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("metadata.json", json.dumps(metadata))
            z.writestr("config.json", json.dumps(document))
            z.writestr("model.weights.h5", weights.getvalue())


def _keras3_weights(layer) -> list[np.ndarray]:
    hook = getattr(layer.op, "keras_weights", None)
    return hook(layer.weights) if hook else list(layer.weights.values())
