"""TFReduce: TensorFlow reductions (`tf.math.reduce_mean(x, axis=[1], keepdims=True)`, sum, max, min, prod)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.onnx_common import reduce
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes

# TF function -> (numpy reduction, ONNX op, torch function)
_FUNCTIONS = {
    "math.reduce_mean": (np.mean, "ReduceMean", "torch.mean"),
    "math.reduce_sum": (np.sum, "ReduceSum", "torch.sum"),
    "math.reduce_max": (np.max, "ReduceMax", "torch.amax"),
    "math.reduce_min": (np.min, "ReduceMin", "torch.amin"),
    "math.reduce_prod": (np.prod, "ReduceProd", "torch.prod"),
}


@dataclass
class TFReduce(TFFunctionOp):
    kind = "TFReduce"
    keras_classes = tf_classes(*_FUNCTIONS)
    keras3_refusal: ClassVar[str] = "not written yet (Keras 3 has ops.mean & co.; kport does not map them)"

    function: str = "math.reduce_mean"
    # None reduces every axis, the batch included
    axis: int | tuple | None = None
    keepdims: bool = False

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("takes a constant or a list as its operand")
        return {"axis": args.constant("axis"), "keepdims": bool(args.constant("keepdims", False))}

    def tf_call(self, n_inputs: int):
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return TENSOR, {"axis": axis, "keepdims": self.keepdims}

    def _axes(self, rank: int) -> list[int]:
        if self.axis is None:
            return list(range(rank))
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        return sorted({int(a) % rank for a in axes})

    def output_shapes(self, in_shapes):
        shape = tuple(in_shapes[0])
        axes = self._axes(len(shape))
        if self.keepdims:
            return [tuple(1 if i in axes else d for i, d in enumerate(shape))]
        return [tuple(d for i, d in enumerate(shape) if i not in axes)]

    def reference(self, xs, w):
        x = xs[0]
        y = _FUNCTIONS[self.function][0](x, axis=tuple(self._axes(x.ndim)), keepdims=self.keepdims)
        return [np.asarray(y, dtype=x.dtype)]

    def to_onnx(self, g, xs, w, node):
        axes = self._axes(len(node.in_shapes[0]))
        return [reduce(g, _FUNCTIONS[self.function][1], xs[0], axes, self.keepdims)]

    def to_torch(self, t, xs, w, node):
        axes = self._axes(len(node.in_shapes[0]))
        fn = _FUNCTIONS[self.function][2]
        if fn != "torch.prod":
            return [t.line(f"{fn}({xs[0]}, dim={axes}, keepdim={self.keepdims})")]
        y = xs[0]
        for a in sorted(axes, reverse=True):  # torch.prod takes one axis at a time
            y = t.line(f"torch.prod({y}, dim={a}, keepdim={self.keepdims})")
        return [y]
