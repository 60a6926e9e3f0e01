"""TFSqueeze: `tf.squeeze(x, axis)`; without an axis, every axis known to be 1 (the batch axis is kept)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ShapeError
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFSqueeze(TFFunctionOp):
    kind = "TFSqueeze"
    keras_classes = tf_classes("squeeze", "compat.v1.squeeze")
    keras3_ops = {fn: ("keras.src.ops.numpy", "Squeeze", {"axis": "axis"}) for fn in ("squeeze", "compat.v1.squeeze")}

    function: str = "squeeze"
    axis: int | tuple | None = None

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("takes a constant or a list as its operand")
        return {"axis": args.constant("axis")}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}

    def _axes(self, shape) -> list[int]:
        rank = len(shape)
        if self.axis is None:
            return [i for i, d in enumerate(shape) if d == 1]
        axes = sorted({a % rank for a in (self.axis if isinstance(self.axis, tuple) else (self.axis,))})
        bad = [a for a in axes if shape[a] not in (1, None)]
        if bad:
            raise ShapeError(f"cannot squeeze axes {bad} of shape {tuple(shape)}: their size is not 1")
        return axes

    def output_shapes(self, in_shapes):
        axes = self._axes(in_shapes[0])
        return [tuple(d for i, d in enumerate(in_shapes[0]) if i not in axes)]

    def reference(self, xs, w):
        return [np.squeeze(xs[0], tuple(self._axes(xs[0].shape)))]

    def to_onnx(self, g, xs, w, node):
        axes = self._axes(node.in_shapes[0])
        return [g.op("Squeeze", [xs[0], g.ints(axes)])] if axes else [xs[0]]

    def to_torch(self, t, xs, w, node):
        y = xs[0]
        for a in sorted(self._axes(node.in_shapes[0]), reverse=True):
            y = t.line(f"{y}.squeeze({a})")
        return [y]
