"""Merge (Keras 0.x/1.x): one layer for every merge mode, `merge()` and `Merge([...])`.

Modes sum, mul, ave, max, concat, dot and cos, with Keras 1.2.2 / Theano
semantics: `dot` is `batch_dot` (the batch axis is kept, `dot_axes` count it as
axis 0, a rank-1 result gets a trailing axis of 1), and `cos` divides by
max(sqrt(<a,a><b,b>), 1e-7) and then inserts an axis at 1, so two `(batch, n)`
inputs give `(batch, 1, 1)` (Keras's declared shape said `(batch, 1)`; Theano's
actual output is what models were trained on).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ExportError, ShapeError, UnsupportedLayerError
from kport.ops.base import ImportContext, Op
from kport.ops.onnx_common import unsqueeze

MODES = ("sum", "mul", "ave", "max", "concat", "dot", "cos")
KERAS1_EPSILON = 1e-7  # keras.backend.epsilon() in Keras 1
_KERAS_CLASSES = {"sum": "Add", "mul": "Multiply", "ave": "Average", "max": "Maximum", "concat": "Concatenate",
                  "dot": "Dot"}


@dataclass
class Merge(Op):
    kind = "Merge"
    keras_classes = ("Merge",)

    mode: str = "sum"
    concat_axis: int = -1
    dot_axes: tuple[int, ...] = (-1, -1)

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Merge":
        op = super().from_keras(config, ctx)
        if op.mode not in MODES:
            raise UnsupportedLayerError(f"unknown Merge mode '{op.mode}'", hint=f"Keras 1 modes are {', '.join(MODES)}")
        axes = config.get("dot_axes", -1)
        op.dot_axes = (int(axes), int(axes)) if isinstance(axes, (int, float)) else tuple(int(a) for a in axes)
        return op

    # ---- Keras 2/3 writers: the layer each mode became -----------------------------
    @property
    def keras_class(self) -> str:
        return _KERAS_CLASSES.get(self.mode, "Merge")

    def keras_config(self, flavor: str = "keras3") -> dict:
        if self.mode == "cos":  # two (batch, n) inputs are a construction (exporters/keras/constructions_legacy.py)
            raise ExportError(f"Merge mode 'cos' has no exact {flavor} form here: kport writes it only for two "
                              "(batch, n) inputs", hint="export to ONNX or torch")
        if self.mode == "concat":
            return {"axis": self.concat_axis}
        if self.mode == "dot":  # Keras 1 batch_dot axes count the batch axis, as Dot's do
            return {"axes": list(self.dot_axes), "normalize": False}
        return {}

    # ---- shapes ----------------------------------------------------------------
    def _dot_axes(self, rank_a: int, rank_b: int) -> tuple[int, int]:
        return self.dot_axes[0] % rank_a, self.dot_axes[1] % rank_b

    def output_shapes(self, in_shapes):
        if len(in_shapes) < 2:
            raise ShapeError(f"Merge takes at least 2 inputs, got {len(in_shapes)}")
        if self.mode in ("dot", "cos"):
            if len(in_shapes) != 2:
                raise ShapeError(f"Merge mode '{self.mode}' takes exactly 2 inputs, got {len(in_shapes)}")
            a, b = in_shapes
            ax, bx = self._dot_axes(len(a), len(b))
            if a[ax] is not None and b[bx] is not None and a[ax] != b[bx]:
                raise ShapeError(f"Merge '{self.mode}' axes {ax}, {bx} differ in size: {a} vs {b}")
            rest = [d for i, d in enumerate(a) if i not in (0, ax)] + [d for i, d in enumerate(b) if i not in (0, bx)]
            if not rest:
                rest = [1]
            if self.mode == "cos":
                rest = [1] + rest
            return [(a[0], *rest)]
        if self.mode == "concat":
            rank = len(in_shapes[0])
            axis = self.concat_axis % rank
            out = list(in_shapes[0])
            sizes = [s[axis] for s in in_shapes]
            out[axis] = None if None in sizes else int(sum(sizes))
            return [tuple(out)]
        if len({tuple(s[1:]) for s in in_shapes}) > 1:
            raise ShapeError(f"Merge mode '{self.mode}' needs inputs of one shape, got {in_shapes}")
        return [in_shapes[0]]

    # ---- numpy reference ---------------------------------------------------------
    def reference(self, xs, w):
        dtype = xs[0].dtype
        if self.mode == "concat":
            return [np.concatenate(xs, axis=self.concat_axis % xs[0].ndim)]
        if self.mode in ("dot", "cos"):
            a, b = xs
            axes = self._dot_axes(a.ndim, b.ndim)
            num = _batch_dot(a, b, axes)
            if self.mode == "dot":
                return [num.astype(dtype)]
            den = np.sqrt(_batch_dot(a, a, (axes[0], axes[0])) * _batch_dot(b, b, (axes[1], axes[1])))
            return [np.expand_dims(num / np.maximum(den, KERAS1_EPSILON), 1).astype(dtype)]
        y = xs[0]
        for x in xs[1:]:
            y = {"sum": np.add, "ave": np.add, "mul": np.multiply, "max": np.maximum}[self.mode](y, x)
        if self.mode == "ave":
            y = y / np.asarray(len(xs), dtype)
        return [y.astype(dtype)]

    # ---- ONNX ---------------------------------------------------------------------
    def to_onnx(self, g, xs, w, node):
        shapes = node.in_shapes
        if self.mode == "concat":
            return [g.op("Concat", list(xs), axis=self.concat_axis % len(shapes[0]))]
        if self.mode in ("dot", "cos"):
            ra, rb = len(shapes[0]), len(shapes[1])
            axes = self._dot_axes(ra, rb)
            num = _onnx_batch_dot(g, xs[0], xs[1], ra, rb, axes)
            if self.mode == "dot":
                return [num]
            aa = _onnx_batch_dot(g, xs[0], xs[0], ra, ra, (axes[0], axes[0]))
            bb = _onnx_batch_dot(g, xs[1], xs[1], rb, rb, (axes[1], axes[1]))
            den = g.op("Max", [g.op("Sqrt", [g.op("Mul", [aa, bb])]), g.const(np.array(KERAS1_EPSILON, np.float32))])
            return [unsqueeze(g, g.op("Div", [num, den]), [1])]
        op_type = {"sum": "Add", "ave": "Add", "mul": "Mul", "max": "Max"}[self.mode]
        y = xs[0]
        for x in xs[1:]:
            y = g.op(op_type, [y, x])
        if self.mode == "ave":
            y = g.op("Div", [y, g.const(np.array(len(xs), np.float32))])
        return [y]


    # ---- torch --------------------------------------------------------------------
    def to_torch(self, t, xs, w, node):
        shapes = node.in_shapes
        if self.mode == "concat":
            return [t.line(f"torch.cat([{', '.join(xs)}], dim={self.concat_axis % len(shapes[0])})")]
        if self.mode in ("dot", "cos"):
            ra, rb = len(shapes[0]), len(shapes[1])
            axes = self._dot_axes(ra, rb)

            def bdot(a, b, r1, r2, ax):
                ea, eb = _einsum_terms(r1, r2, ax)
                expr = f"torch.einsum('{ea},{eb}', {a}, {b})"
                return t.line(f"{expr}.unsqueeze(1)" if r1 + r2 - 3 == 1 else expr)

            num = bdot(xs[0], xs[1], ra, rb, axes)
            if self.mode == "dot":
                return [num]
            aa = bdot(xs[0], xs[0], ra, ra, (axes[0], axes[0]))
            bb = bdot(xs[1], xs[1], rb, rb, (axes[1], axes[1]))
            return [t.line(f"({num} / torch.clamp(torch.sqrt({aa} * {bb}), min={KERAS1_EPSILON})).unsqueeze(1)")]
        y = xs[0]
        for x in xs[1:]:
            y = t.line(f"torch.maximum({y}, {x})" if self.mode == "max"
                       else f"{y} {'*' if self.mode == 'mul' else '+'} {x}")
        return [t.line(f"{y} / {float(len(xs))}") if self.mode == "ave" else y]


def _batch_dot(a: np.ndarray, b: np.ndarray, axes: tuple[int, int]) -> np.ndarray:
    """Theano's batched_tensordot over one axis pair, then a rank-1 result gets a trailing axis."""
    ea, eb = _einsum_terms(a.ndim, b.ndim, axes)
    out = np.einsum(f"{ea},{eb}", a, b)
    return out[:, None] if out.ndim == 1 else out


def _onnx_batch_dot(g, a: str, b: str, ra: int, rb: int, axes: tuple[int, int]) -> str:
    ea, eb = _einsum_terms(ra, rb, axes)
    out = g.op("Einsum", [a, b], equation=f"{ea},{eb}")
    return unsqueeze(g, out, [1]) if ra + rb - 3 == 1 else out


def _einsum_terms(ra: int, rb: int, axes: tuple[int, int]) -> tuple[str, str]:
    """Einsum subscripts: shared batch 'a', shared contracted 'z', free axes get their own letters."""
    letters = iter("bcdefghijklmnopqrstuvwxy")
    ta = ["a"] + ["z" if i == axes[0] else next(letters) for i in range(1, ra)]
    tb = ["a"] + ["z" if i == axes[1] else next(letters) for i in range(1, rb)]
    out = "a" + "".join(c for c in ta[1:] + tb[1:] if c != "z")
    return "".join(ta), "".join(tb) + "->" + out
