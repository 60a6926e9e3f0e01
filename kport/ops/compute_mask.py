"""ComputeMask: an IR-internal op making the boolean (batch, time) mask Keras propagates implicitly.

Keras 1/2, tf.keras and Keras 3 Sequential models pass masks between layers
without recording them; the importer (`kport/importers/masks.py`) makes them
explicit with this op and feeds them to mask-consuming nodes as their
'tensor:mask' input. Modes:
- `not_equal`: x != value (Embedding(mask_zero=True) on its ids),
- `any_not_equal`: any(x != value) over the last axis (Masking),
- `and`: the logical and of every input mask (Keras 2 / tf.keras merge layers),
- `or`: the logical or (Keras 3 merge layers).
It is not a Keras layer: Keras writers skip ops marked `internal`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import Op

MODES = ("not_equal", "any_not_equal", "and", "or")


@dataclass
class ComputeMask(Op):
    kind = "ComputeMask"
    keras_classes = ()
    internal: ClassVar[bool] = True
    output_dtype: ClassVar[str] = "bool"

    mode: str = "not_equal"
    value: float = 0.0

    def __post_init__(self):
        if self.mode not in MODES:
            raise ShapeError(f"ComputeMask mode '{self.mode}' is not one of {MODES}")

    def output_shapes(self, in_shapes):
        if self.mode == "any_not_equal":
            return [tuple(in_shapes[0][:-1])]
        return [tuple(in_shapes[0])]

    def reference(self, xs, w):
        if self.mode in ("and", "or"):
            out = np.asarray(xs[0]).astype(bool)
            for m in xs[1:]:
                out = (out & np.asarray(m).astype(bool)) if self.mode == "and" else (out | np.asarray(m).astype(bool))
            return [out]
        differs = np.asarray(xs[0]) != np.asarray(self.value, dtype=np.asarray(xs[0]).dtype)
        return [differs.any(axis=-1) if self.mode == "any_not_equal" else differs]

    def to_torch(self, t, xs, w, node):
        if self.mode in ("and", "or"):
            joined = f" {'&' if self.mode == 'and' else '|'} ".join(f"{m}.to(torch.bool)" for m in xs)
            return [t.line(joined)]
        differs = t.line(f"{xs[0]}.to(torch.float32) != {float(self.value)!r}")
        return [t.line(f"torch.any({differs}, dim=-1)") if self.mode == "any_not_equal" else differs]

    def to_onnx(self, g, xs, w, node):
        if self.mode in ("and", "or"):
            out = g.op("Cast", [xs[0]], to=9)
            for m in xs[1:]:
                out = g.op("And" if self.mode == "and" else "Or", [out, g.op("Cast", [m], to=9)])
            return [out]
        x = g.op("Cast", [xs[0]], to=1)  # float32: ids and values compare alike
        differs = g.op("Not", [g.op("Equal", [x, g.const(np.array(self.value, np.float32))])])
        if self.mode == "not_equal":
            return [differs]
        as_float = g.op("Cast", [differs], to=1)
        if g.opset >= 18:
            reduced = g.op("ReduceMax", [as_float, g.ints([-1])], keepdims=0)
        else:
            reduced = g.op("ReduceMax", [as_float], axes=[-1], keepdims=0)
        return [g.op("Cast", [reduced], to=9)]
