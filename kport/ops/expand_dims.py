"""ExpandDims: Keras 3's `ops.expand_dims` as a functional-model node (used by recorded mask logic)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import Op


@dataclass
class ExpandDims(Op):
    kind = "ExpandDims"
    keras_classes = ("ExpandDims",)

    axis: int | tuple = 0

    def _axes(self, rank: int) -> list[int]:
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        out_rank = rank + len(axes)
        return sorted(a % out_rank for a in axes)

    def output_shapes(self, in_shapes):
        shape = list(in_shapes[0])
        for a in self._axes(len(shape)):
            shape.insert(a, 1)
        return [tuple(shape)]

    def reference(self, xs, w):
        x = np.asarray(xs[0])
        return [np.expand_dims(x, tuple(self._axes(x.ndim)))]

    def to_torch(self, t, xs, w, node):
        y = xs[0]
        for a in self._axes(len(node.in_shapes[0])):
            y = t.line(f"{y}.unsqueeze({a})")
        return [y]

    def to_onnx(self, g, xs, w, node):
        return [g.op("Unsqueeze", [xs[0], g.ints(self._axes(len(node.in_shapes[0])))])]

    def keras_node(self, flavor, refs, node):
        """An operation, not a layer: Keras 3 gets its ExpandDims operation, tf.keras `tf.expand_dims`."""
        from kport.ops.tf_expand_dims import TFExpandDims

        axis = self.axis if isinstance(self.axis, int) or flavor == "keras3" else None
        if axis is None:
            from kport.errors import ExportError

            raise ExportError(f"ExpandDims over several axes {self.axis} has no tf.keras form", layer=node.layer,
                              hint="write a Keras 3 file (--to keras), ONNX or PyTorch instead")
        op = TFExpandDims(axis=axis)
        if flavor == "keras3":
            axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
            return {**op.keras3_node(refs, node), "config": {"axis": axis}}
        return {**op.keras_node(flavor, refs, node), "class_name": "TFOpLambda",
                "config": {"trainable": True, "dtype": "float32", "function": op.function}}
