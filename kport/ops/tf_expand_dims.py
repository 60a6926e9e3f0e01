"""TFExpandDims: `tf.expand_dims(x, axis)` (one axis; negative counts from the output's end)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.onnx_common import unsqueeze
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFExpandDims(TFFunctionOp):
    kind = "TFExpandDims"
    keras_classes = tf_classes("expand_dims")
    # Keras 3's ExpandDims reads back as kport's ExpandDims op (the same arithmetic)
    keras3_ops = {"expand_dims": ("keras.src.ops.numpy", "ExpandDims", {"axis": "axis"})}

    function: str = "expand_dims"
    axis: int = 0

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("takes a constant or a list as its operand")
        axis = args.constant("axis")
        if not isinstance(axis, int):
            raise args.refuse(f"has axis {axis}; kport converts one constant int axis")
        return {"axis": axis}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"axis": self.axis}

    def _axis(self, rank: int) -> int:
        return self.axis % (rank + 1)

    def output_shapes(self, in_shapes):
        shape = list(in_shapes[0])
        shape.insert(self._axis(len(shape)), 1)
        return [tuple(shape)]

    def reference(self, xs, w):
        return [np.expand_dims(xs[0], self._axis(xs[0].ndim))]

    def to_onnx(self, g, xs, w, node):
        return [unsqueeze(g, xs[0], [self._axis(len(node.in_shapes[0]))])]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"{xs[0]}.unsqueeze({self._axis(len(node.in_shapes[0]))})")]
