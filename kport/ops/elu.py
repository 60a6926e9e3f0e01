"""ELU layer: x for x > 0, alpha * (exp(x) - 1) otherwise."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops import activation_fns
from kport.ops.base import Op


@dataclass
class ELU(Op):
    kind = "ELU"
    keras_classes = ("ELU",)

    alpha: float = 1.0

    def reference(self, xs, w):
        return [activation_fns.apply("elu", xs[0], alpha=self.alpha)]

    def to_onnx(self, g, xs, w, node):
        return [g.op("Elu", [xs[0]], alpha=float(self.alpha))]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"F.elu({xs[0]}, alpha={float(self.alpha)!r})")]
