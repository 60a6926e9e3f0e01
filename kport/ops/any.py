"""Any: Keras 3's `ops.any` as a functional-model node (Masking's mask is any(x != v, axis=-1))."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.base import Op, reduced_shape, reduction_axes
from kport.ops.onnx_common import reduce


@dataclass
class Any(Op):
    kind = "Any"
    keras_classes = ("Any",)
    output_dtype: ClassVar[str] = "bool"

    axis: int | tuple | None = None
    keepdims: bool = False

    def output_shapes(self, in_shapes):
        shape = tuple(in_shapes[0])
        return [reduced_shape(shape, reduction_axes(self.axis, len(shape)), self.keepdims)]

    def reference(self, xs, w):
        x = np.asarray(xs[0])
        return [x.astype(bool).any(axis=tuple(reduction_axes(self.axis, x.ndim)), keepdims=self.keepdims)]

    def to_torch(self, t, xs, w, node):
        axes = reduction_axes(self.axis, len(node.in_shapes[0]))
        return [t.line(f"torch.amax({xs[0]}.to(torch.bool).to(torch.int32), dim={axes}, "
                       f"keepdim={bool(self.keepdims)}).to(torch.bool)")]

    def to_onnx(self, g, xs, w, node):
        axes = reduction_axes(self.axis, len(node.in_shapes[0]))
        as_float = g.op("Cast", [g.op("Cast", [xs[0]], to=9)], to=1)
        return [g.op("Cast", [reduce(g, "ReduceMax", as_float, axes, self.keepdims)], to=9)]
