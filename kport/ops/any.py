"""Any: Keras 3's `ops.any` as a functional-model node (Masking's mask is any(x != v, axis=-1))."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.base import Op


@dataclass
class Any(Op):
    kind = "Any"
    keras_classes = ("Any",)
    output_dtype: ClassVar[str] = "bool"

    axis: int | tuple | None = None
    keepdims: bool = False

    def _axes(self, rank: int) -> tuple[int, ...]:
        if self.axis is None:
            return tuple(range(rank))
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        return tuple(sorted(a % rank for a in axes))

    def output_shapes(self, in_shapes):
        shape = tuple(in_shapes[0])
        axes = self._axes(len(shape))
        if self.keepdims:
            return [tuple(1 if i in axes else d for i, d in enumerate(shape))]
        return [tuple(d for i, d in enumerate(shape) if i not in axes)]

    def reference(self, xs, w):
        x = np.asarray(xs[0])
        return [x.astype(bool).any(axis=self._axes(x.ndim), keepdims=self.keepdims)]

    def to_torch(self, t, xs, w, node):
        axes = list(self._axes(len(node.in_shapes[0])))
        return [t.line(f"torch.amax({xs[0]}.to(torch.bool).to(torch.int32), dim={axes}, "
                       f"keepdim={bool(self.keepdims)}).to(torch.bool)")]

    def to_onnx(self, g, xs, w, node):
        axes = list(self._axes(len(node.in_shapes[0])))
        as_float = g.op("Cast", [g.op("Cast", [xs[0]], to=9)], to=1)
        if g.opset >= 18:
            reduced = g.op("ReduceMax", [as_float, g.ints(axes)], keepdims=int(self.keepdims))
        else:
            reduced = g.op("ReduceMax", [as_float], axes=axes, keepdims=int(self.keepdims))
        return [g.op("Cast", [reduced], to=9)]
