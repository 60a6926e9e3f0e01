"""LayerNormalization: normalizes each sample over `axis` (int or list), then gamma/beta.

Weight shapes follow the writer: Keras 3 sorts the axes before building
(`gamma` of shape [size of a for a in sorted(axis)]); tf.keras keeps the
given order. Both then *reshape* (not transpose) gamma/beta to the input rank
with 1s elsewhere, and so does this op. Keras 3 `rms_scaling=True` computes
x * rsqrt(var + eps) * gamma with the centred variance and no beta.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ExportError
from kport.ops.base import ImportContext, Op
from kport.ops.onnx_common import reduce, scalar


@dataclass
class LayerNormalization(Op):
    kind = "LayerNormalization"
    keras_classes = ("LayerNormalization",)

    axis: tuple[int, ...] = (-1,)
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    rms_scaling: bool = False

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "LayerNormalization":
        op = super().from_keras(config, ctx)
        axis = op.axis if isinstance(op.axis, tuple) else (op.axis,)
        op.axis = tuple(sorted(int(a) for a in axis)) if ctx.flavor == "keras3" else tuple(int(a) for a in axis)
        return op

    def keras_config(self, flavor: str = "keras3") -> dict:
        cfg = super().keras_config(flavor)
        if flavor != "keras3":
            if self.rms_scaling:
                raise ExportError("LayerNormalization rms_scaling exists only in Keras 3",
                                  hint="write a Keras 3 file (--to keras)")
            del cfg["rms_scaling"]
        return cfg

    def axes(self, rank: int) -> tuple[int, ...]:
        """The normalized axes as sorted non-negative indices."""
        return tuple(sorted(a % rank for a in self.axis))

    def weight_shapes(self, in_shapes):
        shape = tuple(in_shapes[0][a] for a in self.axis)
        shapes = {}
        if self.scale or self.rms_scaling:
            shapes["gamma"] = shape
        if self.center and not self.rms_scaling:
            shapes["beta"] = shape
        return shapes

    def _broadcast(self, v: np.ndarray, in_shape) -> np.ndarray:
        # Keras reshapes (not transposes) the weight to the input rank; sizes come from the weight
        # itself, in `self.axis` order, so unknown input sizes are fine
        rank = len(in_shape)
        if v.ndim == rank:
            return v
        shape = [1] * rank
        for a, size in zip(self.axis, v.shape):
            shape[a % rank] = size
        return v.reshape(shape)

    def reference(self, xs, w):
        x = xs[0]
        axes = self.axes(x.ndim)
        x64 = x.astype(np.float64)
        mean = x64.mean(axis=axes, keepdims=True)
        var = np.square(x64 - mean).mean(axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(var + self.epsilon)
        if "gamma" in w:
            inv = inv * self._broadcast(w["gamma"].astype(np.float64), x.shape)
        if self.rms_scaling:
            return [(x64 * inv).astype(x.dtype)]
        y = (x64 - mean) * inv
        if "beta" in w:
            y = y + self._broadcast(w["beta"].astype(np.float64), x.shape)
        return [y.astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        x = xs[0]
        in_shape = node.in_shapes[0]
        rank = len(in_shape)
        axes = self.axes(rank)
        trailing = axes == tuple(range(rank - len(axes), rank))
        norm_shape = tuple(in_shape[a] for a in axes)
        if g.opset >= 17 and trailing and not self.rms_scaling and None not in norm_shape:
            gamma = w["gamma"].reshape(norm_shape) if "gamma" in w else np.ones(norm_shape, np.float32)
            inputs = [x, g.const(gamma.astype(np.float32), f"{node.layer}/gamma")]
            if "beta" in w:
                inputs.append(g.const(w["beta"].reshape(norm_shape).astype(np.float32), f"{node.layer}/beta"))
            return [g.op("LayerNormalization", inputs, axis=axes[0], epsilon=float(self.epsilon))]
        mean = reduce(g, "ReduceMean", x, axes)
        centred = g.op("Sub", [x, mean])
        var = reduce(g, "ReduceMean", g.op("Mul", [centred, centred]), axes)
        inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, scalar(g, self.epsilon)])])])
        y = g.op("Mul", [x if self.rms_scaling else centred, inv])
        if "gamma" in w:
            gamma = self._broadcast(w["gamma"], in_shape).astype(np.float32)
            y = g.op("Mul", [y, g.const(gamma, f"{node.layer}/gamma")])
        if "beta" in w:
            beta = self._broadcast(w["beta"], in_shape).astype(np.float32)
            y = g.op("Add", [y, g.const(beta, f"{node.layer}/beta")])
        return [y]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        rank = len(node.in_shapes[0])
        shapes = self.weight_shapes(node.in_shapes)
        stored = list(next(iter(w.values())).shape) if w else [1]
        view = list(self._broadcast(np.zeros(stored), node.in_shapes[0]).shape) if w else [1] * rank
        t.helper("KerasLayerNorm", TORCH_LAYER_NORM)
        m = t.submodule(f"KerasLayerNorm({stored}, {view}, {list(self.axes(rank))}, {self.epsilon!r}, "
                        f"{'gamma' in shapes}, {'beta' in shapes}, {self.rms_scaling})", w,
                        {name: ParamSpec(name) for name in shapes})
        return [t.line(f"{m}({xs[0]})")]


TORCH_LAYER_NORM = '''
class KerasLayerNorm(nn.Module):
    """Keras LayerNormalization over `axes`; gamma/beta keep their Keras shapes (reshaped to `view`).

    `rms` is Keras 3's rms_scaling: x * rsqrt(var + eps) * gamma, with the centred variance.
    """

    def __init__(self, shape: list[int], view: list[int], axes: list[int], epsilon: float, scale: bool,
                 center: bool, rms: bool):
        super().__init__()
        self.view = view
        self.axes = axes
        self.epsilon = epsilon
        self.rms = rms
        if scale:
            self.gamma = nn.Parameter(torch.ones(shape))
        else:
            self.register_buffer("gamma", torch.ones(shape), persistent=False)
        if center:
            self.beta = nn.Parameter(torch.zeros(shape))
        else:
            self.register_buffer("beta", torch.zeros(shape), persistent=False)

    def forward(self, x):
        mean = x.mean(dim=self.axes, keepdim=True)
        centred = x - mean
        var = (centred * centred).mean(dim=self.axes, keepdim=True)
        inv = torch.rsqrt(var + self.epsilon) * self.gamma.reshape(self.view)
        if self.rms:
            return x * inv
        return centred * inv + self.beta.reshape(self.view)
'''
