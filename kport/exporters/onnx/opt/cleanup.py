"""Remove ops that do nothing: Identity, identity Transposes, all-zero Pads."""
from __future__ import annotations

import numpy as np

from kport.exporters.onnx.builder import OnnxGraph, OnnxNode
from kport.exporters.onnx.opt.index import Index, is_identity, perm_of


def _is_noop(idx: Index, node: OnnxNode) -> bool:
    if node.op_type in ("Identity", "Dropout") and len(node.outputs) == 1:
        return True
    if node.op_type == "Transpose":
        perm = perm_of(node)
        return perm is not None and is_identity(perm)
    if node.op_type == "Pad" and len(node.inputs) > 1:
        pads = idx.const(node.inputs[1])
        return pads is not None and not np.any(pads) and (len(node.inputs) < 4 or not node.inputs[3])
    return False


def remove_noops(g: OnnxGraph, keep: set[str]) -> bool:
    """Bypasses no-op nodes; a graph output keeps its name by renaming its producer."""
    idx = Index(g)
    changed = False
    for node in list(g.nodes):
        if not idx.alive(node) or not _is_noop(idx, node):
            continue
        x, y = node.inputs[0], node.outputs[0]
        if y not in keep:
            idx.replace_uses(y, x)
            idx.remove(node)
            changed = True
            continue
        producer = idx.producer.get(x)
        # an output may take over the name only of a tensor nothing else needs
        if producer is not None and x not in keep and idx.readers(x) == [node] and len(producer.outputs) == 1:
            idx.remove(node)
            idx.rename_output(producer, x, y)
            changed = True
    idx.commit()
    return changed
