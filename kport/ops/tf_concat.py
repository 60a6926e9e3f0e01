"""TFConcat: `tf.concat([a, b, ...], axis)` and `tf.stack([a, b, ...], axis)` on tensors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ShapeError
from kport.ops.onnx_common import unsqueeze
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFConcat(TFFunctionOp):
    kind = "TFConcat"
    keras_classes = tf_classes("concat", "stack")
    # Keras 3's Concatenate reads back as kport's Concatenate layer (the same arithmetic)
    keras3_ops = {"concat": ("keras.src.ops.numpy", "Concatenate", {"axis": "axis"}),
                  "stack": ("keras.src.ops.numpy", "Stack", {"axis": "axis"})}
    keras3_list_args = ("Concatenate", "Stack")

    function: str = "concat"
    axis: int = 0

    def read_call(self, args):
        if any(v is not None for v in args.first_list()):
            raise args.refuse("joins constants with tensors; kport converts lists of tensors only")
        axis = args.constant("axis", 0)
        if not isinstance(axis, int):
            raise args.refuse(f"has axis {axis}; kport converts one constant int axis")
        return {"axis": axis}

    def tf_call(self, n_inputs: int):
        return [TENSOR] * n_inputs, {"axis": self.axis}

    def _axis(self, rank: int) -> int:
        return self.axis % (rank + 1 if self.function == "stack" else rank)

    def output_shapes(self, in_shapes):
        rank = len(in_shapes[0])
        if any(len(s) != rank for s in in_shapes):
            raise ShapeError(f"tf.{self.function} needs inputs of one rank, got {in_shapes}")
        axis = self._axis(rank)
        if self.function == "stack":
            shape = list(in_shapes[0])
            shape.insert(axis, len(in_shapes))
            return [tuple(shape)]
        sizes = [s[axis] for s in in_shapes]
        shape = list(in_shapes[0])
        shape[axis] = None if None in sizes else sum(sizes)
        return [tuple(shape)]

    def reference(self, xs, w):
        axis = self._axis(xs[0].ndim)
        return [np.stack(xs, axis) if self.function == "stack" else np.concatenate(xs, axis)]

    def to_onnx(self, g, xs, w, node):
        axis = self._axis(len(node.in_shapes[0]))
        if self.function == "stack":
            xs = [unsqueeze(g, x, [axis]) for x in xs]
        return [g.op("Concat", xs, axis=axis)]

    def to_torch(self, t, xs, w, node):
        axis = self._axis(len(node.in_shapes[0]))
        fn = "torch.stack" if self.function == "stack" else "torch.cat"
        return [t.line(f"{fn}([{', '.join(xs)}], dim={axis})")]
