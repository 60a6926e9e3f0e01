"""TFWhere: `tf.where(condition, x, y)`: x where the condition holds, else y (either a tensor or a constant)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from kport.ops.tf_binary import broadcast
from kport.errors import UnsupportedLayerError
from kport.ops.tf_op_common import (TENSOR, TFFunctionOp, as_float32, keras3_constant, keras3_operands,
                                    tf_classes)


@dataclass
class TFWhere(TFFunctionOp):
    kind = "TFWhere"
    keras_classes = tf_classes("where", "where_v2", "compat.v1.where")
    keras3_ops = {fn: ("keras.src.ops.numpy", "Where", {}) for fn in ("where", "where_v2", "compat.v1.where")}
    # the branches are float tensors or numbers (the condition, input 0, is boolean)
    output_dtype: ClassVar[str] = "float32"

    function: str = "where"
    # constant branches, or None where a tensor goes
    x: Any = None
    y: Any = None

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("has a constant or a list as its condition")
        if "x" not in args.call and "tensor:x" not in args.call:
            raise args.refuse("has no x and y: it returns coordinates, which kport does not convert")
        return {"x": args.operand("x"), "y": args.operand("y")}

    def bind_call(self, call, n_inputs):
        if getattr(self, "_from_keras3_config", False):  # Keras 3: constants among the positional args
            condition, x, y = keras3_operands(call, 3)
            if condition is not None:
                raise UnsupportedLayerError("Where has a constant condition", hint="use a tensor condition")
            return dataclasses.replace(self, x=x, y=y)
        return super().bind_call(call, n_inputs)

    def keras3_args(self, refs):
        pending = iter(refs)
        return [next(pending)] + [next(pending) if v is None else keras3_constant(v) for v in (self.x, self.y)]

    def tf_call(self, n_inputs: int):
        return TENSOR, {"x": TENSOR if self.x is None else self.x, "y": TENSOR if self.y is None else self.y}

    def _branches(self, xs: list) -> list:
        rest = iter(xs[1:])
        return [next(rest) if v is None else ("const", v) for v in (self.x, self.y)]

    def output_shapes(self, in_shapes):
        rest = iter(in_shapes[1:])
        shapes = [next(rest) if v is None else np.shape(as_float32(v)) for v in (self.x, self.y)]
        return [broadcast(broadcast(in_shapes[0], shapes[0]), shapes[1])]


    def reference(self, xs, w):
        a, b = (v if not isinstance(v, tuple) else as_float32(v[1]) for v in self._branches(xs))
        return [np.where(xs[0], a, b).astype(np.float32)]

    def to_onnx(self, g, xs, w, node):
        a, b = (v if isinstance(v, str) else g.const(as_float32(v[1])) for v in self._branches(xs))
        return [g.op("Where", [xs[0], a, b])]

    def to_torch(self, t, xs, w, node):
        from kport.ops.merge_common import _torch_constant

        names = []
        for v in self._branches(xs):
            if isinstance(v, str):
                names.append(v)
            else:
                value = as_float32(v[1])
                names.append(_torch_constant(t, value.reshape(value.shape or (1,)), w))
        return [t.line(f"torch.where({xs[0]}, {names[0]}, {names[1]})")]
