"""Property test: the whole pass pipeline keeps random layout-heavy graphs' function intact."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kport.exporters.onnx.builder import OnnxGraph
from kport.exporters.onnx.passes import optimize
from test_onnx_passes import assert_same_function

pytest.importorskip("onnxruntime")

SHAPE = (2, 3, 4, 5)
PERMS = [[0, 2, 3, 1], [0, 3, 1, 2], [0, 1, 3, 2], [3, 2, 1, 0], [0, 2, 1, 3]]
STEPS = ["transpose", "relu", "add_const", "mul_const", "add_branch", "pad", "reduce", "concat", "clip", "softmax"]


def _apply(g: OnnxGraph, step: str, x: str, shape: tuple, rng: np.random.Generator, perm_pick: int):
    """Adds one op after `x`; returns the new tensor and its shape."""
    rank = len(shape)
    if step == "transpose":
        perm = PERMS[perm_pick % len(PERMS)] if rank == 4 else list(range(rank))[::-1]
        return g.op("Transpose", [x], perm=perm), tuple(shape[p] for p in perm)
    if step == "relu":
        return g.op("Relu", [x]), shape
    if step in ("add_const", "mul_const"):
        axis = perm_pick % rank
        cshape = [1] * rank
        cshape[axis] = shape[axis]
        # drop the leading size-1 axes: constants of lower rank broadcast from the right
        c = g.const(rng.standard_normal(cshape[axis:]).astype(np.float32))
        return g.op("Add" if step == "add_const" else "Mul", [x, c]), shape
    if step == "add_branch":  # the same tensor through a transpose and back, merged
        perm = PERMS[perm_pick % len(PERMS)] if rank == 4 else list(range(rank))[::-1]
        there = g.op("Transpose", [x], perm=perm)
        back = g.op("Transpose", [g.op("Relu", [there])], perm=[int(i) for i in np.argsort(perm)])
        return g.op("Add", [x, back]), shape
    if step == "pad":
        pads = [int(v) for v in rng.integers(0, 2, size=2 * rank)]
        return (g.op("Pad", [x, g.ints(pads)]),
                tuple(s + pads[i] + pads[rank + i] for i, s in enumerate(shape)))
    if step == "reduce" and rank > 2:
        axis = 1 + perm_pick % (rank - 1)
        keep = perm_pick % 2
        if keep:
            out_shape = tuple(1 if i == axis else s for i, s in enumerate(shape))
        else:
            out_shape = tuple(s for i, s in enumerate(shape) if i != axis)
        return g.op("ReduceMean", [x], axes=[axis], keepdims=keep), out_shape
    if step == "concat":
        axis = perm_pick % rank
        return g.op("Concat", [x, x], axis=axis), tuple(s * 2 if i == axis else s for i, s in enumerate(shape))
    if step == "clip":
        return g.op("Clip", [x, g.const(np.array(-0.5, np.float32)), g.const(np.array(0.7, np.float32))]), shape
    if step == "softmax":
        return g.op("Softmax", [x], axis=perm_pick % rank), shape
    return x, shape


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.sampled_from(STEPS), st.integers(0, 20)), min_size=1, max_size=9),
       seed=st.integers(0, 1000))
def test_pipeline_preserves_function(steps, seed):
    rng = np.random.default_rng(seed)
    g = OnnxGraph(17)
    x, shape = "x", SHAPE
    # graphs from channels-last hooks start with a layout Transpose; so do these
    for step, pick in [("transpose", seed)] + steps:
        if step == "reduce" and len(shape) <= 2:
            continue
        x, shape = _apply(g, step, x, shape, rng, pick)
    out = g.op("Identity", [x])
    feeds = {"x": rng.standard_normal(SHAPE).astype(np.float32)}
    g2 = assert_same_function(g, lambda h: optimize(h, {out}, {"x": 4}), feeds, [out])
    assert sum(n.op_type == "Transpose" for n in g2.nodes) <= sum(n.op_type == "Transpose" for n in g.nodes)
