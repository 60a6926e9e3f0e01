"""TFCumSum: `tf.math.cumsum(x, axis, exclusive, reverse)`."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFCumSum(TFFunctionOp):
    kind = "TFCumSum"
    keras_classes = tf_classes("math.cumsum")
    keras3_refusal: ClassVar[str] = "Keras 3 ops.cumsum has no exclusive or reverse"
    keras3_ops = {"math.cumsum": ("keras.src.ops.numpy", "Cumsum", {"axis": "axis"})}

    def keras3_node(self, refs, node):
        if self.exclusive or self.reverse:
            return dataclasses.replace(self, function="cumsum (exclusive or reverse)").keras3_node(refs, node)
        return super().keras3_node(refs, node)

    function: str = "math.cumsum"
    axis: int = 0
    exclusive: bool = False
    reverse: bool = False

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("sums a constant or a list")
        axis = args.constant("axis", 0)
        if not isinstance(axis, int):
            raise args.refuse(f"has axis {axis!r}; kport converts one constant int axis")
        return {"axis": axis, "exclusive": bool(args.constant("exclusive", False)),
                "reverse": bool(args.constant("reverse", False))}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"axis": self.axis, "exclusive": self.exclusive, "reverse": self.reverse}

    def reference(self, xs, w):
        x = xs[0]
        axis = self.axis % x.ndim
        y = np.flip(x, axis) if self.reverse else x
        y = np.cumsum(y, axis=axis, dtype=x.dtype)
        if self.exclusive:  # shift by one: each position sums the elements before it
            y = np.concatenate([np.zeros_like(np.take(y, [0], axis)), np.delete(y, -1, axis)], axis)
        return [np.ascontiguousarray(np.flip(y, axis) if self.reverse else y)]

    def to_onnx(self, g, xs, w, node):
        axis = self.axis % len(node.in_shapes[0])
        return [g.op("CumSum", [xs[0], g.const(np.array(axis, np.int64))], exclusive=int(self.exclusive),
                     reverse=int(self.reverse))]

    def to_torch(self, t, xs, w, node):
        axis = self.axis % len(node.in_shapes[0])
        y = t.line(f"torch.flip({xs[0]}, dims=[{axis}])") if self.reverse else xs[0]
        y = t.line(f"torch.cumsum({y}, dim={axis})")
        if self.exclusive:
            y = t.line(f"torch.cat([torch.zeros_like({y}.narrow({axis}, 0, 1)), "
                       f"{y}.narrow({axis}, 0, {y}.size({axis}) - 1)], dim={axis})")
        return [t.line(f"torch.flip({y}, dims=[{axis}])") if self.reverse else y]
