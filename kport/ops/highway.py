"""Highway (Keras 1): t = sigmoid(x W_carry + b_carry); y = t * act(x W + b) + (1 - t) * x."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops import activation_fns
from kport.ops.base import ImportContext, Op, require_rank


@dataclass
class Highway(Op):
    kind = "Highway"
    keras_classes = ("Highway",)

    activation: str = "linear"
    use_bias: bool = True

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Highway":
        op = super().from_keras(config, ctx)
        op.activation = activation_fns.canonical(config.get("activation"), ctx.keras_major)
        return op

    def weight_shapes(self, in_shapes):
        require_rank(in_shapes[0], 2, self.kind)
        n = in_shapes[0][-1]
        # Keras 1 creation order: W, W_carry, b, b_carry
        shapes = {"kernel": (n, n), "carry_kernel": (n, n)}
        if self.use_bias:
            shapes.update({"bias": (n,), "carry_bias": (n,)})
        return shapes

    def reference(self, xs, w):
        x = xs[0]
        carry = x @ w["carry_kernel"]
        y = x @ w["kernel"]
        if self.use_bias:
            carry = carry + w["carry_bias"]
            y = y + w["bias"]
        t = activation_fns.apply("sigmoid", carry)
        out = activation_fns.apply(self.activation, y) * t + (1 - t) * x
        return [out.astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        x = xs[0]
        carry = g.op("MatMul", [x, g.const(w["carry_kernel"], f"{node.layer}/carry_kernel")])
        y = g.op("MatMul", [x, g.const(w["kernel"], f"{node.layer}/kernel")])
        if self.use_bias:
            carry = g.op("Add", [carry, g.const(w["carry_bias"], f"{node.layer}/carry_bias")])
            y = g.op("Add", [y, g.const(w["bias"], f"{node.layer}/bias")])
        t = g.op("Sigmoid", [carry])
        act = activation_fns.to_onnx(g, self.activation, y)
        one_minus_t = g.op("Sub", [g.const(np.array(1.0, np.float32)), t])
        return [g.op("Add", [g.op("Mul", [act, t]), g.op("Mul", [one_minus_t, x])])]
