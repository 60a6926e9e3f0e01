"""Conv/pool/resize rules that fixtures do not pin: legacy spellings, shape rules, user errors."""
from __future__ import annotations

import numpy as np
import pytest

from kport.errors import KportError, ShapeError, UnsupportedLayerError
from kport.ops.base import ImportContext
from kport.ops.conv_common import explicit_pads, same_pads, transpose_crop
from kport.ops.registry import op_for_keras_class

from layer_harness import assert_close, run_onnx, run_reference, single_layer_graph

KERAS3 = ImportContext(keras_major=3, flavor="keras3")
KERAS2 = ImportContext(keras_major=2, flavor="keras", backend="tensorflow")


def make(class_name: str, ctx: ImportContext = KERAS3, **config):
    return op_for_keras_class(class_name).from_keras(config, ctx)


def test_same_pads_put_the_odd_cell_at_the_end_and_depend_on_size():
    assert same_pads(7, 3, 2) == (1, 1)
    assert same_pads(8, 3, 2) == (0, 1)
    assert same_pads(8, 4, 1) == (1, 2)
    assert same_pads(5, 3, 1, dilation=2) == (2, 2)


def test_explicit_pads_defer_only_strided_same_with_unknown_size():
    assert explicit_pads([None], [3], [1], [2], "same") == [(2, 2)]
    assert explicit_pads([None], [3], [2], [1], "same") is None
    assert explicit_pads([None], [3], [1], [3], "causal") == [(6, 0)]


def test_transpose_crop_appends_zeros_when_stride_exceeds_kernel():
    # full scatter length (n-1)*3 + 2 is one short of n*3 per input cell: one zero cell appended
    assert transpose_crop(4, 2, 3, 1, "valid", None) == (0, -1)
    assert transpose_crop(None, 3, 2, 1, "same", None) == (0, 1)


@pytest.mark.parametrize("alias,kind", [("Convolution2D", "Conv2D"), ("Convolution1D", "Conv1D"),
                                        ("Deconvolution2D", "Conv2DTranspose"),
                                        ("SeparableConvolution2D", "SeparableConv2D"), ("MaxPool2D", "MaxPooling2D"),
                                        ("AvgPool3D", "AveragePooling3D"), ("GlobalAvgPool1D", "GlobalAveragePooling1D")])
def test_keras2_aliases_resolve(alias, kind):
    assert op_for_keras_class(alias).kind == kind


def test_keras1_spellings_th_and_atrous_rate():
    op = make("AtrousConvolution2D", KERAS2, filters=2, kernel_size=(3, 3), atrous_rate=(2, 2), data_format="th")
    assert op.dilation_rate == (2, 2) and op.data_format == "channels_first"


def test_int_attributes_expand_to_the_rank():
    op = make("Conv3D", filters=2, kernel_size=3, strides=2)
    assert op.kernel_size == (3, 3, 3) and op.strides == (2, 2, 2)
    pool = make("MaxPooling2D", pool_size=3, strides=None)
    assert pool.strides == (3, 3)


def test_shapes_with_unknown_sizes():
    op = make("Conv2D", filters=5, kernel_size=3, strides=2, padding="same")
    assert op.output_shapes([(None, None, 9, 3)]) == [(None, None, 5, 5)]
    t = make("Conv2DTranspose", filters=4, kernel_size=3, strides=2, padding="same", data_format="channels_first")
    assert t.output_shapes([(None, 3, None, 5)]) == [(None, 4, None, 10)]
    assert t.weight_shapes([(None, 3, None, 5)]) == {"kernel": (3, 3, 4, 3), "bias": (4,)}


@pytest.mark.parametrize("class_name,config,error", [
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "causal"}, UnsupportedLayerError),
    ("Conv2D", {"filters": 5, "kernel_size": 3, "groups": 2}, ShapeError),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, UnsupportedLayerError),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "reflect"}, UnsupportedLayerError),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "data_format": "channels_middle"}, UnsupportedLayerError),
    ("UpSampling2D", {"size": 2, "interpolation": "bicubic"}, UnsupportedLayerError),
    ("MaxPooling2D", {"pool_size": 2, "padding": "causal"}, ShapeError),
])
def test_bad_configs_raise_kport_errors(class_name, config, error):
    with pytest.raises(error) as info:
        op = make(class_name, **config)
        op.output_shapes([(None, 8, 8, 4)])
    assert isinstance(info.value, KportError)


def test_theano_bilinear_upsampling_is_refused():
    theano = ImportContext(keras_major=2, flavor="keras", backend="theano")
    with pytest.raises(UnsupportedLayerError, match="Theano"):
        make("UpSampling2D", theano, size=2, interpolation="bilinear")


def test_bilinear_grid_follows_the_writing_keras():
    assert make("UpSampling2D", KERAS3, size=2, interpolation="bilinear").half_pixel_centers
    tf_keras = ImportContext(keras_major=2, flavor="tf.keras", backend="tensorflow")
    assert make("UpSampling2D", tf_keras, size=2, interpolation="bilinear").half_pixel_centers
    assert not make("UpSampling2D", KERAS2, size=2, interpolation="bilinear").half_pixel_centers


def test_wrong_rank_and_overlarge_cropping_are_shape_errors():
    with pytest.raises(ShapeError):
        make("Conv2D", filters=2, kernel_size=3).output_shapes([(None, 8, 3)])
    with pytest.raises(ShapeError):
        make("Cropping1D", cropping=(3, 3)).output_shapes([(None, 6, 2)])


def test_input_smaller_than_kernel_is_a_shape_error():
    op = make("Conv1D", filters=1, kernel_size=5)
    with pytest.raises(ShapeError):
        op.reference([np.zeros((1, 3, 1), np.float32)], {"kernel": np.zeros((5, 1, 1), np.float32),
                                                         "bias": np.zeros(1, np.float32)})


@pytest.mark.parametrize("opset", [13, 18, 21])
def test_big_grouped_conv_numpy_and_onnx_agree(opset):
    """A ResNeXt-like grouped, strided conv at a realistic size: reference vs onnxruntime."""
    pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(3)
    op = make("Conv2D", filters=32, kernel_size=3, strides=2, padding="same", groups=4, activation="relu")
    x = rng.standard_normal((2, 33, 30, 16)).astype(np.float32)
    weights = [rng.standard_normal((3, 3, 4, 32)).astype(np.float32), rng.standard_normal(32).astype(np.float32)]
    graph = single_layer_graph(op, [(None, 33, 30, 16)], weights, name="conv")
    expected = run_reference(graph, [x])[0]
    assert_close(run_onnx(graph, [x], opset)[0], expected, "grouped conv")


ALL_KINDS = [f"Conv{r}D" for r in (1, 2, 3)] + [f"Conv{r}DTranspose" for r in (1, 2, 3)] + [
    f"{f}{r}D" for f in ("DepthwiseConv", "SeparableConv") for r in (1, 2)] + [
    f"{f}{r}D" for f in ("MaxPooling", "AveragePooling", "GlobalMaxPooling", "GlobalAveragePooling", "ZeroPadding",
                         "Cropping", "UpSampling") for r in (1, 2, 3)]


@pytest.mark.parametrize("opset", range(13, 22))
def test_every_kind_exports_at_every_opset(opset):
    """The richest fixture case of each kind (most attributes set) runs in onnxruntime at opsets 13..21."""
    pytest.importorskip("onnxruntime")
    from layer_harness import check_case, load_cases

    for kind in ALL_KINDS:
        case = max(load_cases(kind), key=lambda c: len(c.id))
        check_case(case, f"onnx{opset}")


def test_keras1_full_padding_is_a_conv_on_the_zero_padded_input():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 5, 6, 2)).astype(np.float32)
    weights = [rng.standard_normal((3, 2, 2, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)]
    full = single_layer_graph(make("Conv2D", filters=4, kernel_size=(3, 2), padding="full"), [(None, 5, 6, 2)],
                              weights)
    valid = single_layer_graph(make("Conv2D", filters=4, kernel_size=(3, 2)), [(None, 9, 8, 2)], weights)
    expected = run_reference(valid, [np.pad(x, [(0, 0), (2, 2), (1, 1), (0, 0)])])[0]
    assert full.tensors[full.outputs[0]].shape == (None, 7, 7, 4)
    assert_close(run_reference(full, [x])[0], expected, "full padding, numpy")
    pytest.importorskip("onnxruntime")
    assert_close(run_onnx(full, [x], 17)[0], expected, "full padding, onnx")


@pytest.mark.parametrize("class_name,config", [
    ("MaxPooling1D", {"pool_size": 1, "strides": 2, "padding": "same"}),
    ("AveragePooling2D", {"pool_size": 3, "strides": 4, "padding": "same"}),
    ("Conv2D", {"filters": 2, "kernel_size": 1, "strides": 2, "padding": "same"}),
    ("SeparableConv1D", {"filters": 2, "kernel_size": 2, "strides": 3, "padding": "same"}),
])
@pytest.mark.parametrize("size", [4, 5, 6, 7])
def test_window_smaller_than_stride_with_unknown_sizes(class_name, config, size):
    """onnxruntime's SAME_UPPER fails here (negative pads); the exported graph computes the pads itself."""
    pytest.importorskip("onnxruntime")
    op = make(class_name, **config)
    rank = int(class_name[-2])
    x = np.random.default_rng(size).standard_normal((2, *(size,) * rank, 3)).astype(np.float32)
    weights = {k: np.random.default_rng(1).standard_normal(s).astype(np.float32)
               for k, s in op.weight_shapes([(None, *x.shape[1:])]).items()}
    expected = run_reference(single_layer_graph(op, [(None, *x.shape[1:])], weights), [x])[0]
    dynamic = single_layer_graph(op, [(None, *(None,) * rank, 3)], weights)
    assert_close(run_onnx(dynamic, [x], 17)[0], expected, f"{class_name} size {size}")


def test_full_padding_has_no_keras3_config():
    from kport.errors import ExportError

    with pytest.raises(ExportError, match="full"):
        make("Conv2D", KERAS2, filters=2, kernel_size=3, padding="full").keras_config("keras3")
    assert make("Conv1D", filters=2, kernel_size=3, padding="causal").keras_config()["padding"] == "causal"
