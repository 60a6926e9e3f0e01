"""Fuse MatMul + Add(bias) into one Gemm when the MatMul is a plain 2-D product."""
from __future__ import annotations

from kport.exporters.onnx.builder import OnnxGraph
from kport.exporters.onnx.opt.index import Index
from kport.exporters.onnx.opt.ranks import infer_ranks


def fuse_gemm(g: OnnxGraph, keep: set[str], input_ranks: dict[str, int]) -> bool:
    """MatMul(A[M,K], B[K,N] const) -> Add(C const of shape (N,) or (1,N)) becomes Gemm(A, B, C)."""
    ranks = infer_ranks(g, input_ranks)
    idx = Index(g)
    changed = False
    for mm in list(g.nodes):
        if mm.op_type not in ("MatMul", "Gemm") or not idx.alive(mm):
            continue
        if mm.op_type == "Gemm" and (len(mm.inputs) > 2 and mm.inputs[2] or mm.attrs.get("alpha", 1.0) != 1.0):
            continue
        a, b = mm.inputs[0], mm.inputs[1]
        weight = idx.const(b)
        if ranks.get(a) != 2 or weight is None or weight.ndim != 2:
            continue
        add = idx.only_reader(mm.outputs[0], keep)
        if add is None or add.op_type != "Add":
            continue
        other = add.inputs[1] if add.inputs[0] == mm.outputs[0] else add.inputs[0]
        bias = idx.const(other)
        n_out = weight.shape[0] if mm.attrs.get("transB", 0) else weight.shape[1]
        if bias is None or other == mm.outputs[0] or bias.shape not in ((n_out,), (1, n_out)):
            continue
        mm.op_type = "Gemm"
        mm.inputs = [a, b, other]
        idx.set_input(mm, other, other)
        result = add.outputs[0]
        idx.remove(add)
        idx.rename_output(mm, mm.outputs[0], result)
        changed = True
    idx.commit()
    return changed
