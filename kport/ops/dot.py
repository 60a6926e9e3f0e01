"""Dot: per-sample dot product of two tensors over one axis each (`axes`), optionally cosine.

Output axes are the first input's remaining axes, then the second's (batch
once); two vectors give (batch, 1). With `normalize`, each input is divided
by its L2 norm along the contracted axis, floored as the writing Keras did:
Keras 3 floors the norm at 1e-7 (sum of squares 1e-14), TensorFlow's
l2_normalize the sum of squares at 1e-12, Theano's at 1e-7.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ShapeError, UnsupportedLayerError
from kport.ops.base import ImportContext, Op
from kport.ops.onnx_common import reduce, scalar

_LETTERS = "cdefghijklmnopqrstuvwxyz"


@dataclass
class Dot(Op):
    kind = "Dot"
    keras_classes = ("Dot",)

    axes: int | tuple[int, int] = -1
    normalize: bool = False
    # floor on the sum of squares when normalizing (depends on the writer, see above)
    norm_floor: float = 1e-12

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Dot":
        if "axes" not in config:  # keras.ops.dot: numpy's dot, not the batched Dot layer (which saves axes)
            raise UnsupportedLayerError("the Keras 3 operation keras.ops.dot is not supported",
                                        hint="use keras.ops.matmul / einsum, or the Dot layer")
        op = super().from_keras(config, ctx)
        if ctx.flavor == "keras3" or ctx.keras_major >= 3:
            op.norm_floor = 1e-14
        elif ctx.backend == "theano":
            op.norm_floor = 1e-7
        return op

    def keras_config(self, flavor: str = "keras3") -> dict:
        cfg = super().keras_config(flavor)
        del cfg["norm_floor"]  # not a Keras argument: the reading Keras applies its own
        return cfg

    def pair(self, rank1: int, rank2: int) -> tuple[int, int]:
        """The contracted axis of each input, non-negative."""
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        a1, a2 = axes[0] % rank1, axes[1] % rank2
        if a1 == 0 or a2 == 0:
            raise ShapeError(f"Dot axes {self.axes} include the batch axis")
        return a1, a2

    def output_shapes(self, in_shapes):
        if len(in_shapes) != 2:
            raise ShapeError(f"Dot takes exactly 2 inputs, got {len(in_shapes)}")
        s1, s2 = list(in_shapes[0]), list(in_shapes[1])
        a1, a2 = self.pair(len(s1), len(s2))
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ShapeError(f"Dot contracts axes of different sizes: {in_shapes} on axes {self.axes}")
        out = s1[:a1] + s1[a1 + 1:] + [d for i, d in enumerate(s2) if i not in (0, a2)]
        return [tuple(out + [1] if len(out) == 1 else out)]

    def _equation(self, rank1: int, rank2: int) -> str:
        a1, a2 = self.pair(rank1, rank2)
        letters = iter(_LETTERS)
        t1 = ["b"] + [next(letters) for _ in range(rank1 - 1)]
        t2 = ["b"] + [next(letters) for _ in range(rank2 - 1)]
        t2[a2] = t1[a1]
        out = [t for i, t in enumerate(t1) if i != a1] + [t for i, t in enumerate(t2) if i not in (0, a2)]
        return f"{''.join(t1)},{''.join(t2)}->{''.join(out)}"

    def reference(self, xs, w):
        x1, x2 = xs
        a1, a2 = self.pair(x1.ndim, x2.ndim)
        if self.normalize:
            x1, x2 = self._l2(x1, a1), self._l2(x2, a2)
        y = np.einsum(self._equation(x1.ndim, x2.ndim), x1, x2)
        return [(y[:, None] if y.ndim == 1 else y).astype(xs[0].dtype)]

    def _l2(self, x: np.ndarray, axis: int) -> np.ndarray:
        ss = np.square(x.astype(np.float64)).sum(axis=axis, keepdims=True)
        return (x / np.sqrt(np.maximum(ss, self.norm_floor))).astype(x.dtype)

    def to_onnx(self, g, xs, w, node):
        r1, r2 = len(node.in_shapes[0]), len(node.in_shapes[1])
        a1, a2 = self.pair(r1, r2)
        x1, x2 = xs
        if self.normalize:
            x1, x2 = self._l2_onnx(g, x1, a1), self._l2_onnx(g, x2, a2)
        # the common forms as plain MatMul / Mul+ReduceSum (wider runtime support than Einsum)
        if r1 == r2 == 2:
            return [reduce(g, "ReduceSum", g.op("Mul", [x1, x2]), [1])]
        if r1 == r2 == 3:
            left = x1 if a1 == 2 else g.op("Transpose", [x1], perm=[0, 2, 1])
            right = x2 if a2 == 1 else g.op("Transpose", [x2], perm=[0, 2, 1])
            return [g.op("MatMul", [left, right])]
        return [g.op("Einsum", [x1, x2], equation=self._equation(r1, r2))]

    def to_torch(self, t, xs, w, node):
        r1, r2 = len(node.in_shapes[0]), len(node.in_shapes[1])
        a1, a2 = self.pair(r1, r2)
        x1, x2 = xs
        if self.normalize:
            x1, x2 = (t.line(f"{x} / torch.sqrt(torch.clamp(({x} * {x}).sum(dim={a}, keepdim=True), "
                             f"min={self.norm_floor!r}))") for x, a in ((x1, a1), (x2, a2)))
        y = t.line(f"torch.einsum('{self._equation(r1, r2)}', [{x1}, {x2}])")
        return [t.line(f"{y}.unsqueeze(1)") if r1 + r2 == 4 else y]

    def _l2_onnx(self, g, x: str, axis: int) -> str:
        ss = reduce(g, "ReduceSum", g.op("Mul", [x, x]), [axis])
        return g.op("Div", [x, g.op("Sqrt", [g.op("Max", [ss, scalar(g, self.norm_floor)])])])
