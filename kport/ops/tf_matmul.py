"""TFMatMul: `tf.linalg.matmul(a, b, transpose_a, transpose_b)` (also `a @ b`); `b` a tensor or a constant."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from kport.errors import ShapeError, UnsupportedLayerError
from kport.ops.tf_op_common import (TENSOR, TFFunctionOp, as_float32, keras3_constant, keras3_operands,
                                    tf_classes)


@dataclass
class TFMatMul(TFFunctionOp):
    kind = "TFMatMul"
    keras_classes = tf_classes("linalg.matmul", "__operators__.matmul")
    keras3_refusal: ClassVar[str] = "Keras 3 ops.matmul has no transposes"
    keras3_ops = {fn: ("keras.src.ops.numpy", "Matmul", {}) for fn in ("linalg.matmul", "__operators__.matmul")}

    def bind_call(self, call, n_inputs):
        if getattr(self, "_from_keras3_config", False):  # Keras 3: a constant b among the positional args
            a, b = keras3_operands(call, 2)
            if a is not None:
                raise UnsupportedLayerError("Matmul has a constant left operand", hint="multiply a tensor")
            return dataclasses.replace(self, b=b)
        return super().bind_call(call, n_inputs)

    def keras3_args(self, refs):
        return [refs[0], refs[1] if self.b is None else keras3_constant(self.b)]

    def keras3_node(self, refs, node):
        if self.transpose_a or self.transpose_b:
            return dataclasses.replace(self, function="matmul (transposed)").keras3_node(refs, node)
        return super().keras3_node(refs, node)

    function: str = "linalg.matmul"
    # a constant right operand, or None where a tensor goes
    b: Any = None
    transpose_a: bool = False
    transpose_b: bool = False

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("multiplies a constant or a list")
        flags = {}
        for name in ("transpose_a", "transpose_b", "adjoint_a", "adjoint_b"):  # adjoint = transpose for reals
            flags[name] = bool(args.constant(name, False))
        for name in ("a_is_sparse", "b_is_sparse"):
            args.constant(name)
        if args.constant("output_type") not in (None, "float32"):
            raise args.refuse("sets output_type; kport converts float32 products only")
        b = args.operand("b")
        return {"b": b, "transpose_a": flags["transpose_a"] or flags["adjoint_a"],
                "transpose_b": flags["transpose_b"] or flags["adjoint_b"]}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"b": TENSOR if self.b is None else self.b,
                        "transpose_a": self.transpose_a, "transpose_b": self.transpose_b}

    def output_shapes(self, in_shapes):
        a = list(in_shapes[0])
        b = list(in_shapes[1]) if self.b is None else list(np.shape(as_float32(self.b)))
        if len(a) < 2 or len(b) < 2:
            raise ShapeError(f"tf.linalg.matmul needs rank >= 2 operands, got {in_shapes}")
        if self.transpose_a:
            a[-2:] = a[-1], a[-2]
        if self.transpose_b:
            b[-2:] = b[-1], b[-2]
        batch = a[:-2] if len(a) >= len(b) else b[:-2]
        return [tuple(batch) + (a[-2], b[-1])]

    def reference(self, xs, w):
        a = xs[0]
        b = xs[1] if self.b is None else as_float32(self.b)
        a = np.swapaxes(a, -1, -2) if self.transpose_a else a
        b = np.swapaxes(b, -1, -2) if self.transpose_b else b
        return [np.matmul(a, b).astype(xs[0].dtype)]

    def to_onnx(self, g, xs, w, node):
        a = xs[0]
        b = xs[1] if self.b is None else g.const(as_float32(self.b))
        rank_b = len(node.in_shapes[1]) if self.b is None else np.ndim(as_float32(self.b))

        def swap(x, rank):
            return g.op("Transpose", [x], perm=list(range(rank - 2)) + [rank - 1, rank - 2])

        a = swap(a, len(node.in_shapes[0])) if self.transpose_a else a
        b = swap(b, rank_b) if self.transpose_b else b
        return [g.op("MatMul", [a, b])]

    def to_torch(self, t, xs, w, node):
        from kport.ops.merge_common import _torch_constant

        a = xs[0]
        b = xs[1] if self.b is None else _torch_constant(t, as_float32(self.b), w)
        a = f"{a}.transpose(-1, -2)" if self.transpose_a else a
        b = f"{b}.transpose(-1, -2)" if self.transpose_b else b
        return [t.line(f"torch.matmul({a}, {b})")]
