"""Dense: y = activation(x @ kernel + bias) on the last axis."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops import activation_fns
from kport.ops.base import ImportContext, Op
from kport.ops.lora import merge_lora


@dataclass
class Dense(Op):
    kind = "Dense"
    keras_classes = ("Dense",)

    units: int = 1
    activation: str = "linear"
    use_bias: bool = True
    # Keras 3 LoRA: a legacy .h5 stores the low-rank factors beside the kernel; they are merged on load
    lora_rank: int | None = None
    lora_alpha: float | None = None

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Dense":
        op = super().from_keras(config, ctx)
        op.activation = activation_fns.canonical(config.get("activation"), ctx.keras_major)
        return op

    def keras_config(self, flavor: str = "keras3") -> dict:
        config = super().keras_config(flavor)
        del config["lora_rank"], config["lora_alpha"]  # the kernel is held merged
        return config

    def load_weights(self, items: list, in_shapes) -> list:
        """Merges Keras 3 LoRA factors into the kernel, as Keras does when it saves a .keras file."""
        return merge_lora(items, "kernel", self.lora_rank, self.lora_alpha)

    def weight_shapes(self, in_shapes):
        shapes = {"kernel": (in_shapes[0][-1], self.units)}
        if self.use_bias:
            shapes["bias"] = (self.units,)
        return shapes

    def output_shapes(self, in_shapes):
        return [tuple(in_shapes[0][:-1]) + (self.units,)]

    def reference(self, xs, w):
        y = np.matmul(xs[0], w["kernel"])
        if self.use_bias:
            y = y + w["bias"]
        return [activation_fns.apply(self.activation, y)]

    def to_onnx(self, g, xs, w, node):
        kernel = g.const(w["kernel"], f"{node.layer}/kernel")
        rank = len(node.in_shapes[0])
        if rank == 2 and self.use_bias:
            y = g.op("Gemm", [xs[0], kernel, g.const(w["bias"], f"{node.layer}/bias")])
        else:
            y = g.op("MatMul", [xs[0], kernel])
            if self.use_bias:
                y = g.op("Add", [y, g.const(w["bias"], f"{node.layer}/bias")])
        return [activation_fns.to_onnx(g, self.activation, y)]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.activations import to_torch as activation
        from kport.exporters.torch.emitter import ParamSpec
        from kport.exporters.torch.layouts import Perm

        params = {"weight": ParamSpec("kernel", Perm((1, 0)))}
        if self.use_bias:
            params["bias"] = ParamSpec("bias")
        m = t.submodule(f"nn.Linear({node.in_shapes[0][-1]}, {self.units}, bias={self.use_bias})", w, params)
        return [activation(t, self.activation, t.line(f"{m}({xs[0]})"))]
