"""LogicalOr: Keras 3's `ops.logical_or` as a functional-model node (merge layers OR their masks)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.base import Op
from kport.ops.not_equal import broadcast_shapes


@dataclass
class LogicalOr(Op):
    kind = "LogicalOr"
    keras_classes = ("LogicalOr",)
    output_dtype: ClassVar[str] = "bool"

    def output_shapes(self, in_shapes):
        return [broadcast_shapes(in_shapes[0], in_shapes[1])]

    def reference(self, xs, w):
        return [np.logical_or(np.asarray(xs[0]).astype(bool), np.asarray(xs[1]).astype(bool))]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"torch.logical_or({xs[0]}.to(torch.bool), {xs[1]}.to(torch.bool))")]

    def to_onnx(self, g, xs, w, node):
        return [g.op("Or", [g.op("Cast", [xs[0]], to=9), g.op("Cast", [xs[1]], to=9)])]
