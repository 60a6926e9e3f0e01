"""Highway (Keras 1): t = sigmoid(x W_carry + b_carry); y = t * act(x W + b) + (1 - t) * x."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops import activation_fns
from kport.ops.base import ImportContext, Op, require_rank


@dataclass
class Highway(Op):
    kind = "Highway"
    keras_classes = ("Highway",)
    activation_on_output: ClassVar[bool] = False  # the output mixes it with the input

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

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.activations import to_torch as activation
        from kport.exporters.torch.emitter import ParamSpec

        t.helper("KerasHighway", TORCH_HIGHWAY)
        names = ["kernel", "carry_kernel"] + (["bias", "carry_bias"] if self.use_bias else [])
        n = node.in_shapes[0][-1]
        m = t.submodule(f"KerasHighway({n}, {self.use_bias})", w, {k: ParamSpec(k) for k in names})
        y, gate = t.line(f"{m}.linear({xs[0]})"), t.line(f"{m}.gate({xs[0]})")
        act = activation(t, self.activation, y)
        return [t.line(f"{act} * {gate} + (1 - {gate}) * {xs[0]}")]


# Keras 1 Highway weights in Keras layout: kernels (n, n), biases (n,)
TORCH_HIGHWAY = '''
class KerasHighway(nn.Module):
    """Keras 1 Highway: the transform (x W + b) and the carry gate sigmoid(x W_carry + b_carry)."""

    def __init__(self, n: int, use_bias: bool):
        super().__init__()
        self.kernel = nn.Parameter(torch.zeros(n, n))
        self.carry_kernel = nn.Parameter(torch.zeros(n, n))
        self.bias = nn.Parameter(torch.zeros(n)) if use_bias else None
        self.carry_bias = nn.Parameter(torch.zeros(n)) if use_bias else None

    def linear(self, x):
        y = x @ self.kernel
        return y + self.bias if self.bias is not None else y

    def gate(self, x):
        y = x @ self.carry_kernel
        return torch.sigmoid(y + self.carry_bias if self.carry_bias is not None else y)
'''
