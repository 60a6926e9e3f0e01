"""RepeatVector: (batch, features) -> (batch, n, features)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import Op, require_rank
from kport.ops.onnx_common import unsqueeze


@dataclass
class RepeatVector(Op):
    kind = "RepeatVector"
    keras_classes = ("RepeatVector",)

    n: int = 1

    def output_shapes(self, in_shapes):
        require_rank(in_shapes[0], 2, self.kind)
        return [(in_shapes[0][0], self.n, in_shapes[0][1])]

    def reference(self, xs, w):
        return [np.repeat(xs[0][:, None, :], self.n, axis=1)]

    def to_onnx(self, g, xs, w, node):
        return [g.op("Tile", [unsqueeze(g, xs[0], [1]), g.ints([1, self.n, 1])])]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"{xs[0]}.unsqueeze(1).repeat(1, {self.n}, 1)")]
