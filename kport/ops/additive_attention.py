"""AdditiveAttention (Bahdanau-style): scores = sum(scale * tanh(q + k)) over features, `scale`
a (dim,) weight when use_scale; see attention_common for masks and outputs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.attention_common import DenseAttentionOp


@dataclass
class AdditiveAttention(DenseAttentionOp):
    kind = "AdditiveAttention"
    keras_classes = ("AdditiveAttention",)

    use_scale: bool = True

    def weight_shapes(self, in_shapes):
        return {"scale": (in_shapes[0][-1],)} if self.use_scale else {}

    def scores(self, q, k, w):
        t = np.tanh(q[..., :, None, :] + k[..., None, :, :])
        return (w["scale"] * t if self.use_scale else t).sum(axis=-1)

    def scores_torch(self, t, q, k, params):
        th = t.line(f"torch.tanh({q}.unsqueeze(-2) + {k}.unsqueeze(-3))")
        scaled = t.line(f"{th} * {params}.scale") if self.use_scale else th
        return t.line(f"torch.sum({scaled}, -1)")

    def scores_onnx(self, g, q, k, w, layer):
        t = g.op("Tanh", [g.op("Add", [g.op("Unsqueeze", [q, g.ints([-2])]), g.op("Unsqueeze", [k, g.ints([-3])])])])
        if self.use_scale:
            t = g.op("Mul", [t, g.const(w["scale"], f"{layer}/scale")])
        return g.op("ReduceSum", [t, g.ints([-1])], keepdims=0)
