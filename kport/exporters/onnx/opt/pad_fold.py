"""Fold zero Pads into the Conv after them (Keras ZeroPadding2D + Conv2D, as in ResNet's stem).

A channels-last ZeroPadding2D runs before the conv's layout Transpose, so both
`Pad -> Conv` and `Pad -> Transpose -> Conv` are folded (in the second, the pads
are permuted into the Conv's layout and the Transpose then reads the unpadded
tensor). Only constant-mode Pads with value 0, non-negative pads on the spatial
axes only, and a Conv with explicit pads qualify: the result is bit-identical.
"""
from __future__ import annotations

import numpy as np

from kport.exporters.onnx.builder import OnnxGraph, OnnxNode
from kport.exporters.onnx.opt.index import Index, perm_of


def _zero_pads(idx: Index, node: OnnxNode) -> np.ndarray | None:
    """The pads of a constant-zero Pad (int array, begins then ends), or None."""
    if node.op_type != "Pad" or node.attrs.get("mode", "constant") not in ("constant", b"constant"):
        return None
    if len(node.inputs) < 2 or (len(node.inputs) > 3 and node.inputs[3]):
        return None
    pads = idx.const(node.inputs[1])
    if pads is None or np.any(pads < 0):
        return None
    if len(node.inputs) > 2 and node.inputs[2]:
        value = idx.const(node.inputs[2])
        if value is None or np.any(value != 0):
            return None
    return pads.astype(np.int64)


def _conv_pads(conv: OnnxNode, pads: np.ndarray) -> list[int] | None:
    """The Conv's pads with `pads` (in the Conv's input layout) added, or None when they do not fit."""
    if conv.op_type != "Conv" or conv.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", b"NOTSET"):
        return None
    rank = len(pads) // 2
    if np.any(pads[:2]) or np.any(pads[rank:rank + 2]):
        return None  # padding the batch or channel axis is no conv padding
    old = list(conv.attrs.get("pads", [0] * (2 * (rank - 2))))
    return [int(a + b) for a, b in zip(old, list(pads[2:rank]) + list(pads[rank + 2:]))]


def fold_pad_into_conv(g: OnnxGraph, keep: set[str]) -> bool:
    """Merges zero Pads into the padding of the Conv they feed; True when any merged."""
    idx = Index(g)
    changed = False
    for pad in list(g.nodes):
        pads = _zero_pads(idx, pad)
        reader = idx.only_reader(pad.outputs[0], keep) if pads is not None else None
        if reader is None:
            continue
        if reader.op_type == "Transpose" and perm_of(reader) is not None:
            conv = idx.only_reader(reader.outputs[0], keep)
            perm = perm_of(reader)
            rank = len(perm)
            permuted = np.concatenate([pads[:rank][perm], pads[rank:][perm]])
            new = _conv_pads(conv, permuted) if conv is not None and conv.inputs[0] == reader.outputs[0] else None
        else:
            conv = reader
            new = _conv_pads(conv, pads) if conv.inputs[0] == pad.outputs[0] else None
        if new is None:
            continue
        conv.attrs = dict(conv.attrs, pads=new)
        idx.set_input(reader, pad.outputs[0], pad.inputs[0])
        idx.remove(pad)
        changed = True
    idx.commit()
    return changed
