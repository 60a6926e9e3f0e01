"""Rescaling (preprocessing): x * scale + offset; scale and offset may be per-channel lists."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.base import Op


@dataclass
class Rescaling(Op):
    kind = "Rescaling"
    keras_classes = ("Rescaling",)
    # integer images (uint8) come out as float32
    output_dtype: ClassVar[str] = "float32"

    scale: float | tuple = 1.0
    offset: float | tuple = 0.0

    def _constants(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.scale, np.float32), np.asarray(self.offset, np.float32)

    def reference(self, xs, w):
        scale, offset = self._constants()
        return [xs[0].astype(np.float32) * scale + offset]

    def to_onnx(self, g, xs, w, node):
        scale, offset = self._constants()
        x = g.op("Cast", [xs[0]], to=1)  # integer images become float32; a no-op for floats
        y = g.op("Mul", [x, g.const(scale, f"{node.layer}/scale")])
        return [g.op("Add", [y, g.const(offset, f"{node.layer}/offset")])]
