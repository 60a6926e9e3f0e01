"""Activation: applies a built-in Keras activation function element-wise (softmax: last axis)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops import activation_fns
from kport.ops.base import ImportContext, Op


@dataclass
class Activation(Op):
    kind = "Activation"
    keras_classes = ("Activation",)

    activation: str = "linear"

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Activation":
        return cls(activation=activation_fns.canonical(config.get("activation"), ctx.keras_major))

    def output_shapes(self, in_shapes):
        return [tuple(in_shapes[0])]  # the Op base applies the activation's shape (glu halves the last axis)

    def reference(self, xs, w):
        return [activation_fns.apply(self.activation, xs[0])]

    def to_onnx(self, g, xs, w, node):
        return [activation_fns.to_onnx(g, self.activation, xs[0])]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.activations import to_torch as activation

        return [activation(t, self.activation, xs[0])]
