"""Attention (Luong-style): scores = query @ key^T (times `scale`), or with score_mode 'concat'
concat_score_weight * sum(tanh(scale * (q + k))) over features; see attention_common."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import UnsupportedLayerError
from kport.ops.attention_common import DenseAttentionOp
from kport.ops.base import ImportContext


@dataclass
class Attention(DenseAttentionOp):
    kind = "Attention"
    keras_classes = ("Attention",)

    use_scale: bool = False
    score_mode: str = "dot"

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Attention":
        op = super().from_keras(config, ctx)
        if op.score_mode not in ("dot", "concat"):
            raise UnsupportedLayerError(f"unknown score_mode '{op.score_mode}'", hint="Keras knows 'dot' and 'concat'")
        return op

    def weight_shapes(self, in_shapes):
        shapes = {}
        if self.use_scale:
            shapes["scale"] = ()
        if self.score_mode == "concat":
            shapes["concat_score_weight"] = ()
        return shapes

    def scores(self, q, k, w):
        if self.score_mode == "dot":
            s = np.matmul(q, np.swapaxes(k, -1, -2))
            return s * w["scale"] if self.use_scale else s
        total = q[..., :, None, :] + k[..., None, :, :]
        if self.use_scale:
            total = w["scale"] * total
        return w["concat_score_weight"] * np.tanh(total).sum(axis=-1)

    def scores_torch(self, t, q, k, params):
        if self.score_mode == "dot":
            s = t.line(f"torch.matmul({q}, {k}.transpose(-1, -2))")
            return t.line(f"{s} * {params}.scale") if self.use_scale else s
        total = t.line(f"{q}.unsqueeze(-2) + {k}.unsqueeze(-3)")
        if self.use_scale:
            total = t.line(f"{params}.scale * {total}")
        return t.line(f"{params}.concat_score_weight * torch.sum(torch.tanh({total}), -1)")

    def scores_onnx(self, g, q, k, w, layer):
        if self.score_mode == "dot":
            s = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])])
            return g.op("Mul", [s, g.const(w["scale"], f"{layer}/scale")]) if self.use_scale else s
        total = g.op("Add", [g.op("Unsqueeze", [q, g.ints([-2])]), g.op("Unsqueeze", [k, g.ints([-3])])])
        if self.use_scale:
            total = g.op("Mul", [g.const(w["scale"], f"{layer}/scale"), total])
        summed = g.op("ReduceSum", [g.op("Tanh", [total]), g.ints([-1])], keepdims=0)
        return g.op("Mul", [g.const(w["concat_score_weight"], f"{layer}/concat_score_weight"), summed])
