"""Weight migration: IR weights <-> the generated module's torch state_dict, both ways exact.

Both directions read the same per-parameter declarations the hooks made
(`ParamSpec` with an invertible layout), so Keras -> torch -> Keras is
bit-exact and a fine-tuned state_dict lands on the right Keras weights.
"""
from __future__ import annotations

import copy

import numpy as np

from kport.errors import WeightError
from kport.exporters.torch.codegen import emit
from kport.ir.graph import Graph


def to_state_dict(graph: Graph) -> dict[str, np.ndarray]:
    """Returns the state_dict (numpy arrays) matching the generated `model.py`."""
    return dict(emit(graph).state)


def from_state_dict(graph: Graph, state: dict[str, np.ndarray], *, source: str | None = None) -> Graph:
    """Returns a copy of `graph` whose weights come from a torch state_dict.

    Raises:
        WeightError: a parameter is missing, unexpected, or of the wrong shape.
    """
    t = emit(graph)
    expected = set(t.state)
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        raise WeightError(f"state_dict does not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}",
                          path=source, hint="give the state_dict of the module kport generated for this model")
    out = copy.copy(graph)
    out.layers = {name: copy.copy(layer) for name, layer in graph.layers.items()}
    new: dict[str, dict[str, np.ndarray]] = {}
    for sub in t.submodules:
        for pname, spec in sub.params.items():
            if spec.keras_name is None:
                continue
            key = f"{sub.attr}.{pname}"
            value = np.asarray(state[key])
            if value.shape != t.state[key].shape:
                raise WeightError(f"parameter '{key}' has shape {value.shape}, expected {t.state[key].shape}",
                                  path=source, layer=sub.layer)
            keras = spec.layout.to_keras(value.astype(np.float32))
            weights = new.setdefault(sub.layer, {})
            if spec.keras_name in weights and spec.extra:
                weights[spec.keras_name] = weights[spec.keras_name] + keras
            elif spec.keras_name in weights:
                weights[spec.keras_name] = keras + weights[spec.keras_name]
            else:
                weights[spec.keras_name] = keras
    for name, weights in new.items():
        layer = out.layers[name]
        merged = dict(layer.weights)
        for k, v in weights.items():
            merged[k] = v.astype(layer.weights[k].dtype).reshape(layer.weights[k].shape)
        layer.weights = merged
    return out
