"""Permute: reorders the non-batch axes; `dims` are 1-based, as Keras writes them."""
from __future__ import annotations

from dataclasses import dataclass

from kport.errors import ShapeError
from kport.ops.base import Op


@dataclass
class Permute(Op):
    kind = "Permute"
    keras_classes = ("Permute",)

    dims: tuple[int, ...] = ()

    def _perm(self, rank: int) -> list[int]:
        perm = [0, *(int(d) for d in self.dims)]
        if sorted(perm) != list(range(rank)):
            raise ShapeError(f"Permute dims {self.dims} do not reorder axes 1..{rank - 1}",
                             hint="dims must be a permutation of 1..rank-1")
        return perm

    def output_shapes(self, in_shapes):
        shape = in_shapes[0]
        return [tuple(shape[p] for p in self._perm(len(shape)))]

    def reference(self, xs, w):
        return [xs[0].transpose(self._perm(xs[0].ndim))]

    def to_onnx(self, g, xs, w, node):
        return [g.op("Transpose", [xs[0]], perm=self._perm(len(node.in_shapes[0])))]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"{xs[0]}.permute({self._perm(len(node.in_shapes[0]))})")]
