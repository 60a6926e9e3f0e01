"""Fold per-channel Mul/Add/Sub/Div constants after a Conv into its weights and bias.

A channels-last BatchNormalization is emitted as `x * scale + shift` on the last
axis; once the Transposes are pushed through, it follows the Conv as
`Mul(conv, k[1,C,1,1])` and `Add(., b[1,C,1,1])`. Scaling the kernel's output
channels and the bias gives the same function with two fewer ops. Only exact
patterns fold: constants that are per output channel (or scalar), a Conv whose
output nothing else reads, and weights no other node shares.
"""
from __future__ import annotations

import numpy as np

from kport.exporters.onnx.builder import OnnxGraph
from kport.exporters.onnx.opt.index import Index

_FOLDABLE = {"Mul", "Div", "Add", "Sub"}


def fold_conv_affine(g: OnnxGraph, keep: set[str]) -> bool:
    """Folds constant per-channel affine ops into preceding Convs; True when any folded."""
    idx = Index(g)
    changed = False
    for conv in list(g.nodes):
        if conv.op_type != "Conv" or not idx.alive(conv):
            continue
        while _fold_one(idx, conv, keep):
            changed = True
    idx.commit()
    return changed


def _per_channel(value: np.ndarray, rank: int, channels: int) -> np.ndarray | None:
    """The constant as a (channels,) vector when it broadcasts per channel of an NC... tensor."""
    if value.ndim > rank or value.dtype.kind != "f":
        return None
    full = value.reshape((1,) * (rank - value.ndim) + value.shape)
    if full.shape[0] != 1 or any(d != 1 for d in full.shape[2:]) or full.shape[1] not in (1, channels):
        return None
    return np.broadcast_to(full.reshape(-1), (channels,)).astype(np.float32)


def _fold_one(idx: Index, conv, keep: set[str]) -> bool:
    kernel = idx.const(conv.inputs[1])
    return kernel is not None and fold_affine_after(idx, conv, keep, weight_axis=0, out_rank=kernel.ndim)


def fold_affine_after(idx: Index, producer, keep: set[str], weight_axis: int, out_rank: int) -> bool:
    """Folds the constant per-channel Mul/Div/Add/Sub that alone reads `producer`'s output into it.

    Args:
        idx: the graph index.
        producer: a Conv or Gemm whose input 1 is its weight and optional input 2 its bias.
        keep: tensors that must stay (graph outputs).
        weight_axis: the weight axis that indexes output channels.
        out_rank: the rank of the producer's output, whose axis 1 holds the channels.

    Returns:
        True when an op was folded (the producer now computes what it computed).
    """
    out = producer.outputs[0]
    node = idx.only_reader(out, keep)
    if node is None or node.op_type not in _FOLDABLE or len(node.inputs) != 2:
        return False
    if node.op_type in ("Sub", "Div") and node.inputs[0] != out:
        return False  # k - y or k / y are not affine in the weights
    other = node.inputs[1] if node.inputs[0] == out else node.inputs[0]
    if other == out:
        return False
    weight_name = producer.inputs[1]
    weight = idx.const(weight_name)
    value = idx.const(other)
    if weight is None or value is None or len(idx.readers(weight_name)) != 1:
        return False
    bias_name = producer.inputs[2] if len(producer.inputs) > 2 and producer.inputs[2] else None
    if bias_name is not None and (idx.const(bias_name) is None or len(idx.readers(bias_name)) != 1):
        return False
    channels = weight.shape[weight_axis]
    vec = _per_channel(value, out_rank, channels)
    if vec is None or (node.op_type == "Div" and not np.all(vec != 0)):
        return False
    bias = idx.const(bias_name) if bias_name else np.zeros(channels, np.float32)
    if node.op_type in ("Mul", "Div"):
        scale = vec if node.op_type == "Mul" else (1.0 / vec).astype(np.float32)
        along = [1] * weight.ndim
        along[weight_axis] = -1
        _set_const(idx, producer, 1, (weight * scale.reshape(along)).astype(weight.dtype))
        bias = bias * scale
    else:
        bias = bias + vec if node.op_type == "Add" else bias - vec
    bias = bias.astype(np.float32)
    if bias_name is None:
        bias_name = idx.g.const(bias, f"{producer.name}/bias")
        producer.inputs = list(producer.inputs[:2]) + [bias_name]
        idx.set_input(producer, bias_name, bias_name)
    else:
        _set_const(idx, producer, 2, bias)
    # the producer now produces what the folded op produced
    result = node.outputs[0]
    idx.remove(node)
    idx.rename_output(producer, out, result)
    return True


def _set_const(idx: Index, node, position: int, value: np.ndarray) -> None:
    """Gives input `position` of `node` a new value; shared small constants are never overwritten."""
    name = node.inputs[position]
    if name in idx.g._const_cache.values():
        new = idx.g.const(value, f"{name}/folded")
        node.inputs[position] = new
        idx.set_input(node, new, new)
    else:
        idx.g.initializers[name] = value
