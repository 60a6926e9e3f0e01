"""Masking: zeroes the time steps whose features all equal `mask_value`; the mask itself
flows to later layers (made explicit by the importer as a ComputeMask node)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import Op


@dataclass
class Masking(Op):
    kind = "Masking"
    keras_classes = ("Masking",)

    mask_value: float = 0.0

    def reference(self, xs, w):
        x = np.asarray(xs[0])
        keep = (x != np.asarray(self.mask_value, x.dtype)).any(axis=-1, keepdims=True)
        return [(x * keep).astype(x.dtype)]

    def to_torch(self, t, xs, w, node):
        keep = t.line(f"torch.any({xs[0]} != {float(self.mask_value)!r}, dim=-1, keepdim=True)")
        return [t.line(f"{xs[0]} * {keep}.to({xs[0]}.dtype)")]

    def to_onnx(self, g, xs, w, node):
        differs = g.op("Not", [g.op("Equal", [xs[0], g.const(np.array(self.mask_value, np.float32))])])
        as_float = g.op("Cast", [differs], to=1)
        if g.opset >= 18:
            keep = g.op("ReduceMax", [as_float, g.ints([-1])], keepdims=1)
        else:
            keep = g.op("ReduceMax", [as_float], axes=[-1], keepdims=1)
        return [g.op("Mul", [xs[0], keep])]
