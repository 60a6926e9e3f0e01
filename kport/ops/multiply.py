"""Multiply: multiplies its inputs element-wise (Keras merge broadcasting)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.merge_common import ElementwiseMerge


@dataclass
class Multiply(ElementwiseMerge):
    kind = "Multiply"
    keras_classes = ("Multiply",)
    onnx_binary = "Mul"

    def torch_binary(self, a, b):
        return f"({a} * {b})"

    def combine(self, a, b):
        return a * b
