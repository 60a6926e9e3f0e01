"""ONNX emission helpers shared by ops: the spellings that changed between opsets.

Reduce* ops take `axes` as an attribute before opset 18 and as an input from
18 on (ReduceSum from 13); Split takes `num_outputs` from 18. Hooks call these
helpers so every op works at opsets 13..21.
"""
from __future__ import annotations

import numpy as np

# the opset from which each Reduce op takes `axes` as an input instead of an attribute
_AXES_INPUT_FROM = {"ReduceSum": 13}


def reduce(g, op_type: str, x: str, axes, keepdims: bool = True) -> str:
    """Emits a Reduce* op over `axes` in the spelling of the graph's opset."""
    axes = [int(a) for a in axes]
    if g.opset >= _AXES_INPUT_FROM.get(op_type, 18):
        return g.op(op_type, [x, g.ints(axes)], keepdims=int(keepdims))
    return g.op(op_type, [x], axes=axes, keepdims=int(keepdims))


def unsqueeze(g, x: str, axes) -> str:
    """Inserts size-1 axes (opset 13+: axes is an input)."""
    return g.op("Unsqueeze", [x, g.ints(list(axes))])


def scalar(g, value: float, dtype=np.float32) -> str:
    """A shared scalar constant."""
    return g.const(np.array(value, dtype=dtype))

