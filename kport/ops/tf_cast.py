"""TFCast: `tf.cast(x, dtype)`: float to int truncates toward zero, anything nonzero is True."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes

# dtype -> (ONNX TensorProto type, torch dtype)
_DTYPES = {"float32": (1, "torch.float32"), "float64": (11, "torch.float64"), "float16": (10, "torch.float16"),
           "int32": (6, "torch.int32"), "int64": (7, "torch.int64"), "int16": (5, "torch.int16"),
           "int8": (3, "torch.int8"), "uint8": (2, "torch.uint8"), "bool": (9, "torch.bool")}


@dataclass
class TFCast(TFFunctionOp):
    kind = "TFCast"
    keras_classes = tf_classes("cast")
    keras3_ops = {"cast": ("keras.src.ops.core", "Cast", {"dtype": "dtype"})}

    function: str = "cast"
    dtype: str = "float32"

    @property
    def output_dtype(self) -> str:
        return self.dtype

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("casts a constant or a list")
        dtype = args.constant("dtype")
        if dtype not in _DTYPES:
            raise args.refuse(f"casts to {dtype!r}; kport converts {', '.join(_DTYPES)}")
        return {"dtype": dtype}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"dtype": self.dtype}

    def reference(self, xs, w):
        return [np.asarray(xs[0]).astype(self.dtype)]

    def to_onnx(self, g, xs, w, node):
        return [g.op("Cast", [xs[0]], to=_DTYPES[self.dtype][0])]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"{xs[0]}.to({_DTYPES[self.dtype][1]})")]
