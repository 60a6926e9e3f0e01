"""ReLU layer: relu with optional cap (`max_value`), leak (`negative_slope`) and `threshold`.

Keras computes, in this order: a negative part relu(threshold - x) when the
slope is non-zero; x * (x > threshold) (or relu / relu6); a clip to
[0, max_value]; then subtracts slope * negative part. With threshold < 0 an
input in (threshold, 0) passes through unclipped unless max_value is set: the
reference and the ONNX form follow that exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import ImportContext, Op
from kport.ops.onnx_common import scalar


@dataclass
class ReLU(Op):
    kind = "ReLU"
    keras_classes = ("ReLU",)

    max_value: float | None = None
    negative_slope: float = 0.0
    threshold: float = 0.0

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "ReLU":
        # tf.keras writes numpy scalars (strings in some JSON dumps): coerce through float
        max_value = config.get("max_value")
        return cls(max_value=None if max_value is None else float(max_value),
                   negative_slope=float(config.get("negative_slope", config.get("alpha", 0.0)) or 0.0),
                   threshold=float(config.get("threshold", 0.0) or 0.0))

    def reference(self, xs, w):
        x = xs[0]
        t, a, m = np.float32(self.threshold), np.float32(self.negative_slope), self.max_value
        if a != 0 and m is None and t == 0:
            return [np.where(x > 0, x, a * x).astype(x.dtype)]
        clip_max = m is not None
        if t != 0:
            y = x * (x > t).astype(x.dtype)
        elif m == 6:
            y, clip_max = np.clip(x, 0, 6), False
        else:
            y = np.maximum(x, 0)
        if clip_max:
            y = np.clip(y, 0, np.float32(m))
        if a != 0:
            y = y - a * np.maximum(t - x, 0)
        return [y.astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        x = xs[0]
        t, a, m = self.threshold, self.negative_slope, self.max_value
        if a != 0 and m is None and t == 0:
            return [g.op("LeakyRelu", [x], alpha=float(a))]
        if a == 0 and t == 0 and m is not None:
            return [g.op("Clip", [x, scalar(g, 0.0), scalar(g, m)])]
        if t != 0:
            y = g.op("Mul", [x, g.op("Cast", [g.op("Greater", [x, scalar(g, t)])], to=1)])
        else:
            y = g.op("Relu", [x])
        if m is not None:
            y = g.op("Clip", [y, scalar(g, 0.0), scalar(g, m)])
        if a != 0:
            negative = g.op("Relu", [g.op("Sub", [scalar(g, t), x])])
            y = g.op("Sub", [y, g.op("Mul", [negative, scalar(g, a)])])
        return [y]

    def to_torch(self, tr, xs, w, node):
        x = xs[0]
        t, a, m = self.threshold, self.negative_slope, self.max_value
        if a != 0 and m is None and t == 0:
            return [tr.line(f"F.leaky_relu({x}, negative_slope={a!r})")]
        if a == 0 and t == 0 and m is not None:
            return [tr.line(f"torch.clamp({x}, 0.0, {float(m)!r})")]
        y = tr.line(f"{x} * ({x} > {t!r}).to({x}.dtype)" if t != 0 else f"F.relu({x})")
        if m is not None:
            y = tr.line(f"torch.clamp({y}, 0.0, {float(m)!r})")
        if a != 0:
            y = tr.line(f"{y} - {a!r} * F.relu({t!r} - {x})")
        return [y]
