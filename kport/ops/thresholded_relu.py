"""ThresholdedReLU (Keras 1/2, tf.keras): x where x > theta, else 0; Keras 3 spells it ReLU(threshold=theta)."""
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
        if flavor == "keras3":  # the writer builds keras_construction instead where it can
            why = (f"theta={self.theta} < 0 has no exact construction there (ReLU takes no negative threshold)"
                   if self.theta < 0 else "kport writes it as ReLU(threshold=theta) only as a layer of its own")
            raise ExportError(f"ThresholdedReLU does not exist in Keras 3: {why}",
                              hint="write ONNX or PyTorch instead")
        return super().keras_config(flavor)

    def keras_construction(self, flavor: str, in_shape, weights: dict) -> list | None:
        """Keras 3 removed the class: ReLU(threshold=theta) computes where(x > theta, x, 0), the same thing.

        Keras 3's ReLU compares strictly (x == theta gives 0, as here) after casting
        theta to the input dtype; it refuses theta < 0, left to `keras_config`'s error.
        """
        if flavor != "keras3" or self.theta < 0:
            return None
        return [("ReLU", {"threshold": float(self.theta)}, {})]

    def reference(self, xs, w):
        x = xs[0]
        # Keras compares in the input dtype: theta rounded to float32, not float64
        return [x * (x > x.dtype.type(self.theta)).astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        return [g.op("ThresholdedRelu", [xs[0]], alpha=float(self.theta))]

    def to_torch(self, t, xs, w, node):
        x = xs[0]
        return [t.line(f"{x} * ({x} > {float(self.theta)!r}).to({x}.dtype)")]
