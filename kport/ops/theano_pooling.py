"""TheanoPooling: Keras 1/2 'same' max/average pooling as the Theano backend computed it.

Theano's pool_2d pads `pads[i]` positions on BOTH sides of each spatial axis
(Keras chose k-2 for odd k > 2, else k-1), ignores those positions (max over real
values; 'average_exc_pad' divides by the real count), and Keras then keeps the
first ceil(n / stride) outputs. TF 'same' pooling puts the windows elsewhere, so
the importer rewrites Theano-saved 'same' pooling layers into this op (the class
name `TheanoPooling` exists only inside kport). Works for 1D, 2D and 3D inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ExportError, ShapeError
from kport.ops.base import Op, as_tuple


def theano_same_pad(k: int, rank: int) -> int:
    """The pad Keras's Theano backend asked for, per pooling axis (pool3d used another rule)."""
    if rank == 3:
        return k - 2 if k % 2 == 1 and k > 1 else k - 1
    return k - 2 if k > 2 and k % 2 == 1 else k - 1


@dataclass
class TheanoPooling(Op):
    kind = "TheanoPooling"
    keras_classes = ("TheanoPooling",)

    mode: str = "max"
    pool_size: tuple[int, ...] = (2,)
    strides: tuple[int, ...] = (2,)
    pads: tuple[int, ...] = (0,)
    data_format: str = "channels_last"

    def __post_init__(self):
        rank = len(as_tuple(self.pool_size, 1))
        self.pool_size = as_tuple(self.pool_size, rank)
        self.strides = as_tuple(self.strides, rank)
        self.pads = as_tuple(self.pads, rank)

    def _spatial_axes(self, ndim: int) -> list[int]:
        return list(range(2, ndim)) if self.data_format == "channels_first" else list(range(1, ndim - 1))

    def output_shapes(self, in_shapes):
        shape = list(in_shapes[0])
        axes = self._spatial_axes(len(shape))
        if len(axes) != len(self.pool_size):
            raise ShapeError(f"{len(self.pool_size)}D pooling got an input of shape {tuple(shape)}")
        for axis, s in zip(axes, self.strides):
            shape[axis] = None if shape[axis] is None else -(-shape[axis] // s)
        return [tuple(shape)]

    def _end_pads(self, sizes) -> list[int]:
        # after the begin pad, enough (possibly negative: a crop) to give exactly ceil(n/s) windows
        return [(-(-n // s) - 1) * s + k - n - p for n, k, s, p in zip(sizes, self.pool_size, self.strides, self.pads)]

    def reference(self, xs, w):
        x = xs[0]
        axes = self._spatial_axes(x.ndim)
        sizes = [x.shape[a] for a in axes]
        ends = self._end_pads(sizes)
        fill = -np.inf if self.mode == "max" else 0.0
        xp = x.astype(np.float64)
        valid = np.ones(x.shape, np.float64)
        for axis, p, e in zip(axes, self.pads, ends):
            if e < 0:  # the last windows end before the input does
                xp = np.take(xp, range(xp.shape[axis] + e), axis=axis)
                valid = np.take(valid, range(valid.shape[axis] + e), axis=axis)
                e = 0
            widths = [(0, 0)] * x.ndim
            widths[axis] = (p, e)
            xp = np.pad(xp, widths, constant_values=fill)
            valid = np.pad(valid, widths, constant_values=0.0)
        win_x = np.lib.stride_tricks.sliding_window_view(xp, self.pool_size, axis=axes)
        win_v = np.lib.stride_tricks.sliding_window_view(valid, self.pool_size, axis=axes)
        step = [slice(None)] * x.ndim
        for axis, s in zip(axes, self.strides):
            step[axis] = slice(None, None, s)
        win_x, win_v = win_x[tuple(step)], win_v[tuple(step)]
        window_axes = tuple(range(x.ndim, x.ndim + len(axes)))
        if self.mode == "max":
            y = win_x.max(axis=window_axes)
        else:
            y = win_x.sum(axis=window_axes) / win_v.sum(axis=window_axes)
        return [y.astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        shape = node.in_shapes[0]
        rank = len(shape)
        axes = self._spatial_axes(rank)
        sizes = [shape[a] for a in axes]
        if any(n is None for n in sizes):
            raise ExportError("Theano 'same' pooling needs known spatial sizes to place its windows",
                              hint="give the model a fixed input size")
        x = xs[0]
        if self.data_format == "channels_last":
            x = g.op("Transpose", [x], perm=[0, rank - 1] + list(range(1, rank - 1)))
        ends = self._end_pads(sizes)
        if any(e < 0 for e in ends):
            starts = [0] * len(axes)
            stops = [n + min(e, 0) for n, e in zip(sizes, ends)]
            x = g.op("Slice", [x, g.ints(starts), g.ints(stops), g.ints(list(range(2, rank)))])
        pads = list(self.pads) + [max(e, 0) for e in ends]
        attrs = {"kernel_shape": list(self.pool_size), "strides": list(self.strides), "pads": pads}
        if self.mode == "max":
            y = g.op("MaxPool", [x], **attrs)
        else:
            y = g.op("AveragePool", [x], count_include_pad=0, **attrs)
        if self.data_format == "channels_last":
            y = g.op("Transpose", [y], perm=[0] + list(range(2, rank)) + [1])
        return [y]

    def to_torch(self, t, xs, w, node):
        shape = node.in_shapes[0]
        sizes = [shape[a] for a in self._spatial_axes(len(shape))]
        if any(n is None for n in sizes):
            raise ExportError("Theano 'same' pooling needs known spatial sizes to place its windows",
                              hint="give the model a fixed input size")
        t.helper("theano_pool", TORCH_THEANO_POOL)
        return [t.line(f"theano_pool({xs[0]}, {self.mode!r}, {list(self.pool_size)}, {list(self.strides)}, "
                       f"{list(self.pads)}, {self._end_pads(sizes)}, {self.data_format == 'channels_last'})")]


TORCH_THEANO_POOL = '''
def theano_pool(x, mode, kernel, strides, pads, ends, channels_last):
    """Theano 'same' pooling: pads ignored (max over real values, mean over real values)."""
    nd = len(kernel)
    if channels_last:
        x = x.permute(0, nd + 1, *range(1, nd + 1))
    for i, e in enumerate(ends):
        if e < 0:
            x = x.narrow(2 + i, 0, x.shape[2 + i] + e)
    widths = []
    for p, e in zip(reversed(pads), reversed(ends)):
        widths += [p, max(e, 0)]
    if mode == "max":
        pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1]
        y = pool(F.pad(x, widths, value=float("-inf")), kernel, strides)
    else:
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[nd - 1]
        y = pool(F.pad(x, widths), kernel, strides) / pool(F.pad(torch.ones_like(x[:, :1]), widths), kernel, strides)
    if channels_last:
        y = y.permute(0, *range(2, nd + 2), 1)
    return y
'''
