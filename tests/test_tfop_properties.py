"""Property tests: TF function ops' ONNX and torch forms equal their numpy reference over random arguments.

The tf_keras fixtures (test_tfop_parity.py) pin the references to TensorFlow;
these explore the argument space around them: slice specs with negative
bounds and steps, Ellipsis and newaxis (static and symbolic sizes), reduction
axes, splits.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kport.errors import ExportError
from kport.ops.tf_reduce import TFReduce
from kport.ops.tf_slice import TFSlice
from kport.ops.tf_split import TFSplit
from tests.layer_harness import assert_close, run_onnx, single_layer_graph

pytest.importorskip("onnxruntime")

SETTINGS = settings(max_examples=25, deadline=None)
OPSETS = st.sampled_from([13, 17, 18])


def check(op, x, opset, dynamic=False, torch_too=True):
    """Compares the op's numpy reference with onnxruntime (and torch) on one input."""
    shape = (None,) * x.ndim if dynamic else (None, *x.shape[1:])
    graph = single_layer_graph(op, [shape], {})
    want = op.reference([x], {})
    for a, b in zip(run_onnx(graph, [x], opset), want):
        assert_close(a, b, f"{op} onnx")
    if torch_too:
        import kport

        try:
            got = kport.run(graph, [x], backend="torch")
        except ExportError as err:  # a documented refusal: bounded negative steps over a symbolic axis
            assert "unknown size" in str(err)
            return
        for a, b in zip(got, want):
            assert_close(a, b, f"{op} torch")


def slice_items(rank: int):
    bound = st.one_of(st.none(), st.integers(-6, 6))
    step = st.one_of(st.none(), st.sampled_from([1, 2, 3, -1, -2]))
    item = st.one_of(st.tuples(st.just("slice"), bound, bound, step),
                     st.tuples(st.just("index"), st.integers(-2, 1)),
                     st.just(("newaxis",)))
    return st.lists(item, min_size=0, max_size=rank).flatmap(
        lambda items: st.integers(0, len(items)).map(lambda i: items)
        | st.integers(0, len(items)).map(lambda i: items[:i] + [("ellipsis",)] + items[i:]))


@SETTINGS
@given(st.data(), OPSETS, st.booleans())
def test_slice(data, opset, dynamic):
    shape = tuple(data.draw(st.lists(st.integers(2, 5), min_size=2, max_size=4)))
    spec = tuple(data.draw(slice_items(len(shape))))
    if sum(s[0] in ("slice", "index") for s in spec) > len(shape):
        return
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    op = TFSlice(spec=spec)
    try:
        x[op._key(x.ndim)]
    except IndexError:  # an index out of range: TF fails too
        return
    symbolic = range(x.ndim) if dynamic else [0]
    if any(s[0] == "slice" and (s[3] or 1) < 0 and s[1] is not None and s[1] < -x.shape[axis]
           for axis, s in enumerate(s for s in op.expanded(x.ndim) if s[0] != "newaxis") if axis in symbolic):
        return  # documented ONNX limit: a backward start before the beginning of a symbolic axis
    check(op, x, opset, dynamic=dynamic)


@SETTINGS
@given(st.data(), OPSETS)
def test_reduce(data, opset):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=4)))
    axes = data.draw(st.one_of(st.none(), st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1,
                                                   max_size=len(shape), unique=True).map(tuple)))
    function = data.draw(st.sampled_from(["math.reduce_mean", "math.reduce_sum", "math.reduce_max", "math.reduce_min",
                                          "math.reduce_prod", "math.reduce_logsumexp", "math.reduce_variance",
                                          "math.reduce_std"]))
    if axes is not None and len({a % len(shape) for a in axes}) != len(axes):
        return
    op = TFReduce(function=function, axis=axes, keepdims=data.draw(st.booleans()))
    check(op, np.random.default_rng(1).standard_normal(shape).astype(np.float32), opset)


@SETTINGS
@given(st.data(), OPSETS, st.booleans())
def test_split(data, opset, dynamic):
    shape = list(data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=3)))
    axis = data.draw(st.integers(1, len(shape) - 1))
    parts = data.draw(st.integers(1, 3))
    shape[axis] *= parts
    sizes = data.draw(st.one_of(st.just(parts), st.permutations(
        [shape[axis] // parts] * (parts - 1) + [shape[axis] - shape[axis] // parts * (parts - 1)]).map(tuple)))
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    check(TFSplit(num_or_size_splits=sizes, axis=axis - len(shape) * data.draw(st.integers(0, 1))), x, opset,
          dynamic=dynamic)
