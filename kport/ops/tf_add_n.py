"""TFAddN: `tf.math.add_n([a, b, ...])`: the sum of same-shaped tensors, added left to right."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kport.errors import ShapeError
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFAddN(TFFunctionOp):
    kind = "TFAddN"
    keras_classes = tf_classes("math.add_n")
    keras3_refusal: ClassVar[str] = "not written yet (the Keras 3 form would be an Add layer)"

    function: str = "math.add_n"

    def read_call(self, args):
        if any(v is not None for v in args.first_list()):
            raise args.refuse("adds constants; kport converts lists of tensors only")
        return {}

    def tf_call(self, n_inputs: int):
        return [TENSOR] * n_inputs, {}

    def output_shapes(self, in_shapes):
        if len({len(s) for s in in_shapes}) > 1:
            raise ShapeError(f"tf.math.add_n needs same-shaped inputs, got {in_shapes}")
        return [tuple(next((d for d in dims if d is not None), None) for dims in zip(*in_shapes))]

    def reference(self, xs, w):
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return [y]

    def to_onnx(self, g, xs, w, node):
        y = xs[0]
        for x in xs[1:]:
            y = g.op("Add", [y, x])
        return [y]

    def to_torch(self, t, xs, w, node):
        return [t.line(" + ".join(xs) if len(xs) > 1 else f"{xs[0]}.clone()")]
