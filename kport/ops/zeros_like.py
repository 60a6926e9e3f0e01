"""ZerosLike: Keras 3's `ops.zeros_like` as a functional-model node (recorded mask logic uses bool zeros)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import Op

# Keras dtype name -> ONNX TensorProto type
_ONNX_TYPES = {"float32": 1, "uint8": 2, "int8": 3, "int32": 6, "int64": 7, "bool": 9, "float16": 10,
               "float64": 11}


@dataclass
class ZerosLike(Op):
    kind = "ZerosLike"
    keras_classes = ("ZerosLike",)

    dtype: str | None = None

    @property
    def output_dtype(self) -> str | None:
        return self.dtype

    def reference(self, xs, w):
        x = np.asarray(xs[0])
        return [np.zeros(x.shape, dtype=self.dtype or x.dtype)]

    def to_torch(self, t, xs, w, node):
        dtype = f"torch.{self.dtype}" if self.dtype else f"{xs[0]}.dtype"
        return [t.line(f"torch.zeros_like({xs[0]}, dtype={dtype})")]

    def to_onnx(self, g, xs, w, node):
        zeros = g.op("ConstantOfShape", [g.op("Shape", [xs[0]])])  # float32 zeros
        dtype = self.dtype or "float32"
        return [zeros if dtype == "float32" else g.op("Cast", [zeros], to=_ONNX_TYPES[dtype])]
