"""NotEqual: Keras 3's `ops.not_equal` as a functional-model node (how Keras 3 records masks).

Its second operand is a tensor input or a scalar that the importer keeps in the
call record (`call['positional']`, None where a tensor went).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import Op


def broadcast_shapes(a, b) -> tuple:
    """The numpy-broadcast shape of two IR shapes (None = unknown size)."""
    if len(a) < len(b):
        a, b = b, a
    b = (1,) * (len(a) - len(b)) + tuple(b)
    return tuple(y if x == 1 else x for x, y in zip(a, b))


@dataclass
class NotEqual(Op):
    kind = "NotEqual"
    keras_classes = ("NotEqual",)
    output_dtype: ClassVar[str] = "bool"

    def output_shapes(self, in_shapes):
        return [broadcast_shapes(in_shapes[0], in_shapes[1]) if len(in_shapes) > 1 else tuple(in_shapes[0])]

    def reference(self, xs, w):
        return self.reference_node(xs, w, {})

    def reference_node(self, xs, w, call):
        a, b = _operands(xs, call)
        return [np.asarray(a) != np.asarray(b, dtype=np.asarray(a).dtype)]

    def to_torch(self, t, xs, w, node):
        a, b = _operands(xs, node.call)
        other = f"{b}.to(torch.float32)" if isinstance(b, str) else repr(float(b))
        return [t.line(f"{a}.to(torch.float32) != {other}")]

    def to_onnx(self, g, xs, w, node):
        a, b = _operands(xs, node.call)
        a = g.op("Cast", [a], to=1)
        b = g.op("Cast", [b], to=1) if isinstance(b, str) else g.const(np.array(b, np.float32))
        return [g.op("Not", [g.op("Equal", [a, b])])]


def _operands(xs, call):
    positional = (call or {}).get("positional")
    if len(xs) >= 2:
        return xs[0], xs[1]
    if positional:
        scalars = [p for p in positional if p is not None]
        if scalars:
            return xs[0], scalars[0]
    raise ShapeError("NotEqual needs two operands: the file records only one",
                     hint="the Keras 3 config lost the scalar operand; re-save the model with Keras 3")
