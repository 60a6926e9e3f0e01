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
    """The layer's Keras name with the nested models it sat in: ('outer', 'inner', 'dense').

    The IR name is the Keras name, or 'outer/inner/dense' when that was taken;
    a Keras 2 name may itself hold '/' ('block1/conv'), so only the scope prefix is cut.
    """
    prefix = "/".join(layer.scope) + "/"
    name = layer.name[len(prefix):] if layer.scope and layer.name.startswith(prefix) else layer.name
    return tuple(layer.scope) + (name,)


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
        found = [(pos, layer) for layer in layers
                 if (pos := _position(parts, keras_path(layer)[-1])) is not None]
        if not found:
            return None
        # the leftmost part that names a layer is the owner ('td/dense/kernel' belongs to 'td');
        # the same name at several depths: the path matching most, and least deeper, wins
        first = min(pos for pos, _ in found)
        owners = sorted((layer for pos, layer in found if pos == first),
                        key=lambda layer: _path_rank(keras_path(layer)[1:], parts))
        result.setdefault(owners[0].name, []).append((wname, arr))
    return result


def _position(parts: list[str], name: str) -> int | None:
    """Where a (possibly '/'-holding) name starts in the weight name's parts, or None."""
    want = name.split("/")
    for i in range(len(parts) - len(want) + 1):
        if parts[i:i + len(want)] == want:
            return i
    return None


def _path_rank(path: tuple[str, ...], parts: list[str]) -> tuple[int, int]:
    """Sort key of a candidate owner: most trailing path elements named in `parts`, then fewest left over."""
    n = 0
    for name in reversed(path):
        if _position(parts, name) is None:
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
