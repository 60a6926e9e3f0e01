"""TFBinary: element-wise TensorFlow math on two operands (`tf.math.add(x, 2.0)`, `a * b`, `3.0 - x`).

Either operand may be a constant (tf.keras writes a constant first operand as
`_CONSTANT_VALUE`, a constant `y` as a keyword); operands broadcast numpy's way
(right-aligned), not Keras merge's way.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from kport.errors import ExportError, ShapeError
from kport.ops.tf_op_common import (TENSOR, TFFunctionOp, as_float32, keras3_constant, keras3_operands,
                                    tf_classes)

# TF function -> (numpy function, ONNX op, torch expression on {a} and {b})
_FUNCTIONS: dict[str, tuple[Any, str, str]] = {
    "math.add": (np.add, "Add", "({a} + {b})"),
    "__operators__.add": (np.add, "Add", "({a} + {b})"),
    "math.subtract": (np.subtract, "Sub", "({a} - {b})"),
    "math.multiply": (np.multiply, "Mul", "({a} * {b})"),
    "math.truediv": (np.divide, "Div", "({a} / {b})"),
    "math.divide": (np.divide, "Div", "({a} / {b})"),
    "math.maximum": (np.maximum, "Max", "torch.maximum({a}, {b})"),
    "math.minimum": (np.minimum, "Min", "torch.minimum({a}, {b})"),
    "math.pow": (np.power, "Pow", "torch.pow({a}, {b})"),
    "math.squared_difference": (lambda a, b: np.square(a - b), "", "torch.square({a} - {b})"),
}

# TF function -> the Keras 3 operation it is written as
_KERAS3_OPS = {"math.add": "Add", "__operators__.add": "Add", "math.subtract": "Subtract",
               "math.multiply": "Multiply", "math.maximum": "Maximum", "math.minimum": "Minimum",
               "math.truediv": "TrueDivide", "math.divide": "Divide", "math.pow": "Power"}
# the Keras 3 operations kport reads back as Keras merges (merge broadcasting: same ranks only)
_MERGE_READ = ("math.add", "__operators__.add", "math.subtract", "math.multiply", "math.maximum", "math.minimum")


def broadcast(a, b) -> tuple:
    """numpy broadcasting of two IR shapes (None = unknown size)."""
    a, b = tuple(a), tuple(b)
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for i, j in zip(a, b):
        if i == 1 or i == j:
            out.append(j)
        elif j == 1:
            out.append(i)
        elif i is None or j is None:
            out.append(i if j is None else j)
        else:
            raise ShapeError(f"operands of shapes {a} and {b} do not broadcast")
    return tuple(out)


@dataclass
class TFBinary(TFFunctionOp):
    kind = "TFBinary"
    keras_classes = tf_classes(*_FUNCTIONS)
    # TF function -> (numpy, ONNX op, torch expression); subclasses (comparisons) bring their own
    functions: ClassVar[dict[str, tuple[Any, str, str]]] = _FUNCTIONS
    keras3_refusal: ClassVar[str] = "Keras 3 has no squared_difference operation"
    keras3_ops = {fn: ("keras.src.ops.numpy", name, {}) for fn, name in _KERAS3_OPS.items()}

    function: str = "math.add"
    # a constant operand, or None where a tensor goes
    x: Any = None
    y: Any = None

    def read_call(self, args):
        first = args.first
        if isinstance(first, list):
            raise args.refuse("takes a list as its first operand")
        return {"x": first, "y": args.operand("y")}

    def tf_call(self, n_inputs: int):
        return (TENSOR if self.x is None else self.x), {"y": TENSOR if self.y is None else self.y}

    def bind_call(self, call, n_inputs):
        if getattr(self, "_from_keras3_config", False):  # Keras 3: constants among the positional args
            x, y = keras3_operands(call, 2)
            return dataclasses.replace(self, x=x, y=y)
        return super().bind_call(call, n_inputs)

    def keras3_args(self, refs):
        pending = iter(refs)
        return [next(pending) if v is None else keras3_constant(v) for v in (self.x, self.y)]

    def keras3_node(self, refs, node):
        if (self.function in _MERGE_READ and len(refs) == 2
                and len({len(r["config"]["shape"]) for r in refs}) > 1):  # Keras 3 would read merges
            raise ExportError(f"tf.{self.function} of tensors of different ranks has no exact Keras 3 form",
                              layer=node.layer, hint="write a tf.keras file (--to h5), ONNX or PyTorch instead")
        return super().keras3_node(refs, node)

    def result_dtype(self, dtype):
        """The output dtype for inputs of `dtype` (arithmetic keeps it)."""
        return dtype

    def _operands(self, xs: list) -> list:
        tensors = iter(xs)
        return [next(tensors) if v is None else ("const", v) for v in (self.x, self.y)]

    def output_shapes(self, in_shapes):
        shapes = iter(in_shapes)
        a, b = (next(shapes) if v is None else np.shape(as_float32(v)) for v in (self.x, self.y))
        return [broadcast(a, b)]

    def reference(self, xs, w):
        dtype = xs[0].dtype
        a, b = (v if not isinstance(v, tuple) else as_float32(v[1]).astype(dtype) for v in self._operands(xs))
        return [np.asarray(self.functions[self.function][0](a, b), dtype=self.result_dtype(dtype))]

    def to_onnx(self, g, xs, w, node):
        a, b = (v if isinstance(v, str) else g.const(as_float32(v[1])) for v in self._operands(xs))
        op_type = self.functions[self.function][1]
        if not op_type:  # squared difference
            d = g.op("Sub", [a, b])
            return [g.op("Mul", [d, d])]
        return [g.op(op_type, [a, b])]

    def to_torch(self, t, xs, w, node):
        from kport.ops.merge_common import _torch_constant

        expr = self.functions[self.function][2]
        scalar_ok = expr.startswith("(")  # arithmetic accepts Python numbers; torch functions need tensors
        names = []
        for v in self._operands(xs):
            if isinstance(v, str):
                names.append(v)
            else:
                value = as_float32(v[1])
                names.append(repr(float(value)) if value.ndim == 0 and scalar_ok
                             else _torch_constant(t, value.reshape(value.shape or (1,)), w))
        return [t.line(expr.format(a=names[0], b=names[1]))]
