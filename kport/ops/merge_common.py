"""Shared base of the element-wise merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum).

Keras broadcasts merge inputs: non-batch shapes align from the right, and a
lower-rank input gets size-1 axes inserted after the batch axis before the
arithmetic. The inputs are combined left to right, one binary op at a time,
in the order Keras does, so float rounding matches.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import Op
from kport.ops.onnx_common import unsqueeze


@dataclass
class ElementwiseMerge(Op):
    """A merge of two or more same-shaped (or broadcastable) tensors."""

    # the ONNX binary op that folds the inputs together, left to right
    onnx_binary: ClassVar[str] = ""
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None

    def combine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The numpy binary step."""
        raise NotImplementedError

    def output_shapes(self, in_shapes):
        n = len(in_shapes)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = f"exactly {self.min_inputs}" if self.max_inputs == self.min_inputs else f"at least {self.min_inputs}"
            raise ShapeError(f"{self.kind} takes {want} inputs, got {n}")
        out = list(in_shapes[0][1:])
        for shape in in_shapes[1:]:
            out = _broadcast(out, list(shape[1:]), in_shapes)
        batch = next((s[0] for s in in_shapes if s[0] is not None), None)
        return [(batch, *out)]

    def reference(self, xs, w):
        rank = max(x.ndim for x in xs)
        xs = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]
        y = xs[0]
        for x in xs[1:]:
            y = self.combine(y, x)
        return [self.finish(y, len(xs)).astype(xs[0].dtype)]

    def finish(self, y: np.ndarray, n: int) -> np.ndarray:
        """A last step after the fold (Average divides)."""
        return y

    def to_onnx(self, g, xs, w, node):
        rank = max(len(s) for s in node.in_shapes)
        names = [unsqueeze(g, x, range(1, 1 + rank - len(s))) if len(s) < rank else x
                 for x, s in zip(xs, node.in_shapes)]
        y = names[0]
        for x in names[1:]:
            y = g.op(self.onnx_binary, [y, x])
        return [self.finish_onnx(g, y, len(xs))]

    def finish_onnx(self, g, y: str, n: int) -> str:
        """The ONNX form of `finish`."""
        return y

    def torch_binary(self, a: str, b: str) -> str:
        """The PyTorch expression of the binary step."""
        raise NotImplementedError

    def finish_torch(self, y: str, n: int) -> str:
        """The PyTorch expression of `finish`."""
        return y

    def to_torch(self, t, xs, w, node):
        rank = max(len(s) for s in node.in_shapes)
        names = [f"{x}[:, {', '.join(['None'] * (rank - len(s)))}]" if len(s) < rank else x
                 for x, s in zip(xs, node.in_shapes)]
        y = names[0]
        for x in names[1:]:
            y = self.torch_binary(y, x)
        return [t.line(self.finish_torch(y, len(xs)))]


def _broadcast(a: list, b: list, in_shapes) -> list:
    if len(a) < len(b):
        a, b = b, a
    out = a[: len(a) - len(b)]
    for i, j in zip(a[len(a) - len(b):], b):
        if i is None or j is None:
            out.append(None if 1 in (i, j) or i != j else i)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            raise ShapeError(f"merge inputs have incompatible shapes {in_shapes}")
        else:
            out.append(i)
    return out
