"""Maximum: takes the element-wise maximum of its inputs (Keras merge broadcasting)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.merge_common import ElementwiseMerge


@dataclass
class Maximum(ElementwiseMerge):
    kind = "Maximum"
    keras_classes = ("Maximum",)
    onnx_binary = "Max"

    def torch_binary(self, a, b):
        return f"torch.maximum({a}, {b})"

    def combine(self, a, b):
        return np.maximum(a, b)
