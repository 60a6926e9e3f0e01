"""Maximum: takes the element-wise maximum of its inputs (Keras merge broadcasting)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.merge_common import ElementwiseMerge, is_number


@dataclass
class Maximum(ElementwiseMerge):
    kind = "Maximum"
    keras_classes = ("Maximum",)
    onnx_binary = "Max"

    def torch_binary(self, a, b):
        # torch.maximum wants two tensors; a recorded scalar operand becomes a clamp bound
        if is_number(b) or is_number(a):
            tensor, number = (a, b) if is_number(b) else (b, a)
            return f"torch.clamp({tensor}, min={number})"
        return f"torch.maximum({a}, {b})"

    def combine(self, a, b):
        return np.maximum(a, b)
