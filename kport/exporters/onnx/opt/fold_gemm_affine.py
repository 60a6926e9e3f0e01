"""Fold per-column Mul/Add/Sub/Div constants after a Gemm into its weights and bias.

Dense followed by BatchNormalization (a common MLP block) exports as
`Gemm(x, W, b)` then `Mul(., scale)` and `Add(., shift)` on the last axis.
Scaling W's output columns and b gives the same function with two fewer ops.
Only exact patterns fold: a Gemm with alpha = beta = 1 and constant weights no
other node shares, whose output nothing else reads, and per-column constants.
"""
from __future__ import annotations

from kport.exporters.onnx.builder import OnnxGraph, OnnxNode
from kport.exporters.onnx.opt.fold_affine import fold_affine_after
from kport.exporters.onnx.opt.index import Index


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


def _fold_one(idx: Index, gemm: OnnxNode, keep: set[str]) -> bool:
    weight = idx.const(gemm.inputs[1])
    if weight is None or weight.ndim != 2:
        return False
    trans_b = bool(gemm.attrs.get("transB", 0))
    # output (M, N): N indexes W's rows with transB, else its columns
    return fold_affine_after(idx, gemm, keep, weight_axis=0 if trans_b else 1, out_rank=2)
