"""Sharing a nested model's saved weight list out to its layers.

Full-model HDF5 files store a nested model as one group listing every weight
of its layers. The saved names usually say the owner; when they do not, the
order does (Keras writes trainable weights of all layers, then the rest).
"""
from __future__ import annotations

import numpy as np

from kport.errors import WeightError
from kport.ir.graph import Graph, Layer


def keras_path(layer: Layer) -> tuple[str, ...]:
    """The layer's Keras name with the nested models it sat in: ('outer', 'inner', 'dense')."""
    return tuple(layer.scope) + (layer.name.split("/")[-1],)


def split(graph: Graph, model: str, layers: list[Layer],
                         items: list[tuple[str, np.ndarray]]) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Shares a nested model's saved weight list out to its layers.

    Saved names say the owner ('dense/kernel:0' in tf.keras, 'model/dense/kernel'
    in Keras 3, 'model_1/dense/kernel:0' in older graphs). When they do not, the
    list is read the way Keras writes it: trainable weights of every layer in
    order, then the non-trainable ones.

    Raises:
        WeightError: the list fits neither reading.
    """
    by_name = _split_by_name(layers, items)
    if by_name is not None:
        return by_name
    order = _trainable_first(graph, layers)
    if len(order) != len(items):
        raise WeightError(f"nested model '{model}' has {len(items)} saved weights whose names match none of its "
                          f"layers, and its layers take {len(order)}", path=graph.source.path, layer=model,
                          hint="the architecture and the weights come from different models")
    result: dict[str, list[tuple[str, np.ndarray]]] = {}
    for (owner, wname), (_, arr) in zip(order, items):
        result.setdefault(owner, []).append((wname, arr))
    return result


def _split_by_name(layers: list[Layer], items) -> dict[str, list] | None:
    result: dict[str, list] = {}
    for wname, arr in items:
        parts = wname.split(":")[0].replace("\\", "/").split("/")[:-1]
        owners = [layer for layer in layers if keras_path(layer)[-1] in parts]
        if len(owners) > 1:  # same name at several depths: the path matching most, and least deeper, wins
            owners.sort(key=lambda layer: _path_rank(keras_path(layer)[1:], parts))
        if not owners:
            return None
        # the leftmost part that names a layer is the owner ('td/dense/kernel' belongs to 'td')
        first = min(parts.index(keras_path(layer)[-1]) for layer in owners)
        owner = next(layer for layer in owners if keras_path(layer)[-1] == parts[first])
        result.setdefault(owner.name, []).append((wname, arr))
    return result


def _path_rank(path: tuple[str, ...], parts: list[str]) -> tuple[int, int]:
    """Sort key of a candidate owner: most trailing path elements named in `parts`, then fewest left over."""
    n = 0
    for name in reversed(path):
        if name not in parts:
            break
        n += 1
    return (-n, len(path) - n)


def _trainable_first(graph: Graph, layers: list[Layer]) -> list[tuple[str, str]]:
    trainable, frozen = [], []
    for layer in layers:
        node = next((n for n in graph.nodes if n.layer == layer.name), None)
        if node is None:
            continue
        shapes = layer.op.weight_shapes([graph.tensors[t].shape for t in node.inputs])
        fixed = set(layer.op.non_trainable_weights)
        for wname in shapes:
            (trainable if layer.trainable and wname not in fixed else frozen).append((layer.name, wname))
    return trainable + frozen
