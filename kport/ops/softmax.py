"""Softmax layer: softmax over one axis or jointly over several (Keras 3 list axis), with optional mask.

Keras passes the layer a mask when one is present (a `mask=` tensor, or the
mask Embedding(mask_zero)/Masking propagate); the importer adds it as the
'tensor:mask' input. Keras adds -1e9 (float32) where the mask is 0, then takes
the softmax.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.base import Op
from kport.ops.onnx_common import reduce, scalar

MASK_NEGATIVE = -1e9  # Keras's "large negative number" for float32 / float64


def _mask_position(call: dict | None) -> int | None:
    positions = list((call or {}).get("tensor:mask", []))
    return positions[0] if positions else None


@dataclass
class Softmax(Op):
    kind = "Softmax"
    keras_classes = ("Softmax",)
    accepts_mask: ClassVar[bool] = True

    axis: int | tuple[int, ...] = -1

    def _axes(self, rank: int) -> tuple[int, ...]:
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        return tuple(a % rank for a in axes)

    def reference(self, xs, w):
        return self.reference_node(xs[:1], w, {})

    def reference_node(self, xs, w, call):
        x = xs[0]
        pos = _mask_position(call)
        if pos is not None:
            x = x + (1.0 - xs[pos].astype(x.dtype)) * np.float32(MASK_NEGATIVE)
        axes = self._axes(x.ndim)
        shifted = x - x.max(axis=axes, keepdims=True)
        e = np.exp(shifted)
        return [(e / e.sum(axis=axes, keepdims=True)).astype(xs[0].dtype)]

    def to_onnx(self, g, xs, w, node):
        x = xs[0]
        pos = _mask_position(node.call)
        if pos is not None:
            keep = g.op("Cast", [xs[pos]], to=1)
            x = g.op("Add", [x, g.op("Mul", [g.op("Sub", [scalar(g, 1.0), keep]), scalar(g, MASK_NEGATIVE)])])
        axes = self._axes(len(node.in_shapes[0]))
        if len(axes) == 1:
            return [g.op("Softmax", [x], axis=axes[0])]
        # joint softmax: exp(x - logsumexp(x)); shift by the max first for stability
        shifted = g.op("Sub", [x, reduce(g, "ReduceMax", x, axes)])
        e = g.op("Exp", [shifted])
        return [g.op("Div", [e, reduce(g, "ReduceSum", e, axes)])]

    def to_torch(self, t, xs, w, node):
        x = xs[0]
        pos = _mask_position(node.call)
        if pos is not None:
            x = t.line(f"{x} + (1.0 - {xs[pos]}.to({x}.dtype)) * {MASK_NEGATIVE!r}")
        axes = list(self._axes(len(node.in_shapes[0])))
        if len(axes) == 1:
            return [t.line(f"F.softmax({x}, dim={axes[0]})")]
        return [t.line(f"torch.exp({x} - torch.logsumexp({x}, dim={axes}, keepdim=True))")]
