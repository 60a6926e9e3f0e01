"""LeakyReLU: x for x > 0, slope * x otherwise (`alpha` before Keras 3, default 0.3)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import ImportContext, Op


@dataclass
class LeakyReLU(Op):
    kind = "LeakyReLU"
    keras_classes = ("LeakyReLU",)

    negative_slope: float = 0.3

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "LeakyReLU":
        slope = config.get("negative_slope", config.get("alpha"))
        return cls() if slope is None else cls(negative_slope=float(slope))

    def keras_config(self, flavor: str = "keras3") -> dict:
        return {"negative_slope" if flavor == "keras3" else "alpha": self.negative_slope}

    def reference(self, xs, w):
        x = xs[0]
        return [np.where(x > 0, x, np.float32(self.negative_slope) * x).astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        return [g.op("LeakyRelu", [xs[0]], alpha=float(self.negative_slope))]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"F.leaky_relu({xs[0]}, negative_slope={float(self.negative_slope)!r})")]
