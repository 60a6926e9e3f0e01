"""Flatten: collapses every axis but the batch.

`data_format='channels_first'` means what Keras >= 2.2 does: move the channel
axis last, then flatten, so the output is in HWC order. Keras 1 and 2.0-2.1
had no such argument and flattened the tensor as stored (CHW for a
channels_first tensor); those files import as 'channels_last' (a plain
reshape), which keeps the following Dense rows in their saved CHW order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import ImportContext, Op
from kport.ops.conv_common import normalize_data_format


def _flattens_as_stored(ctx: ImportContext) -> bool:
    """True for Keras versions whose Flatten ignored the data format (before 2.2)."""
    if ctx.keras_major == 1:
        return True
    parts = str(ctx.keras_version or "").split(".")
    try:
        return int(parts[0]) == 2 and int(parts[1]) < 2 and ctx.flavor == "keras"
    except (ValueError, IndexError):
        return False


@dataclass
class Flatten(Op):
    kind = "Flatten"
    keras_classes = ("Flatten",)

    data_format: str = "channels_last"

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Flatten":
        if _flattens_as_stored(ctx):
            return cls()
        return cls(data_format=normalize_data_format(config.get("data_format")))

    def output_shapes(self, in_shapes):
        rest = in_shapes[0][1:]
        size = None if None in rest else int(np.prod(rest, dtype=np.int64))
        return [(in_shapes[0][0], size)]

    def reference(self, xs, w):
        x = xs[0]
        if self.data_format == "channels_first" and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        return [np.ascontiguousarray(x).reshape(x.shape[0], -1)]

    def to_onnx(self, g, xs, w, node):
        x = xs[0]
        rank = len(node.in_shapes[0])
        if self.data_format == "channels_first" and rank > 2:
            x = g.op("Transpose", [x], perm=[0, *range(2, rank), 1])
        return [g.op("Flatten", [x], axis=1)]

    def to_torch(self, t, xs, w, node):
        x = xs[0]
        rank = len(node.in_shapes[0])
        if self.data_format == "channels_first" and rank > 2:
            x = t.line(f"{x}.movedim(1, -1)")
        return [t.line(f"{x}.reshape({x}.shape[0], -1)")]
