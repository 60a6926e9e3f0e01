"""The optimization pipeline over the builder graph, and dead-node removal.

Each rewrite lives in its own module under `kport/exporters/onnx/opt/`; this
module only orders them. Every pass keeps the function identical (up to float
rounding for folds), which the tests check in onnxruntime.
"""
from __future__ import annotations

from kport.exporters.onnx.builder import OnnxGraph
from kport.exporters.onnx.opt.cleanup import remove_noops
from kport.exporters.onnx.opt.const_fold import fold_constants
from kport.exporters.onnx.opt.fold_affine import fold_conv_affine
from kport.exporters.onnx.opt.fold_gemm_affine import fold_gemm_affine
from kport.exporters.onnx.opt.gemm import fuse_gemm
from kport.exporters.onnx.opt.global_pool import use_global_pools
from kport.exporters.onnx.opt.pad_fold import fold_pad_into_conv
from kport.exporters.onnx.opt.transpose import push_transposes

_MAX_ROUNDS = 8


def optimize(g: OnnxGraph, keep: set[str], input_ranks: dict[str, int] | None = None) -> None:
    """Runs the passes in place until nothing changes.

    Args:
        g: the builder graph.
        keep: tensor names that must survive (the graph outputs).
        input_ranks: rank of each graph input (lets the Gemm fusion prove a MatMul is 2-D).
    """
    g.scope("")  # names made by the passes carry no layer prefix
    for _ in range(_MAX_ROUNDS):
        changed = fold_constants(g, keep)
        changed |= remove_noops(g, keep)
        changed |= push_transposes(g, keep)
        changed |= fold_conv_affine(g, keep)
        changed |= fold_pad_into_conv(g, keep)
        if not changed:
            break
    use_global_pools(g, keep, input_ranks or {})
    fuse_gemm(g, keep, input_ranks or {})
    fold_gemm_affine(g, keep)
    remove_noops(g, keep)
    remove_dead(g, keep)


def remove_dead(g: OnnxGraph, keep: set[str]) -> None:
    """Drops nodes and initializers nothing reads."""
    needed = set(keep)
    alive = []
    for n in reversed(g.nodes):
        if any(o in needed for o in n.outputs):
            alive.append(n)
            needed.update(i for i in n.inputs if i)
    g.nodes = list(reversed(alive))
    g.initializers = {k: v for k, v in g.initializers.items() if k in needed}
    # a later g.const() must not hand out a name whose initializer is gone
    g._const_cache = {k: v for k, v in g._const_cache.items() if v in g.initializers}
