"""ThresholdedReLU (Keras 1/2, tf.keras): x where x > theta, else 0."""
from __future__ import annotations

from dataclasses import dataclass

from kport.errors import ExportError
from kport.ops.base import Op


@dataclass
class ThresholdedReLU(Op):
    kind = "ThresholdedReLU"
    keras_classes = ("ThresholdedReLU",)

    theta: float = 1.0

    def keras_config(self, flavor: str = "keras3") -> dict:
        if flavor == "keras3":
            # Keras 3 removed the class; ReLU(threshold=theta) computes the same for theta >= 0
            raise ExportError("ThresholdedReLU does not exist in Keras 3",
                              hint="write a tf.keras file (--to h5), or replace it by ReLU(threshold=theta)")
        return super().keras_config(flavor)

    def reference(self, xs, w):
        x = xs[0]
        return [x * (x > self.theta).astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        return [g.op("ThresholdedRelu", [xs[0]], alpha=float(self.theta))]

    def to_torch(self, t, xs, w, node):
        x = xs[0]
        return [t.line(f"{x} * ({x} > {float(self.theta)!r}).to({x}.dtype)")]
