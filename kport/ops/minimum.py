"""Minimum: takes the element-wise minimum of its inputs (Keras merge broadcasting)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.merge_common import ElementwiseMerge, is_number


@dataclass
class Minimum(ElementwiseMerge):
    kind = "Minimum"
    keras_classes = ("Minimum",)
    onnx_binary = "Min"

    def torch_binary(self, a, b):
        # torch.minimum wants two tensors; a recorded scalar operand becomes a clamp bound
        if is_number(b) or is_number(a):
            tensor, number = (a, b) if is_number(b) else (b, a)
            return f"torch.clamp({tensor}, max={number})"
        return f"torch.minimum({a}, {b})"

    def combine(self, a, b):
        return np.minimum(a, b)
