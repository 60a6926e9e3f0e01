"""ReduceMean/ReduceMax over every spatial axis of an NC... tensor becomes GlobalAveragePool/GlobalMaxPool.

Keras's GlobalAveragePooling2D is emitted as a ReduceMean on the channels-last
tensor; once the layout Transposes are gone it reduces axes 2.. of an NCHW
tensor, which is exactly ONNX's global pool. ONNX Runtime keeps global pools
in its blocked (NCHWc) conv layout, where a ReduceMean forces a reorder first.
"""
from __future__ import annotations

import numpy as np

from kport.exporters.onnx.builder import OnnxGraph
from kport.exporters.onnx.opt.index import Index
from kport.exporters.onnx.opt.ranks import infer_ranks

_GLOBAL = {"ReduceMean": "GlobalAveragePool", "ReduceMax": "GlobalMaxPool"}


def use_global_pools(g: OnnxGraph, keep: set[str], input_ranks: dict[str, int]) -> bool:
    """Rewrites spatial ReduceMean/ReduceMax into global pools; True when any changed."""
    ranks = infer_ranks(g, input_ranks)
    idx = Index(g)
    changed = False
    for node in list(g.nodes):
        rank = ranks.get(node.inputs[0]) if node.inputs else None
        if node.op_type not in _GLOBAL or rank is None or rank < 3:
            continue
        if len(node.inputs) > 1 and node.inputs[1]:
            value = idx.const(node.inputs[1])
            axes = None if value is None else [int(a) % rank for a in np.asarray(value).reshape(-1)]
        else:
            axes = [int(a) % rank for a in node.attrs["axes"]] if "axes" in node.attrs else None
        if axes is None or sorted(axes) != list(range(2, rank)):
            continue
        keepdims = int(node.attrs.get("keepdims", 1))
        x, out = node.inputs[0], node.outputs[0]
        node.op_type, node.inputs, node.attrs = _GLOBAL[node.op_type], [x], {}
        if not keepdims:  # (N, C, 1, 1) -> (N, C)
            pooled = idx.g.fresh(f"{node.name}/pooled")
            idx.rename_output(node, out, pooled)
            idx.insert_after(node, idx.new_node("Flatten", [pooled], [out], f"{node.name}/Flatten", axis=1))
        changed = True
    idx.commit()
    return changed
