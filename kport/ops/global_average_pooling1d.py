"""GlobalAveragePooling1D: mean over the steps (keepdims optional); a Keras mask excludes steps."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.pool_common import GlobalAveragePoolingND


@dataclass
class GlobalAveragePooling1D(GlobalAveragePoolingND):
    kind = "GlobalAveragePooling1D"
    keras_classes = ('GlobalAveragePooling1D', 'GlobalAvgPool1D')
    rank = 1
    # Keras averages over the unmasked steps only (the importer adds the mask as 'tensor:mask')
    accepts_mask: ClassVar[bool] = True

    def steps_axis(self) -> int:
        return self.axes()[0]

    def channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else 2

    def reference_node(self, xs, w, call):
        positions = list((call or {}).get("tensor:mask", []))
        if not positions:
            return self.reference(xs[:1], w)
        x = xs[0]
        mask = np.expand_dims(np.asarray(xs[positions[0]]).astype(bool), self.channel_axis())
        total = np.where(mask, x, 0).sum(axis=self.steps_axis(), keepdims=self.keepdims, dtype=np.float32)
        count = mask.sum(axis=self.steps_axis(), keepdims=self.keepdims, dtype=np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):  # a fully masked row is 0/0 = NaN, as in Keras
            return [(total / count).astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        positions = list(node.call.get("tensor:mask", []))
        if not positions:
            return super().to_onnx(g, xs[:1], w, node)
        steps = g.ints([self.steps_axis()])
        mask = g.op("Unsqueeze", [g.op("Cast", [xs[positions[0]]], to=9), g.ints([self.channel_axis()])])
        zero = g.const(np.array(0.0, np.float32))
        total = g.op("ReduceSum", [g.op("Where", [mask, xs[0], zero]), steps], keepdims=int(self.keepdims))
        count = g.op("ReduceSum", [g.op("Cast", [mask], to=1), steps], keepdims=int(self.keepdims))
        return [g.op("Div", [total, count])]

    def to_torch(self, t, xs, w, node):
        positions = list(node.call.get("tensor:mask", []))
        if not positions:
            return super().to_torch(t, xs[:1], w, node)
        x, steps, keep = xs[0], self.steps_axis(), self.keepdims
        mask = t.line(f"{xs[positions[0]]}.to({x}.dtype).unsqueeze({self.channel_axis()})")
        total = t.line(f"torch.sum(torch.where({mask} > 0, {x}, torch.zeros_like({x})), dim=[{steps}], "
                       f"keepdim={keep})")
        return [t.line(f"{total} / torch.sum({mask}, dim=[{steps}], keepdim={keep})")]
