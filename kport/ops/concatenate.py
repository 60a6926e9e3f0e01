"""Concatenate: joins its inputs along `axis` (default: the last)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import Op


@dataclass
class Concatenate(Op):
    kind = "Concatenate"
    keras_classes = ("Concatenate",)

    axis: int = -1

    def _axis(self, rank: int) -> int:
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ShapeError(f"Concatenate axis {self.axis} is not a non-batch axis of a rank-{rank} input")
        return self.axis % rank

    def output_shapes(self, in_shapes):
        rank = len(in_shapes[0])
        if any(len(s) != rank for s in in_shapes):
            raise ShapeError(f"Concatenate inputs must have the same rank, got {in_shapes}")
        axis = self._axis(rank)
        sizes = [s[axis] for s in in_shapes]
        out = list(in_shapes[0])
        out[axis] = None if None in sizes else int(sum(sizes))
        for i in range(1, rank):
            if i != axis:
                known = {s[i] for s in in_shapes} - {None}
                if len(known) > 1:
                    raise ShapeError(f"Concatenate inputs differ off the join axis: {in_shapes}")
                out[i] = known.pop() if known else None
        return [tuple(out)]

    def reference(self, xs, w):
        return [np.concatenate(xs, axis=self._axis(xs[0].ndim))]

    def to_onnx(self, g, xs, w, node):
        return [g.op("Concat", list(xs), axis=self._axis(len(node.in_shapes[0])))]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"torch.cat([{', '.join(xs)}], dim={self._axis(len(node.in_shapes[0]))})")]
