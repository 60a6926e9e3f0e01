"""Property tests: for random shapes and attributes, each core op's ONNX form equals its numpy reference.

The Keras-made fixtures (test_ops_core.py) pin the reference to Keras; these
explore the configuration space around them (ranks, axes, broadcasting).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kport.ops.registry import op_for_kind
from tests.layer_harness import assert_close, run_onnx, single_layer_graph

pytest.importorskip("onnxruntime")

SETTINGS = settings(max_examples=20, deadline=None)
OPSETS = st.sampled_from([13, 17, 18])
sizes = st.integers(1, 4)


def check(op, xs, weights, opset, dynamic=False):
    """Runs the op's numpy reference and its ONNX form on the same inputs and compares them."""
    shapes = [(None,) * x.ndim if dynamic else (None, *x.shape[1:]) for x in xs]
    graph = single_layer_graph(op, shapes, weights)
    want = op.reference(xs, graph.layers["layer"].weights)
    got = run_onnx(graph, xs, opset)
    for a, b in zip(got, want):
        assert_close(a, b, f"{op}")


def normal(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


@SETTINGS
@given(st.data(), OPSETS)
def test_permute(data, opset):
    shape = data.draw(st.lists(sizes, min_size=2, max_size=4))
    dims = data.draw(st.permutations(range(1, len(shape) + 1)))
    x = normal(np.random.default_rng(0), (2, *shape))
    check(op_for_kind("Permute")(dims=tuple(dims)), [x], {}, opset)


@SETTINGS
@given(st.data(), OPSETS, st.booleans())
def test_softmax_axes(data, opset, dynamic):
    shape = data.draw(st.lists(sizes, min_size=1, max_size=3))
    rank = len(shape) + 1
    axes = data.draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1, unique=True))
    axes = tuple(a - rank if data.draw(st.booleans()) else a for a in axes)
    x = normal(np.random.default_rng(1), (2, *shape)) * 3
    check(op_for_kind("Softmax")(axis=axes if len(axes) > 1 else axes[0]), [x], {}, opset, dynamic)


@SETTINGS
@given(st.data(), OPSETS, st.booleans())
def test_dot_axes(data, opset, normalize):
    rest1 = data.draw(st.lists(sizes, min_size=1, max_size=3))
    rest2 = data.draw(st.lists(sizes, min_size=1, max_size=3))
    a1 = data.draw(st.integers(1, len(rest1)))
    a2 = data.draw(st.integers(1, len(rest2)))
    rest2[a2 - 1] = rest1[a1 - 1]
    rng = np.random.default_rng(2)
    xs = [normal(rng, (2, *rest1)), normal(rng, (2, *rest2))]
    check(op_for_kind("Dot")(axes=(a1, a2), normalize=normalize), xs, {}, opset)


@SETTINGS
@given(st.data(), OPSETS, st.sampled_from(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]))
def test_merge_broadcasting(data, opset, kind):
    full = data.draw(st.lists(sizes, min_size=1, max_size=3))
    n = 2 if kind == "Subtract" else data.draw(st.integers(2, 3))
    rng = np.random.default_rng(3)
    xs = []
    for _ in range(n):
        drop = data.draw(st.integers(0, len(full) - 1))  # a lower rank aligns right
        shape = [1 if data.draw(st.booleans()) else d for d in full[drop:]]
        xs.append(normal(rng, (2, *shape)))
    xs[0] = normal(rng, (2, *full))  # one input carries the full shape
    check(op_for_kind(kind)(), xs, {}, opset)


@SETTINGS
@given(st.data(), OPSETS, st.booleans())
def test_concatenate(data, opset, dynamic):
    shape = data.draw(st.lists(sizes, min_size=1, max_size=3))
    axis = data.draw(st.integers(1, len(shape)))
    rng = np.random.default_rng(4)
    xs = []
    for _ in range(data.draw(st.integers(2, 3))):
        s = list(shape)
        s[axis - 1] = data.draw(sizes)
        xs.append(normal(rng, (2, *s)))
    check(op_for_kind("Concatenate")(axis=axis - len(shape) - 1 if data.draw(st.booleans()) else axis), xs, {},
          opset, dynamic)


@SETTINGS
@given(st.data(), OPSETS, st.booleans(), st.booleans())
def test_layer_normalization_axes(data, opset, center, scale):
    shape = data.draw(st.lists(sizes, min_size=1, max_size=3))
    rank = len(shape) + 1
    axes = tuple(sorted(data.draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1, unique=True))))
    op = op_for_kind("LayerNormalization")(axis=axes, center=center, scale=scale, epsilon=1e-3)
    rng = np.random.default_rng(5)
    x = normal(rng, (2, *shape)) * 2 + 1
    weights = {k: normal(rng, v) for k, v in op.weight_shapes([(None, *shape)]).items()}
    check(op, [x], weights, opset)


@SETTINGS
@given(st.data(), OPSETS)
def test_batch_normalization_axis(data, opset):
    shape = data.draw(st.lists(sizes, min_size=1, max_size=3))
    axis = data.draw(st.integers(1, len(shape)))
    op = op_for_kind("BatchNormalization")(axis=axis, center=data.draw(st.booleans()),
                                           scale=data.draw(st.booleans()))
    rng = np.random.default_rng(6)
    weights = {k: (np.abs(normal(rng, v)) + 0.5 if "variance" in k else normal(rng, v))
               for k, v in op.weight_shapes([(None, *shape)]).items()}
    check(op, [normal(rng, (2, *shape))], weights, opset)


@SETTINGS
@given(st.data(), OPSETS)
def test_reshape_and_flatten(data, opset):
    shape = data.draw(st.lists(sizes, min_size=1, max_size=3))
    total = int(np.prod(shape))
    first = data.draw(st.sampled_from([d for d in range(1, total + 1) if total % d == 0]))
    target = (first, -1) if data.draw(st.booleans()) else (-1, first)
    x = normal(np.random.default_rng(7), (2, *shape))
    check(op_for_kind("Reshape")(target_shape=target), [x], {}, opset, dynamic=True)
    fmt = data.draw(st.sampled_from(["channels_last", "channels_first"]))
    check(op_for_kind("Flatten")(data_format=fmt), [x], {}, opset, dynamic=True)
