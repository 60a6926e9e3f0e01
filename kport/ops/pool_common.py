"""Shared pooling: window pooling (max/average) and global pooling, any rank, both layouts.

Keras 'same' pooling pads like 'same' convolution (odd cell at the end); max
pooling never picks a pad and average pooling divides by the number of real
cells in the window (ONNX AveragePool count_include_pad=0).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import ImportContext, Op, as_tuple, require_rank
from kport.ops.conv_common import (NEG_INF, channels, conv_output_length, explicit_pads, from_channels_last,
                                   from_nchw, make_shape, normalize_data_format, onnx_runtime_same_pads,
                                   onnx_same_padding, pad_spatial, same_upper_is_exact, spatial_dims, tap_view,
                                   to_channels_last, to_nchw, torch_from_nchw, torch_pad, torch_to_nchw)


def pool_nd(x: np.ndarray, pool: tuple, strides: tuple, pads: list[tuple[int, int]], mode: str) -> np.ndarray:
    """Window pooling of a channels_last array, looping over window taps only.

    Args:
        x: (N, *spatial, C).
        pool, strides: per spatial axis.
        pads: per-axis (before, after) pads, excluded from every window.
        mode: 'max' or 'average'.
    """
    ones = (1,) * len(pool)
    fill = -np.inf if mode == "max" else 0.0
    xp = pad_spatial(x, pads, fill)
    out = tuple((xp.shape[1 + i] - k) // s + 1 for i, (k, s) in enumerate(zip(pool, strides)))
    if min(out) <= 0:
        return np.zeros((x.shape[0], *(max(n, 0) for n in out), x.shape[-1]), dtype=x.dtype)
    acc = None
    for tap in np.ndindex(*pool):
        view = tap_view(xp, tap, out, strides, ones)
        if acc is None:
            acc = np.array(view, dtype=np.promote_types(x.dtype, np.float32))
        elif mode == "max":
            np.maximum(acc, view, out=acc)
        else:
            acc += view
    if mode == "average":
        counts = np.zeros((1, *out, 1), dtype=acc.dtype)
        real = pad_spatial(np.ones((1, *x.shape[1:-1], 1), dtype=acc.dtype), pads, 0.0)
        for tap in np.ndindex(*pool):
            counts += tap_view(real, tap, out, strides, ones)
        acc /= counts
    return acc.astype(x.dtype, copy=False)


@dataclass
class PoolingND(Op):
    """MaxPooling/AveragePooling 1D-3D; subclasses fix `rank` and `mode`."""

    rank: ClassVar[int] = 2
    mode: ClassVar[str] = "max"

    pool_size: tuple[int, ...] = (2,)
    strides: tuple[int, ...] | None = None
    padding: str = "valid"
    data_format: str = "channels_last"

    def __post_init__(self):
        self.pool_size = as_tuple(self.pool_size, self.rank)
        self.strides = self.pool_size if self.strides is None else as_tuple(self.strides, self.rank)
        self.padding = str(self.padding).lower()
        self.data_format = normalize_data_format(self.data_format)
        if self.padding not in ("valid", "same"):
            raise ShapeError(f"{self.kind}: unknown padding '{self.padding}'")

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext):
        config = dict(config)
        config["data_format"] = normalize_data_format(config.get("data_format"))
        return super().from_keras(config, ctx)

    def output_shapes(self, in_shapes):
        shape = in_shapes[0]
        require_rank(shape, self.rank + 2, self.kind)
        spatial = tuple(conv_output_length(n, k, s, 1, self.padding)
                        for n, k, s in zip(spatial_dims(shape, self.data_format), self.pool_size, self.strides))
        return [make_shape(shape[0], spatial, channels(shape, self.data_format), self.data_format)]

    def reference(self, xs, w):
        x = to_channels_last(xs[0], self.data_format)
        pads = explicit_pads(x.shape[1:-1], self.pool_size, self.strides, (1,) * self.rank, self.padding)
        return [from_channels_last(pool_nd(x, self.pool_size, self.strides, pads, self.mode), self.data_format)]

    def to_onnx(self, g, xs, w, node):
        channels_last = self.data_format == "channels_last"
        x = to_nchw(g, xs[0], self.rank) if channels_last else xs[0]
        spatial = spatial_dims(node.in_shapes[0], self.data_format)
        window = {"kernel_shape": list(self.pool_size), "strides": list(self.strides)}
        ones = (1,) * self.rank
        if self.mode == "max":
            x, padding = onnx_same_padding(g, x, spatial, self.pool_size, self.strides, ones, self.padding,
                                           pad_value=-np.inf)
            y = g.op("MaxPool", [x], **window, **padding)
        elif (explicit_pads(spatial, self.pool_size, self.strides, ones, self.padding) is not None
              or same_upper_is_exact(self.pool_size, self.strides, ones)):
            _, padding = onnx_same_padding(g, x, spatial, self.pool_size, self.strides, ones, self.padding)
            y = g.op("AveragePool", [x], count_include_pad=0, **window, **padding)
        else:
            # runtime-computed pads: average the zero-padded input, divide by the share of real cells
            pads = onnx_runtime_same_pads(g, x, self.rank, self.pool_size, self.strides, ones)
            zero = g.const(np.array(0.0, np.float32))
            real = g.op("ConstantOfShape", [g.op("Shape", [x])], value=_float_tensor(1.0))
            sums = g.op("AveragePool", [g.op("Pad", [x, pads, zero], mode="constant")], **window)
            share = g.op("AveragePool", [g.op("Pad", [real, pads, zero], mode="constant")], **window)
            y = g.op("Div", [sums, share])
        return [from_nchw(g, y, self.rank) if channels_last else y]

    def to_torch(self, t, xs, w, node):
        channels_last = self.data_format == "channels_last"
        x = torch_to_nchw(t, xs[0], self.rank) if channels_last else xs[0]
        spatial = spatial_dims(node.in_shapes[0], self.data_format)
        ones = (1,) * self.rank
        window = f"{list(self.pool_size)}, {list(self.strides)}"
        fn = f"F.{'max' if self.mode == 'max' else 'avg'}_pool{self.rank}d"
        if self.mode == "max":
            x, _ = torch_pad(t, x, spatial, self.pool_size, self.strides, ones, self.padding, value=NEG_INF)
            y = t.line(f"{fn}({x}, {window})")
        else:
            padded, any_pad = torch_pad(t, x, spatial, self.pool_size, self.strides, ones, self.padding)
            y = t.line(f"{fn}({padded}, {window})")
            if any_pad:  # divide by the share of real cells in each window, as Keras excludes pads
                real = t.line(f"torch.ones_like({x}[:, :1])")
                real, _ = torch_pad(t, real, spatial, self.pool_size, self.strides, ones, self.padding)
                y = t.line(f"{y} / {fn}({real}, {window})")
        return [torch_from_nchw(t, y, self.rank) if channels_last else y]


def _float_tensor(value: float):
    from onnx import helper

    return helper.make_tensor("value", 1, [1], [value])


@dataclass
class MaxPoolingND(PoolingND):
    mode = "max"


@dataclass
class AveragePoolingND(PoolingND):
    mode = "average"


@dataclass
class GlobalPoolingND(Op):
    """GlobalMax/GlobalAveragePooling 1D-3D: reduce the spatial axes (keepdims keeps them as 1)."""

    rank: ClassVar[int] = 2
    mode: ClassVar[str] = "max"

    data_format: str = "channels_last"
    keepdims: bool = False

    def __post_init__(self):
        self.data_format = normalize_data_format(self.data_format)

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext):
        config = dict(config)
        config["data_format"] = normalize_data_format(config.get("data_format"))
        return super().from_keras(config, ctx)

    def axes(self) -> list[int]:
        start = 2 if self.data_format == "channels_first" else 1
        return list(range(start, start + self.rank))

    def output_shapes(self, in_shapes):
        shape = in_shapes[0]
        require_rank(shape, self.rank + 2, self.kind)
        chans = channels(shape, self.data_format)
        if self.keepdims:
            return [make_shape(shape[0], (1,) * self.rank, chans, self.data_format)]
        return [(shape[0], chans)]

    def reference(self, xs, w):
        x, axes = xs[0], tuple(self.axes())
        if self.mode == "max":
            y = np.max(x, axis=axes, keepdims=self.keepdims)
        else:
            y = np.mean(x, axis=axes, keepdims=self.keepdims, dtype=np.promote_types(x.dtype, np.float32))
        return [np.asarray(y, dtype=x.dtype)]

    def to_onnx(self, g, xs, w, node):
        op_type = "ReduceMax" if self.mode == "max" else "ReduceMean"
        keep = int(self.keepdims)
        if g.opset >= 18:  # axes became an input in opset 18
            return [g.op(op_type, [xs[0], g.ints(self.axes())], keepdims=keep)]
        return [g.op(op_type, [xs[0]], axes=self.axes(), keepdims=keep)]

    def to_torch(self, t, xs, w, node):
        fn = "torch.amax" if self.mode == "max" else "torch.mean"
        return [t.line(f"{fn}({xs[0]}, dim={self.axes()}, keepdim={self.keepdims})")]


@dataclass
class GlobalMaxPoolingND(GlobalPoolingND):
    mode = "max"


@dataclass
class GlobalAveragePoolingND(GlobalPoolingND):
    mode = "average"
