"""Add: sums its inputs (Keras merge broadcasting)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.merge_common import ElementwiseMerge


@dataclass
class Add(ElementwiseMerge):
    kind = "Add"
    keras_classes = ("Add",)
    onnx_binary = "Add"

    def torch_binary(self, a, b):
        return f"({a} + {b})"

    def combine(self, a, b):
        return a + b
