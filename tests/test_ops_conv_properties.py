"""Random conv/pool/resize configurations: numpy reference vs onnxruntime and PyTorch (independent implementations).

The Keras fixtures pin the semantics on a grid; these explore the corners in
between (odd sizes, stride larger than the kernel or window, every rank and
layout) at a random opset, with static and unknown spatial sizes.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kport.ops.base import ImportContext
from kport.ops.registry import op_for_keras_class

from layer_harness import assert_close, run_onnx, run_reference, single_layer_graph, spatial_unknown

pytest.importorskip("onnxruntime")
try:  # torch is optional here: without it only onnxruntime is compared
    import torch as TORCH
except ImportError:
    TORCH = None
# KPORT_HYPOTHESIS_EXAMPLES raises the count for a deeper local search
SETTINGS = settings(max_examples=int(os.environ.get("KPORT_HYPOTHESIS_EXAMPLES", 25)), deadline=None)
KERAS3 = ImportContext(keras_major=3, flavor="keras3")


def check(class_name: str, config: dict, in_shape: tuple, seed: int, opset: int, dynamic: bool) -> None:
    op = op_for_keras_class(class_name).from_keras(config, KERAS3)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(in_shape).astype(np.float32)
    shape = (None, *in_shape[1:])
    weights = {k: rng.standard_normal(s).astype(np.float32) for k, s in op.weight_shapes([shape]).items()}
    expected = run_reference(single_layer_graph(op, [shape], weights), [x])[0]
    if dynamic:
        shape = spatial_unknown(shape, op.data_format)
    graph = single_layer_graph(op, [shape], weights)
    got = run_onnx(graph, [x], opset)[0]
    assert_close(got, expected, f"{class_name} {config} on {in_shape}, opset {opset}, dynamic={dynamic}")
    if TORCH is not None:
        from kport.runtime.torch_backend import build_module

        with TORCH.no_grad():
            got = build_module(graph)(TORCH.from_numpy(x)).numpy()
        assert_close(got, expected, f"{class_name} {config} on {in_shape}, torch, dynamic={dynamic}")


@st.composite
def layouts(draw, rank: int, chans: int, min_size: int = 1, formats=("channels_last", "channels_first")):
    data_format = draw(st.sampled_from(formats))
    sizes = tuple(draw(st.integers(min_size, min_size + 8)) for _ in range(rank))
    batch = draw(st.integers(1, 2))
    shape = (batch, *sizes, chans) if data_format == "channels_last" else (batch, chans, *sizes)
    return data_format, shape


common = dict(seed=st.integers(0, 2 ** 16), opset=st.integers(13, 21), dynamic=st.booleans())


@SETTINGS
@given(rank=st.integers(1, 3), data=st.data(), **common)
def test_conv(rank, data, seed, opset, dynamic):
    groups = data.draw(st.sampled_from([1, 2]))
    k = data.draw(st.integers(1, 4))
    dilated = data.draw(st.booleans())
    stride, dilation = (1, data.draw(st.integers(2, 3))) if dilated else (data.draw(st.integers(1, 3)), 1)
    padding = data.draw(st.sampled_from(["valid", "same"] + (["causal"] if rank == 1 else [])))
    data_format, shape = data.draw(layouts(rank, 2 * groups, min_size=(k - 1) * dilation + 1))
    config = {"filters": 2 * groups, "kernel_size": k, "strides": stride, "dilation_rate": dilation,
              "padding": padding, "groups": groups, "data_format": data_format}
    check(f"Conv{rank}D", config, shape, seed, opset, dynamic)


@SETTINGS
@given(rank=st.integers(1, 3), data=st.data(), **common)
def test_conv_transpose(rank, data, seed, opset, dynamic):
    k, stride = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    dilation = data.draw(st.integers(1, 2)) if stride == 1 else 1
    padding = data.draw(st.sampled_from(["valid", "same"]))
    output_padding = data.draw(st.one_of(st.none(), st.integers(0, stride - 1)))
    data_format, shape = data.draw(layouts(rank, 3))
    config = {"filters": 2, "kernel_size": k, "strides": stride, "dilation_rate": dilation, "padding": padding,
              "output_padding": output_padding, "data_format": data_format}
    op = op_for_keras_class(f"Conv{rank}DTranspose").from_keras(config, KERAS3)
    if any(n is not None and n <= 0 for n in op.output_shapes([(None, *shape[1:])])[0][1:]):
        return  # Keras refuses configurations with an empty output
    check(f"Conv{rank}DTranspose", config, shape, seed, opset, dynamic)


@SETTINGS
@given(rank=st.integers(1, 2), data=st.data(), **common)
def test_depthwise_and_separable(rank, data, seed, opset, dynamic):
    kind = data.draw(st.sampled_from(["DepthwiseConv", "SeparableConv"]))
    k, stride = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    data_format, shape = data.draw(layouts(rank, 3, min_size=k))
    config = {"kernel_size": k, "strides": stride, "padding": data.draw(st.sampled_from(["valid", "same"])),
              "depth_multiplier": data.draw(st.integers(1, 2)), "data_format": data_format}
    if kind == "SeparableConv":
        config["filters"] = 4
    check(f"{kind}{rank}D", config, shape, seed, opset, dynamic)


@SETTINGS
@given(rank=st.integers(1, 3), data=st.data(), **common)
def test_pooling(rank, data, seed, opset, dynamic):
    kind = data.draw(st.sampled_from(["MaxPooling", "AveragePooling"]))
    pool, stride = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    data_format, shape = data.draw(layouts(rank, 2, min_size=pool))
    config = {"pool_size": pool, "strides": stride, "padding": data.draw(st.sampled_from(["valid", "same"])),
              "data_format": data_format}
    check(f"{kind}{rank}D", config, shape, seed, opset, dynamic)


@SETTINGS
@given(rank=st.integers(1, 3), data=st.data(), **common)
def test_padding_cropping_upsampling(rank, data, seed, opset, dynamic):
    kind = data.draw(st.sampled_from(["ZeroPadding", "Cropping", "UpSampling"]))
    # the 1-D layers of this family take no data_format in Keras
    formats = ("channels_last",) if rank == 1 else ("channels_last", "channels_first")
    data_format, shape = data.draw(layouts(rank, 2, min_size=5, formats=formats))
    pairs = [(data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in range(rank)]
    if kind == "ZeroPadding":
        config = {"padding": pairs[0] if rank == 1 else pairs}
    elif kind == "Cropping":
        config = {"cropping": pairs[0] if rank == 1 else pairs}
    else:
        sizes = [data.draw(st.integers(1, 3)) for _ in range(rank)]
        config = {"size": sizes[0] if rank == 1 else sizes}
        if rank == 2:
            config["interpolation"] = data.draw(st.sampled_from(["nearest", "bilinear"]))
    if rank > 1:
        config["data_format"] = data_format
    check(f"{kind}{rank}D", config, shape, seed, opset, dynamic)
