"""ParametricSoftplus (Keras 1): y = alphas * softplus(betas * x), parameters per position.

Keras 1 did not save `shared_axes` in the config; it is read back from the weight shapes.
"""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops import activation_fns
from kport.ops.base import Op
from kport.ops.srelu import param_shape, shared_axes_from


@dataclass
class ParametricSoftplus(Op):
    kind = "ParametricSoftplus"
    keras_classes = ("ParametricSoftplus",)

    shared_axes: tuple[int, ...] | None = None

    def weight_shapes(self, in_shapes):
        shape = param_shape(in_shapes[0], self.shared_axes)
        return {"alphas": shape, "betas": shape}

    def load_weights(self, items, in_shapes):
        if items and self.shared_axes is None:
            self.shared_axes = shared_axes_from(items[0][1], in_shapes[0])
        return items

    def reference(self, xs, w):
        x = xs[0]
        return [(activation_fns.apply("softplus", w["betas"] * x) * w["alphas"]).astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        betas = g.const(w["betas"].astype("float32"), f"{node.layer}/betas")
        alphas = g.const(w["alphas"].astype("float32"), f"{node.layer}/alphas")
        return [g.op("Mul", [g.op("Softplus", [g.op("Mul", [xs[0], betas])]), alphas])]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        t.helper("KerasParametricSoftplus", TORCH_PSOFTPLUS)
        m = t.submodule(f"KerasParametricSoftplus({list(w['alphas'].shape)})", w,
                        {"alphas": ParamSpec("alphas"), "betas": ParamSpec("betas")})
        return [t.line(f"{m}({xs[0]})")]


TORCH_PSOFTPLUS = '''
class KerasParametricSoftplus(nn.Module):
    """Keras 1 ParametricSoftplus: alphas * softplus(betas * x)."""

    def __init__(self, shape: list[int]):
        super().__init__()
        self.alphas = nn.Parameter(torch.zeros(shape))
        self.betas = nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        return F.softplus(self.betas * x) * self.alphas
'''
