"""Minimum: takes the element-wise minimum of its inputs (Keras merge broadcasting)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.merge_common import ElementwiseMerge


@dataclass
class Minimum(ElementwiseMerge):
    kind = "Minimum"
    keras_classes = ("Minimum",)
    onnx_binary = "Min"

    def torch_binary(self, a, b):
        return f"torch.minimum({a}, {b})"

    def combine(self, a, b):
        return np.minimum(a, b)
