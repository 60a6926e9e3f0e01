"""TFReshape: `tf.reshape(x, shape)` with a constant shape (the batch axis included, -1 inferred)."""
from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ShapeError
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFReshape(TFFunctionOp):
    kind = "TFReshape"
    keras_classes = tf_classes("reshape")
    keras3_refusal: ClassVar[str] = "kport writes Keras 3 reshapes that keep the batch axis (-1 first) only"
    # Keras 3 saves ops.reshape as Reshape (its config `newshape`), which kport reads as the Reshape layer
    keras3_ops = {"reshape": ("keras.src.ops.numpy", "Reshape", {"newshape": "shape"})}

    def keras3_node(self, refs, node):
        if not self.shape or self.shape[0] != -1 or -1 in self.shape[1:]:
            return dataclasses.replace(self, function="reshape (batch not kept)").keras3_node(refs, node)
        return super().keras3_node(refs, node)

    function: str = "reshape"
    shape: tuple = ()

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("takes a constant or a list as its operand")
        shape = args.constant("shape")
        if not isinstance(shape, tuple) or not all(isinstance(d, int) for d in shape):
            raise args.refuse(f"has shape {shape}; kport converts only a constant list of ints")
        return {"shape": shape}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"shape": list(self.shape)}

    def output_shapes(self, in_shapes):
        known = [d for d in in_shapes[0] if d is not None]
        total = math.prod(known) if len(known) == len(in_shapes[0]) else None
        out = [None if d == -1 else d for d in self.shape]
        if -1 in self.shape and total is not None:
            rest = math.prod(d for d in self.shape if d != -1)
            if rest == 0 or total % rest:
                raise ShapeError(f"cannot reshape {in_shapes[0]} to {list(self.shape)}")
            out[self.shape.index(-1)] = total // rest
        return [tuple(out)]

    def reference(self, xs, w):
        return [np.reshape(xs[0], self.shape)]

    def to_onnx(self, g, xs, w, node):
        return [g.op("Reshape", [xs[0], g.const(np.array(self.shape, np.int64))])]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"{xs[0]}.reshape({list(self.shape)})")]
