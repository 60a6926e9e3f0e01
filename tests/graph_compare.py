"""Field-by-field comparison of IR graphs, naming the first difference."""
from __future__ import annotations

import dataclasses

import numpy as np

from kport.ops.base import Op


def first_difference(a, b, path: str = "") -> str | None:
    """Describes where two values first differ (types and bytes included), or None."""
    if type(a) is not type(b):
        return f"{path}: type {type(a).__name__} became {type(b).__name__} ({a!r} vs {b!r})"
    if isinstance(a, Op):
        return first_difference(a.attributes(), b.attributes(), f"{path}<{a.kind}>")
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return f"{path}: array {a.dtype}{a.shape} became {b.dtype}{b.shape}"
        if a.tobytes() != b.tobytes():
            return f"{path}: array bytes differ"
        return None
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} became {list(b)}"
        for key in a:
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} became {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(a, float):
        same = np.float64(a).tobytes() == np.float64(b).tobytes()
        return None if same else f"{path}: {a!r} became {b!r}"
    if dataclasses.is_dataclass(a):
        return first_difference(dataclasses.asdict(a), dataclasses.asdict(b), path)
    return None if a == b else f"{path}: {a!r} became {b!r}"


def graph_difference(g1, g2, *, compare_source: bool = True) -> str | None:
    """The first difference between two IR graphs, or None when they are identical.

    Args:
        g1, g2: the graphs.
        compare_source: also compare provenance (file, format, Keras version).
    """
    checks = [
        ("name", g1.name, g2.name),
        ("kind", g1.kind, g2.kind),
        ("source", g1.source if compare_source else None, g2.source if compare_source else None),
        ("inputs", g1.inputs, g2.inputs),
        ("outputs", g1.outputs, g2.outputs),
        ("tensors", g1.tensors, g2.tensors),
        ("layer order", list(g1.layers), list(g2.layers)),
        ("nodes", g1.nodes, g2.nodes),
    ]
    for label, a, b in checks:
        found = first_difference(a, b, label)
        if found:
            return found
    for name, layer in g1.layers.items():
        other = g2.layers[name]
        found = (first_difference(layer.op.kind, other.op.kind, f"layers[{name}].kind")
                 or first_difference(layer.op, other.op, f"layers[{name}].attributes")
                 or first_difference(layer.weights, other.weights, f"layers[{name}].weights")
                 or first_difference(layer.trainable, other.trainable, f"layers[{name}].trainable")
                 or first_difference(layer.scope, other.scope, f"layers[{name}].scope")
                 # set on the instance by importers (not an attribute), read by the Keras writers
                 or first_difference(vars(layer.op).get("propagates_mask"), vars(other.op).get("propagates_mask"),
                                     f"layers[{name}].propagates_mask"))
        if found:
            return found
    return None
