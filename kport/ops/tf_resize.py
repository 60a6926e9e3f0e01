"""TFResize: `tf.image.resize(images, size, method)` on NHWC images: bilinear and nearest, no antialias.

TF 2 samples with half-pixel centres: bilinear reads source (o + 0.5) * in/out - 0.5
(clamped to the edges), nearest floor((o + 0.5) * in/out). ONNX spells these
`half_pixel` + linear and `half_pixel` + `round_prefer_ceil`; torch bilinear
(align_corners=False) and 'nearest-exact'.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import require_rank
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


def _linear_axis(x: np.ndarray, axis: int, size: int) -> np.ndarray:
    n = x.shape[axis]
    src = (np.arange(size, dtype=np.float64) + 0.5) * (n / size) - 0.5
    low = np.floor(src)
    frac = (src - low).astype(np.float32)
    lo, hi = np.clip(low, 0, n - 1).astype(int), np.clip(low + 1, 0, n - 1).astype(int)
    shape = [1] * x.ndim
    shape[axis] = size
    frac = frac.reshape(shape)
    return np.take(x, lo, axis) * (1 - frac) + np.take(x, hi, axis) * frac


def _nearest_axis(x: np.ndarray, axis: int, size: int) -> np.ndarray:
    n = x.shape[axis]
    src = np.minimum(np.floor((np.arange(size) + 0.5) * (n / size)).astype(int), n - 1)
    return np.take(x, src, axis)


@dataclass
class TFResize(TFFunctionOp):
    kind = "TFResize"
    keras_classes = tf_classes("image.resize")
    keras3_refusal: ClassVar[str] = "not written yet (Keras 3 ops.image.resize is not mapped)"

    function: str = "image.resize"
    size: tuple = (1, 1)
    method: str = "bilinear"

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("resizes a constant or a list")
        size = args.constant("size")
        method = str(args.constant("method", "bilinear"))
        if args.constant("preserve_aspect_ratio", False) or args.constant("antialias", False):
            raise args.refuse("preserves the aspect ratio or antialiases; kport converts neither")
        if not isinstance(size, tuple) or len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
            raise args.refuse(f"has size {size!r}; kport converts a constant [height, width]")
        if method not in ("bilinear", "nearest"):
            raise args.refuse(f"resizes with method '{method}'; kport converts bilinear and nearest")
        return {"size": size, "method": method}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"size": list(self.size), "method": self.method}

    def output_shapes(self, in_shapes):
        require_rank(in_shapes[0], 4, "tf.image.resize")
        if None in in_shapes[0][1:3]:
            raise ShapeError("tf.image.resize needs known image height and width")
        return [(in_shapes[0][0], *self.size, in_shapes[0][3])]

    def reference(self, xs, w):
        x = xs[0]
        step = _linear_axis if self.method == "bilinear" else _nearest_axis
        return [step(step(x, 1, self.size[0]), 2, self.size[1]).astype(np.float32)]

    def to_onnx(self, g, xs, w, node):
        n, _, _, c = node.in_shapes[0]
        nchw = g.op("Transpose", [xs[0]], perm=[0, 3, 1, 2])
        sizes = g.op("Concat", [g.op("Slice", [g.op("Shape", [nchw]), g.const(np.array([0], np.int64)),
                                                g.const(np.array([2], np.int64))]),
                                g.const(np.array(self.size, np.int64))], axis=0)
        if self.method == "bilinear":
            y = g.op("Resize", [nchw, "", "", sizes], mode="linear", coordinate_transformation_mode="half_pixel")
        else:
            y = g.op("Resize", [nchw, "", "", sizes], mode="nearest", coordinate_transformation_mode="half_pixel",
                     nearest_mode="round_prefer_ceil")
        return [g.op("Transpose", [y], perm=[0, 2, 3, 1])]

    def to_torch(self, t, xs, w, node):
        mode = "mode='bilinear', align_corners=False" if self.method == "bilinear" else "mode='nearest-exact'"
        y = t.line(f"F.interpolate({xs[0]}.permute(0, 3, 1, 2), size={list(self.size)}, {mode})")
        return [t.line(f"{y}.permute(0, 2, 3, 1)")]
