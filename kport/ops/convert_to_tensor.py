"""ConvertToTensor: Keras 3's `ops.convert_to_tensor` as a functional-model node (Attention's
recorded output mask goes through it): the identity, with an optional dtype cast."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import Op

# Keras dtype name -> ONNX TensorProto type
_ONNX_TYPES = {"float32": 1, "uint8": 2, "int8": 3, "int32": 6, "int64": 7, "bool": 9, "float16": 10,
               "float64": 11}


@dataclass
class ConvertToTensor(Op):
    kind = "ConvertToTensor"
    keras_classes = ("ConvertToTensor",)

    dtype: str | None = None

    @property
    def output_dtype(self) -> str | None:
        return self.dtype

    def reference(self, xs, w):
        x = np.asarray(xs[0])
        return [x.astype(self.dtype) if self.dtype else x]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"{xs[0]}.to(torch.{self.dtype})") if self.dtype else xs[0]]

    def to_onnx(self, g, xs, w, node):
        if self.dtype:
            return [g.op("Cast", [xs[0]], to=_ONNX_TYPES[self.dtype])]
        return [g.op("Identity", [xs[0]])]
