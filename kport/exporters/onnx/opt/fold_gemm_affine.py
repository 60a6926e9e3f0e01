"""Fold per-column Mul/Add/Sub/Div constants after a Gemm into its weights and bias.

Dense followed by BatchNormalization (a common MLP block) exports as
`Gemm(x, W, b)` then `Mul(., scale)` and `Add(., shift)` on the last axis.
Scaling W's output columns and b gives the same function with two fewer ops.
Only exact patterns fold: a Gemm with alpha = beta = 1 and constant weights no
other node shares, whose output nothing else reads, and per-column constants.
"""
from __future__ import annotations

import numpy as np

from kport.exporters.onnx.builder import OnnxGraph, OnnxNode
from kport.exporters.onnx.opt.fold_affine import _set_const
from kport.exporters.onnx.opt.index import Index

_FOLDABLE = {"Mul", "Div", "Add", "Sub"}


def fold_gemm_affine(g: OnnxGraph, keep: set[str]) -> bool:
    """Folds constant per-column affine ops into preceding Gemms; True when any folded."""
    idx = Index(g)
    changed = False
    for gemm in list(g.nodes):
        if gemm.op_type != "Gemm" or not idx.alive(gemm):
            continue
        if gemm.attrs.get("alpha", 1.0) != 1.0 or gemm.attrs.get("beta", 1.0) != 1.0:
            continue
        while _fold_one(idx, gemm, keep):
            changed = True
    idx.commit()
    return changed


def _per_column(value: np.ndarray, columns: int) -> np.ndarray | None:
    """The constant as a (columns,) vector when it broadcasts per column of an (M, N) output."""
    if value.ndim > 2 or value.dtype.kind != "f":
        return None
    full = value.reshape((1,) * (2 - value.ndim) + value.shape)
    if full.shape[0] != 1 or full.shape[1] not in (1, columns):
        return None
    return np.broadcast_to(full.reshape(-1), (columns,)).astype(np.float32)


def _fold_one(idx: Index, gemm: OnnxNode, keep: set[str]) -> bool:
    out = gemm.outputs[0]
    node = idx.only_reader(out, keep)
    if node is None or node.op_type not in _FOLDABLE or len(node.inputs) != 2:
        return False
    if node.op_type in ("Sub", "Div") and node.inputs[0] != out:
        return False
    other = node.inputs[1] if node.inputs[0] == out else node.inputs[0]
    weight = idx.const(gemm.inputs[1])
    value = idx.const(other)
    if other == out or weight is None or value is None or weight.ndim != 2:
        return False
    bias_name = gemm.inputs[2] if len(gemm.inputs) > 2 and gemm.inputs[2] else None
    if len(idx.readers(gemm.inputs[1])) != 1 or (
            bias_name is not None and (idx.const(bias_name) is None or len(idx.readers(bias_name)) != 1)):
        return False
    trans_b = bool(gemm.attrs.get("transB", 0))
    columns = weight.shape[0] if trans_b else weight.shape[1]
    vec = _per_column(value, columns)
    if vec is None or (node.op_type == "Div" and not np.all(vec != 0)):
        return False
    bias = idx.const(bias_name) if bias_name else np.zeros(columns, np.float32)
    if node.op_type in ("Mul", "Div"):
        scale = vec if node.op_type == "Mul" else (1.0 / vec).astype(np.float32)
        scaled = weight * (scale[:, None] if trans_b else scale[None, :])
        _set_const(idx, gemm, 1, scaled.astype(weight.dtype))
        bias = bias * scale
    else:
        bias = bias + vec if node.op_type == "Add" else bias - vec
    bias = np.asarray(bias, np.float32)
    if bias_name is None:
        name = idx.g.const(bias, f"{gemm.name}/bias")
        gemm.inputs = list(gemm.inputs[:2]) + [name]
        idx.set_input(gemm, name, name)
    else:
        _set_const(idx, gemm, 2, bias)
    result = node.outputs[0]
    idx.remove(node)
    idx.rename_output(gemm, out, result)
    return True
