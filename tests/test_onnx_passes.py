"""Each ONNX optimization pass on small hand-built graphs, checked numerically in onnxruntime."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from kport.exporters.onnx.builder import OnnxGraph
from kport.exporters.onnx.opt.cleanup import remove_noops
from kport.exporters.onnx.opt.const_fold import fold_constants
from kport.exporters.onnx.opt.fold_affine import fold_conv_affine
from kport.exporters.onnx.opt.fold_gemm_affine import fold_gemm_affine
from kport.exporters.onnx.opt.gemm import fuse_gemm
from kport.exporters.onnx.opt.global_pool import use_global_pools
from kport.exporters.onnx.opt.pad_fold import fold_pad_into_conv
from kport.exporters.onnx.opt.transpose import push_transposes
from kport.exporters.onnx.passes import optimize, remove_dead

ort = pytest.importorskip("onnxruntime")

NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]
RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run(g: OnnxGraph, feeds: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
    """Runs a builder graph in onnxruntime (inputs float32 of the fed shapes)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node(n.op_type, n.inputs, n.outputs, name=n.name, **n.attrs) for n in g.nodes]
    ins = [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape)) for k, v in feeds.items()]
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    inits = [numpy_helper.from_array(v, k) for k, v in g.initializers.items()]
    model = helper.make_model(helper.make_graph(nodes, "t", ins, outs, inits),
                              opset_imports=[helper.make_opsetid("", g.opset)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return sess.run(outputs, feeds)


def assert_same_function(g: OnnxGraph, rewrite, feeds, outputs, atol=1e-5):
    """Applies `rewrite` to a copy and checks the outputs match the original's."""
    before = run(g, feeds, outputs)
    g2 = copy.deepcopy(g)
    rewrite(g2)
    after = run(g2, feeds, outputs)
    for a, b in zip(before, after):
        np.testing.assert_allclose(b, a, atol=atol, rtol=1e-5)
    return g2


def ops(g: OnnxGraph) -> list[str]:
    return [n.op_type for n in g.nodes]


def conv_block(g: OnnxGraph, x: str, cin: int, cout: int, name: str) -> str:
    """The shape channels-last conv hooks emit: Transpose, Conv, Transpose back."""
    g.scope(name)
    y = g.op("Transpose", [x], perm=NHWC_TO_NCHW)
    y = g.op("Conv", [y, g.const(rand(cout, cin, 3, 3), f"{name}/kernel"), g.const(rand(cout), f"{name}/bias")],
             pads=[1, 1, 1, 1])
    return g.op("Transpose", [y], perm=NCHW_TO_NHWC)


def test_transpose_pair_cancels_through_bn_relu():
    g = OnnxGraph(17)
    y = conv_block(g, "x", 3, 4, "c1")
    y = g.op("Mul", [y, g.const(rand(4))])
    y = g.op("Add", [y, g.const(rand(4))])
    y = g.op("Relu", [y])
    y = conv_block(g, y, 4, 2, "c2")
    out = g.op("Identity", [y])
    feeds = {"x": rand(2, 5, 5, 3)}

    g2 = assert_same_function(g, lambda h: (push_transposes(h, {out}), remove_dead(h, {out})), feeds, [out])
    assert ops(g2).count("Transpose") == 2  # one at the input, one before the output
    assert ops(g2)[:2] == ["Transpose", "Conv"]


def test_residual_add_of_two_transposed_branches():
    g = OnnxGraph(17)
    a = conv_block(g, "x", 3, 3, "a")
    b = conv_block(g, "x", 3, 3, "b")
    s = g.op("Add", [a, b])
    out = g.op("Relu", [s])
    feeds = {"x": rand(1, 4, 4, 3)}
    g2 = assert_same_function(g, lambda h: (push_transposes(h, {out}), remove_dead(h, {out})), feeds, [out])
    # one input transpose per branch, one after the merged Relu
    assert ops(g2).count("Transpose") == 3
    assert ops(g2)[-1] == "Transpose"


def test_transpose_through_pad_and_reduce_without_keepdims():
    g = OnnxGraph(17)
    y = conv_block(g, "x", 2, 3, "c")
    y = g.op("Pad", [y, g.ints([0, 1, 2, 0, 0, 2, 1, 0])], mode="constant")
    y = g.op("Clip", [y, g.const(np.array(0, np.float32)), g.const(np.array(6, np.float32))])
    out = g.op("ReduceMean", [y], axes=[1, 2], keepdims=0)
    feeds = {"x": rand(2, 4, 5, 2)}
    g2 = assert_same_function(g, lambda h: (push_transposes(h, {out}), remove_dead(h, {out})), feeds, [out])
    assert ops(g2).count("Transpose") == 1  # only the input one: the (N, C) mean needs none


def test_transpose_through_reduce_axes_input_keepdims_and_concat_softmax():
    g = OnnxGraph(18)
    a = conv_block(g, "x", 2, 3, "a")
    b = conv_block(g, "x", 2, 3, "b")
    c = g.op("Concat", [a, b], axis=-1)
    s = g.op("Softmax", [c], axis=3)
    out = g.op("ReduceMax", [s, g.ints([1])], keepdims=1)
    feeds = {"x": rand(2, 4, 5, 2)}
    assert_same_function(g, lambda h: (push_transposes(h, {out}), remove_dead(h, {out})), feeds, [out])


def test_transpose_stays_before_layout_dependent_op():
    g = OnnxGraph(17)
    y = conv_block(g, "x", 2, 3, "c")
    out = g.op("Flatten", [y], axis=1)
    feeds = {"x": rand(2, 4, 4, 2)}
    g2 = assert_same_function(g, lambda h: (push_transposes(h, {out}), remove_dead(h, {out})), feeds, [out])
    assert ops(g2) == ["Transpose", "Conv", "Transpose", "Flatten"]


def test_graph_output_transpose_is_kept():
    g = OnnxGraph(17)
    out = conv_block(g, "x", 2, 3, "c")
    feeds = {"x": rand(1, 3, 3, 2)}
    g2 = assert_same_function(g, lambda h: (optimize(h, {out}), None), feeds, [out])
    assert g2.nodes[-1].outputs == [out]


def test_transpose_composition():
    g = OnnxGraph(17)
    y = g.op("Transpose", ["x"], perm=[0, 2, 3, 1])
    out = g.op("Transpose", [y], perm=[0, 2, 1, 3])
    feeds = {"x": rand(1, 2, 3, 4)}
    g2 = assert_same_function(g, lambda h: (push_transposes(h, {out}), remove_dead(h, {out})), feeds, [out])
    assert ops(g2) == ["Transpose"]


def test_conv_affine_folds_into_weights():
    g = OnnxGraph(17)
    y = g.op("Conv", ["x", g.const(rand(4, 2, 3, 3), "k"), g.const(rand(4), "b")])
    y = g.op("Mul", [y, g.const(rand(1, 4, 1, 1))])
    y = g.op("Add", [g.const(rand(4, 1, 1)), y])
    y = g.op("Sub", [y, g.const(rand(1, 4, 1, 1))])
    out = g.op("Div", [y, g.const(np.array(2.0, np.float32))])
    feeds = {"x": rand(2, 2, 6, 6)}
    g2 = assert_same_function(g, lambda h: (fold_conv_affine(h, {out}), remove_dead(h, {out})), feeds, [out])
    assert ops(g2) == ["Conv"]
    assert g2.nodes[0].outputs == [out]


def test_conv_affine_without_bias_and_not_per_channel():
    g = OnnxGraph(17)
    y = g.op("Conv", ["x", g.const(rand(3, 2, 1, 1), "k")])
    y = g.op("Mul", [y, g.const(rand(3, 1, 1))])
    out = g.op("Add", [y, g.const(rand(1, 3, 4, 4))])  # per-pixel: must stay
    feeds = {"x": rand(1, 2, 4, 4)}
    g2 = assert_same_function(g, lambda h: (fold_conv_affine(h, {out}), remove_dead(h, {out})), feeds, [out])
    assert ops(g2) == ["Conv", "Add"]
    assert len(g2.nodes[0].inputs) == 3  # a bias appeared (zeros times the scale)


def test_conv_affine_skips_shared_output():
    g = OnnxGraph(17)
    y = g.op("Conv", ["x", g.const(rand(3, 2, 1, 1), "k")])
    a = g.op("Mul", [y, g.const(rand(3, 1, 1))])
    out = g.op("Add", [a, y])
    assert not fold_conv_affine(g, {out})


def test_zero_pad_folds_into_conv_through_the_layout_transpose():
    g = OnnxGraph(17)
    y = g.op("Pad", ["x", g.ints([0, 3, 2, 0, 0, 1, 3, 0])])  # ZeroPadding2D on NHWC
    y = g.op("Transpose", [y], perm=NHWC_TO_NCHW)
    y = g.op("Conv", [y, g.const(rand(4, 3, 3, 3), "k")], strides=[2, 2], pads=[1, 0, 0, 1])
    out = g.op("Relu", [y])
    feeds = {"x": rand(2, 9, 8, 3)}
    g2 = assert_same_function(g, lambda h: (fold_pad_into_conv(h, {out}), remove_dead(h, {out})), feeds, [out])
    assert ops(g2) == ["Transpose", "Conv", "Relu"]
    assert g2.nodes[1].attrs["pads"] == [4, 2, 1, 4]


def test_pads_that_are_not_conv_padding_stay():
    g = OnnxGraph(17)
    a = g.op("Pad", ["x", g.ints([0, 1, 0, 0, 0, 0, 0, 0])])  # pads channels
    a = g.op("Conv", [a, g.const(rand(2, 4, 1, 1), "k1")])
    b = g.op("Pad", ["x", g.ints([0, 0, 1, 1, 0, 0, 1, 1]), g.const(np.array(1.0, np.float32))])  # value 1
    b = g.op("Conv", [b, g.const(rand(2, 3, 1, 1), "k2")], auto_pad="VALID")
    c = g.op("Pad", ["x", g.ints([0, 0, 1, 1, 0, 0, 1, 1])])
    c = g.op("Conv", [c, g.const(rand(2, 3, 3, 3), "k3")], auto_pad="SAME_UPPER")
    assert not fold_pad_into_conv(g, {a, b, c})
    assert ops(g).count("Pad") == 3


def test_constant_folding_numpy_and_reference_ops():
    g = OnnxGraph(17)
    w = g.op("Transpose", [g.const(rand(3, 4), "w")], perm=[1, 0])
    shape = g.op("Concat", [g.ints([-1]), g.ints([3])], axis=0)
    w2 = g.op("Reshape", [w, shape])
    w3 = g.op("Softmax", [w2], axis=-1)  # not in the numpy table: onnx reference evaluator
    out = g.op("MatMul", ["x", w3])
    feeds = {"x": rand(2, 4)}
    g2 = assert_same_function(g, lambda h: (fold_constants(h, {out}), remove_dead(h, {out})), feeds, [out])
    assert ops(g2) == ["MatMul"]


def test_constant_folding_skips_growth():
    g = OnnxGraph(17)
    big = g.op("Expand", [g.const(np.ones((1,), np.float32)), g.ints([2048, 1024])])
    out = g.op("Add", ["x", big])
    fold_constants(g, {out})
    assert ops(g) == ["Expand", "Add"]


def test_gemm_fusion_2d_only():
    g = OnnxGraph(17)
    y = g.op("MatMul", ["x", g.const(rand(4, 3), "w")])
    out = g.op("Add", [y, g.const(rand(3), "b")])
    z = g.op("MatMul", ["s", g.const(rand(4, 3), "w3")])
    out3 = g.op("Add", [z, g.const(rand(3), "b3")])
    feeds = {"x": rand(2, 4), "s": rand(2, 5, 4)}
    ranks = {"x": 2, "s": 3}
    g2 = assert_same_function(g, lambda h: (fuse_gemm(h, {out, out3}, ranks), remove_dead(h, {out, out3})),
                              feeds, [out, out3])
    assert ops(g2) == ["Gemm", "MatMul", "Add"]


@pytest.mark.parametrize("opset", [17, 18])
def test_spatial_reduce_becomes_global_pool(opset):
    from kport.exporters.onnx.opt.ranks import infer_ranks
    from kport.ops.onnx_common import reduce

    g = OnnxGraph(opset)
    a = reduce(g, "ReduceMean", "x", [2, 3], keepdims=False)
    b = reduce(g, "ReduceMax", "x", [-1, 2], keepdims=True)
    c = reduce(g, "ReduceMean", "x", [1, 2], keepdims=False)  # not the spatial axes of NCHW: stays
    outs = [a, b, c]
    feeds = {"x": rand(2, 3, 4, 5)}
    g2 = assert_same_function(g, lambda h: (use_global_pools(h, set(outs), {"x": 4}), remove_dead(h, set(outs))),
                              feeds, outs)
    assert ops(g2) == ["GlobalAveragePool", "Flatten", "GlobalMaxPool", "ReduceMean"]
    assert infer_ranks(g2, {"x": 4})[a] == 2


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_affine_folds_dense_batchnorm(trans_b):
    g = OnnxGraph(17)
    w = rand(3, 4) if trans_b else rand(4, 3)
    y = g.op("Gemm", ["x", g.const(w, "w"), g.const(rand(3), "b")], transB=trans_b)
    y = g.op("Mul", [y, g.const(rand(3))])
    y = g.op("Add", [g.const(rand(1, 3)), y])
    out = g.op("Div", [y, g.const(np.array(3.0, np.float32))])
    no_bias = g.op("Gemm", ["x", g.const(w, "w2")], transB=trans_b)
    out2 = g.op("Sub", [no_bias, g.const(rand(3))])
    per_row = g.op("Gemm", ["x", g.const(w, "w3")], transB=trans_b)
    out3 = g.op("Mul", [per_row, g.const(rand(2, 1))])  # per row, not per column: stays
    outs = [out, out2, out3]
    feeds = {"x": rand(2, 4)}
    g2 = assert_same_function(g, lambda h: (fold_gemm_affine(h, set(outs)), remove_dead(h, set(outs))), feeds, outs)
    assert ops(g2) == ["Gemm", "Gemm", "Gemm", "Mul"]


def test_noop_removal_keeps_output_names():
    g = OnnxGraph(17)
    y = g.op("Relu", ["x"])
    y = g.op("Identity", [y])
    y = g.op("Transpose", [y], perm=[0, 1])
    y = g.op("Pad", [y, g.ints([0, 0, 0, 0])])
    out = g.op("Identity", [y])
    feeds = {"x": rand(2, 3)}
    g2 = assert_same_function(g, lambda h: (remove_noops(h, {out}), remove_dead(h, {out})), feeds, [out])
    assert ops(g2) == ["Relu"] and g2.nodes[0].outputs == [out]


def test_pipeline_on_resnet_like_block():
    """Conv-BN-ReLU x2 with an identity shortcut, channels-last as the hooks emit it."""
    g = OnnxGraph(17)
    g.scope("pad")
    x = g.op("Pad", ["x", g.ints([0, 1, 1, 0, 0, 1, 1, 0])])
    stem = conv_block(g, x, 3, 4, "stem")
    h = stem
    for i in range(2):
        h = conv_block(g, h, 4, 4, f"c{i}")
        h = g.op("Add", [g.op("Mul", [h, g.const(rand(4))]), g.const(rand(4))])
        h = g.op("Relu", [h]) if i == 0 else h
    h = g.op("Relu", [g.op("Add", [h, stem])])
    pooled = g.op("ReduceMean", [h], axes=[1, 2], keepdims=0)
    out = g.op("Add", [g.op("MatMul", [pooled, g.const(rand(4, 2), "fc/kernel")]), g.const(rand(2), "fc/bias")])
    feeds = {"x": rand(2, 6, 6, 3)}
    g2 = assert_same_function(g, lambda h_: optimize(h_, {out}, {"x": 4}), feeds, [out], atol=1e-4)
    assert ops(g2).count("Transpose") == 1
    assert "Mul" not in ops(g2) and "MatMul" not in ops(g2)
    assert ops(g2).count("Conv") == 3 and "Gemm" in ops(g2)
