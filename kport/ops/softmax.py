"""Softmax layer: softmax over one axis or jointly over several (Keras 3 list axis), with optional mask.

A mask (second input, from the call's `mask=` tensor) adds -1e9 where it is
0 before the softmax, as Keras does for float32.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import Op
from kport.ops.onnx_common import reduce, scalar

MASK_NEGATIVE = -1e9  # Keras's "large negative number" for float32 / float64


@dataclass
class Softmax(Op):
    kind = "Softmax"
    keras_classes = ("Softmax",)

    axis: int | tuple[int, ...] = -1

    def _axes(self, rank: int) -> tuple[int, ...]:
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        return tuple(a % rank for a in axes)

    def reference(self, xs, w):
        x = xs[0]
        if len(xs) > 1:
            x = x + (1.0 - xs[1].astype(x.dtype)) * np.float32(MASK_NEGATIVE)
        axes = self._axes(x.ndim)
        shifted = x - x.max(axis=axes, keepdims=True)
        e = np.exp(shifted)
        return [(e / e.sum(axis=axes, keepdims=True)).astype(xs[0].dtype)]

    def to_onnx(self, g, xs, w, node):
        x = xs[0]
        if len(xs) > 1:
            keep = g.op("Cast", [xs[1]], to=1)
            x = g.op("Add", [x, g.op("Mul", [g.op("Sub", [scalar(g, 1.0), keep]), scalar(g, MASK_NEGATIVE)])])
        axes = self._axes(len(node.in_shapes[0]))
        if len(axes) == 1:
            return [g.op("Softmax", [x], axis=axes[0])]
        # joint softmax: exp(x - logsumexp(x)); shift by the max first for stability
        shifted = g.op("Sub", [x, reduce(g, "ReduceMax", x, axes)])
        e = g.op("Exp", [shifted])
        return [g.op("Div", [e, reduce(g, "ReduceSum", e, axes)])]
