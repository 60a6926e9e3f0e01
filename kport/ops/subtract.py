"""Subtract: subtracts the second input from the first (Keras merge broadcasting)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.merge_common import ElementwiseMerge


@dataclass
class Subtract(ElementwiseMerge):
    kind = "Subtract"
    keras_classes = ("Subtract",)
    onnx_binary = "Sub"
    max_inputs = 2  # one, when the other operand is a recorded constant (Keras 3 `2.0 - x`)

    def torch_binary(self, a, b):
        return f"({a} - {b})"

    def combine(self, a, b):
        return a - b
