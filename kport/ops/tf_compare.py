"""TFCompare: TensorFlow comparisons and logical operators (`a > 0.5`, `tf.math.equal`, `tf.math.logical_and`).

Comparisons take a tensor or a constant on either side (like TFBinary) and
give booleans; the logical operators combine two boolean tensors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from kport.ops.tf_binary import TFBinary
from kport.ops.tf_op_common import tf_classes

_FUNCTIONS: dict[str, tuple[Any, str, str]] = {
    "math.greater": (np.greater, "Greater", "({a} > {b})"),
    "math.greater_equal": (np.greater_equal, "GreaterOrEqual", "({a} >= {b})"),
    "math.less": (np.less, "Less", "({a} < {b})"),
    "math.less_equal": (np.less_equal, "LessOrEqual", "({a} <= {b})"),
    "math.equal": (np.equal, "Equal", "({a} == {b})"),
    "math.not_equal": (np.not_equal, "", "({a} != {b})"),
    "math.logical_and": (np.logical_and, "And", "torch.logical_and({a}, {b})"),
    "math.logical_or": (np.logical_or, "Or", "torch.logical_or({a}, {b})"),
    "math.logical_xor": (np.logical_xor, "Xor", "torch.logical_xor({a}, {b})"),
}


@dataclass
class TFCompare(TFBinary):
    kind = "TFCompare"
    keras_classes = tf_classes(*_FUNCTIONS)
    functions: ClassVar[dict[str, tuple[Any, str, str]]] = _FUNCTIONS
    output_dtype: ClassVar[str] = "bool"
    keras3_ops = {fn: ("keras.src.ops.numpy", name, {}) for fn, name in {
        "math.greater": "Greater", "math.greater_equal": "GreaterEqual", "math.less": "Less",
        "math.less_equal": "LessEqual", "math.equal": "Equal", "math.not_equal": "NotEqual",
        "math.logical_and": "LogicalAnd", "math.logical_or": "LogicalOr", "math.logical_xor": "LogicalXor"}.items()}

    function: str = "math.greater"

    def read_call(self, args):
        values = super().read_call(args)
        if self.function.startswith("math.logical") and (values["x"] is not None or values["y"] is not None):
            raise args.refuse("combines a constant; kport converts logical operators on two tensors")
        return values

    def result_dtype(self, dtype):
        return np.bool_

    def to_onnx(self, g, xs, w, node):
        if self.function != "math.not_equal":
            return super().to_onnx(g, xs, w, node)
        a, b = (v if isinstance(v, str) else g.const(np.asarray(v[1], np.float32)) for v in self._operands(xs))
        return [g.op("Not", [g.op("Equal", [a, b])])]
