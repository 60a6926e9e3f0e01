"""Shared families that only move cells: ZeroPadding, Cropping, UpSampling (1D-3D).

They work on the spatial axes of a Keras-layout tensor directly, so the ONNX
forms (Pad, Slice, Resize) need no transposes, except bilinear Resize, which
onnxruntime implements on NCHW only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ExportError, ShapeError, UnsupportedLayerError
from kport.ops.base import ImportContext, Op, as_tuple, require_rank
from kport.ops.conv_common import from_nchw, normalize_data_format, to_nchw, torch_from_nchw, torch_to_nchw

INT64_MAX = np.iinfo(np.int64).max
# generated-code helper: linear resampling along one axis on tf.image.resize's grids
TORCH_LINEAR_AXIS = '''
def resize_linear_axis(x: torch.Tensor, axis: int, scale: int, half_pixel: bool) -> torch.Tensor:
    """Stretches one axis by an integer factor with linear interpolation (edges clamped, as TF)."""
    n = x.shape[axis]
    out = torch.arange(n * scale, dtype=torch.float64, device=x.device)
    src = (out + 0.5) / scale - 0.5 if half_pixel else out / scale
    lower = torch.floor(src)
    frac = (src - lower).to(x.dtype)
    lo = torch.clamp(lower.long(), 0, n - 1)
    hi = torch.clamp(lower.long() + 1, 0, n - 1)
    shape = [1] * x.dim()
    shape[axis] = -1
    a = x.index_select(axis, lo)
    return a + (x.index_select(axis, hi) - a) * frac.reshape(shape)
'''


def pairs(value, rank: int, what: str) -> tuple[tuple[int, int], ...]:
    """Normalizes Keras padding/cropping specs to one (before, after) pair per spatial axis.

    Accepts an int (all sides), a per-axis tuple of ints (symmetric), or a
    tuple of pairs; for rank 1 also a single pair (before, after).
    """
    if isinstance(value, (int, np.integer)):
        return ((int(value), int(value)),) * rank
    value = tuple(value)
    if rank == 1 and len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
        return ((int(value[0]), int(value[1])),)
    if len(value) != rank:
        raise ShapeError(f"{what} {value} does not give {rank} spatial axes")
    out = []
    for v in value:
        if isinstance(v, (int, np.integer)):
            out.append((int(v), int(v)))
        else:
            a, b = v
            out.append((int(a), int(b)))
    return tuple(out)


@dataclass
class SpatialOp(Op):
    """Base of the families: rank and spatial-axis bookkeeping."""

    rank: ClassVar[int] = 2

    data_format: str = "channels_last"

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext):
        config = dict(config)
        config["data_format"] = normalize_data_format(config.get("data_format"))
        return super().from_keras(config, ctx)

    def spatial_axes(self) -> list[int]:
        start = 2 if self.data_format == "channels_first" else 1
        return list(range(start, start + self.rank))

    def check(self, shape) -> None:
        require_rank(shape, self.rank + 2, self.kind)

    def format_config(self, flavor: str) -> dict:
        """The data_format entry, where the Keras class of this flavor takes one."""
        takes = self.rank > 1 or (self.kind == "ZeroPadding1D" and flavor == "keras3")
        if takes:
            return {"data_format": self.data_format}
        if self.data_format != "channels_last":
            raise ExportError(f"{flavor} {self.kind} has no data_format argument",
                              hint="write the model for Keras 3, or move the channels last first")
        return {}


@dataclass
class ZeroPaddingND(SpatialOp):
    """Zero cells added before/after each spatial axis."""

    padding: tuple = (1,)

    def __post_init__(self):
        self.padding = pairs(self.padding, self.rank, "padding")
        self.data_format = normalize_data_format(self.data_format)

    def output_shapes(self, in_shapes):
        shape = list(in_shapes[0])
        self.check(shape)
        for axis, (a, b) in zip(self.spatial_axes(), self.padding):
            shape[axis] = None if shape[axis] is None else shape[axis] + a + b
        return [tuple(shape)]

    def full_pads(self, ndim: int) -> list[tuple[int, int]]:
        pads = [(0, 0)] * ndim
        for axis, p in zip(self.spatial_axes(), self.padding):
            pads[axis] = p
        return pads

    def keras_config(self, flavor: str = "keras3") -> dict:
        padding = list(self.padding[0]) if self.rank == 1 else [list(p) for p in self.padding]
        return {"padding": padding, **self.format_config(flavor)}

    def reference(self, xs, w):
        return [np.pad(xs[0], self.full_pads(xs[0].ndim))]

    def to_onnx(self, g, xs, w, node):
        pads = self.full_pads(self.rank + 2)
        return [g.op("Pad", [xs[0], g.ints([p[0] for p in pads] + [p[1] for p in pads])], mode="constant")]

    def to_torch(self, t, xs, w, node):
        flat = [v for p in reversed(self.full_pads(self.rank + 2)[1:]) for v in p]  # last axis first
        return [t.line(f"F.pad({xs[0]}, {flat})")]


@dataclass
class CroppingND(SpatialOp):
    """Cells removed from the start/end of each spatial axis."""

    cropping: tuple = (1,)

    def __post_init__(self):
        self.cropping = pairs(self.cropping, self.rank, "cropping")
        self.data_format = normalize_data_format(self.data_format)

    def output_shapes(self, in_shapes):
        shape = list(in_shapes[0])
        self.check(shape)
        for axis, (a, b) in zip(self.spatial_axes(), self.cropping):
            if shape[axis] is not None:
                if shape[axis] - a - b <= 0:
                    raise ShapeError(f"{self.kind} crops {a + b} cells from an axis of size {shape[axis]}",
                                     hint="the cropping leaves nothing; check the layer config")
                shape[axis] -= a + b
        return [tuple(shape)]

    def keras_config(self, flavor: str = "keras3") -> dict:
        cropping = list(self.cropping[0]) if self.rank == 1 else [list(p) for p in self.cropping]
        return {"cropping": cropping, **(self.format_config(flavor) if self.rank > 1 else {})}

    def reference(self, xs, w):
        x = xs[0]
        index = [slice(None)] * x.ndim
        for axis, (a, b) in zip(self.spatial_axes(), self.cropping):
            index[axis] = slice(a, x.shape[axis] - b)
        return [np.ascontiguousarray(x[tuple(index)])]

    def to_onnx(self, g, xs, w, node):
        axes = self.spatial_axes()
        starts = [a for a, _ in self.cropping]
        ends = []
        for axis, (_, b) in zip(axes, self.cropping):
            size = node.in_shapes[0][axis]
            ends.append(size - b if size is not None else (-b if b else INT64_MAX))
        return [g.op("Slice", [xs[0], g.ints(starts), g.ints(ends), g.ints(axes)])]

    def to_torch(self, t, xs, w, node):
        index = [":"] * (self.rank + 2)
        for axis, (a, b) in zip(self.spatial_axes(), self.cropping):
            index[axis] = f"{a}:{-b if b else ''}"
        return [t.line(f"{xs[0]}[{', '.join(index)}]")]


@dataclass
class UpSamplingND(SpatialOp):
    """Each spatial axis stretched by an integer factor: repeat (nearest) or bilinear.

    `half_pixel_centers` is the bilinear sampling grid: True for tf.keras 2 on
    TF2 and Keras 3 (tf.image.resize), False for multi-backend Keras 2 on TF
    (tf.image.resize_bilinear's legacy grid).
    """

    size: tuple[int, ...] = (2,)
    interpolation: str = "nearest"
    half_pixel_centers: bool = True

    def __post_init__(self):
        self.size = as_tuple(self.size, self.rank)
        self.data_format = normalize_data_format(self.data_format)
        if self.interpolation not in ("nearest", "bilinear"):
            raise UnsupportedLayerError(f"{self.kind} interpolation '{self.interpolation}' is not supported",
                                        hint="kport supports 'nearest' and 'bilinear' upsampling")
        if self.interpolation == "bilinear" and self.rank != 2:
            raise UnsupportedLayerError(f"{self.kind} has no bilinear mode")

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext):
        op = super().from_keras(config, ctx)
        if op.interpolation == "bilinear":
            if ctx.backend == "theano":
                raise UnsupportedLayerError(
                    "bilinear UpSampling2D from the Theano backend is not supported",
                    hint="Theano's bilinear_upsampling uses its own border rule; use interpolation='nearest'")
            op.half_pixel_centers = not (ctx.flavor == "keras" and ctx.keras_major <= 2)
        return op

    def keras_config(self, flavor: str = "keras3") -> dict:
        if self.rank == 1:
            return {"size": self.size[0]}
        config = {"size": list(self.size), **self.format_config(flavor)}
        if self.rank == 2:
            if self.interpolation == "bilinear" and not self.half_pixel_centers:
                raise ExportError("bilinear UpSampling2D on multi-backend Keras 2's sampling grid has no "
                                  f"{flavor} form (tf.keras and Keras 3 sample at half-pixel centers)",
                                  hint="export to ONNX or torch, which keep the original grid")
            config["interpolation"] = self.interpolation
        return config

    def output_shapes(self, in_shapes):
        shape = list(in_shapes[0])
        self.check(shape)
        for axis, s in zip(self.spatial_axes(), self.size):
            shape[axis] = None if shape[axis] is None else shape[axis] * s
        return [tuple(shape)]

    def reference(self, xs, w):
        x = xs[0]
        for axis, s in zip(self.spatial_axes(), self.size):
            if self.interpolation == "nearest":
                x = np.repeat(x, s, axis=axis)
            else:
                x = linear_upsample_axis(x, axis, s, self.half_pixel_centers)
        return [x]

    def to_onnx(self, g, xs, w, node):
        if self.interpolation == "nearest":
            # nearest on the Keras layout directly: output cell o reads floor(o / s)
            scales = [1.0] * (self.rank + 2)
            for axis, s in zip(self.spatial_axes(), self.size):
                scales[axis] = float(s)
            return [g.op("Resize", [xs[0], "", g.const(np.array(scales, np.float32))], mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor")]
        channels_last = self.data_format == "channels_last"
        x = to_nchw(g, xs[0], self.rank) if channels_last else xs[0]
        scales = np.array([1.0, 1.0, *map(float, self.size)], np.float32)
        mode = "half_pixel" if self.half_pixel_centers else "asymmetric"
        y = g.op("Resize", [x, "", g.const(scales)], mode="linear", coordinate_transformation_mode=mode)
        return [from_nchw(g, y, self.rank) if channels_last else y]

    def to_torch(self, t, xs, w, node):
        x = xs[0]
        if self.interpolation == "nearest":
            for axis, s in zip(self.spatial_axes(), self.size):
                if s != 1:
                    x = t.line(f"{x}.repeat_interleave({s}, dim={axis})")
            return [x]
        if not self.half_pixel_centers:  # torch has no legacy-grid mode: sample each axis explicitly
            t.helper("resize_linear_axis", TORCH_LINEAR_AXIS)
            for axis, s in zip(self.spatial_axes(), self.size):
                x = t.line(f"resize_linear_axis({x}, {axis}, {s}, False)")
            return [x]
        channels_last = self.data_format == "channels_last"
        x = torch_to_nchw(t, x, self.rank) if channels_last else x
        scale = tuple(float(s) for s in self.size)
        y = t.line(f"F.interpolate({x}, scale_factor={scale}, mode='bilinear', align_corners=False)")
        return [torch_from_nchw(t, y, self.rank) if channels_last else y]


def linear_upsample_axis(x: np.ndarray, axis: int, scale: int, half_pixel: bool) -> np.ndarray:
    """Linear interpolation along one axis, as tf.image.resize samples it (edges clamped)."""
    n = x.shape[axis]
    out = np.arange(n * scale, dtype=np.float64)
    src = (out + 0.5) / scale - 0.5 if half_pixel else out / scale
    lower = np.floor(src)
    frac = (src - lower).astype(x.dtype)
    lo = np.clip(lower.astype(np.int64), 0, n - 1)
    hi = np.clip(lower.astype(np.int64) + 1, 0, n - 1)
    shape = [1] * x.ndim
    shape[axis] = -1
    frac = frac.reshape(shape)
    a = np.take(x, lo, axis=axis)
    b = np.take(x, hi, axis=axis)
    return (a + (b - a) * frac).astype(x.dtype, copy=False)
