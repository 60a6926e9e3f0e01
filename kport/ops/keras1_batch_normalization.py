"""Keras 1 BatchNormalization modes 1 and 2: normalization by the statistics of the data itself.

mode 1 (sample-wise): each sample over its last axis, m = mean(x), s = sqrt(var(x) + eps),
y = gamma * (x - m) / (s + eps) + beta.
mode 2 (feature-wise, batch statistics also at inference): mean and variance over every axis but
`axis`, y = gamma * (x - mean) / sqrt(var + eps) + beta, so an output depends on its batch.
The stored running statistics are unused in both; mode 0 is the ordinary BatchNormalization op.
The importer renames Keras 1 BatchNormalization configs with mode 1 or 2 to this class.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import Op
from kport.ops.onnx_common import reduce

WEIGHTS = ("gamma", "beta", "running_mean", "running_std")


@dataclass
class Keras1BatchNormalization(Op):
    kind = "Keras1BatchNormalization"
    keras_classes = ("Keras1BatchNormalization",)

    mode: int = 1
    axis: int = -1
    epsilon: float = 1e-3

    def _axis(self, rank: int) -> int:
        if not -rank <= self.axis < rank:
            raise ShapeError(f"BatchNormalization axis {self.axis} is outside a rank-{rank} input")
        return self.axis % rank

    def weight_shapes(self, in_shapes):
        n = in_shapes[0][self._axis(len(in_shapes[0]))]
        return {name: (n,) for name in WEIGHTS}

    def _broadcast(self, w: np.ndarray, rank: int) -> np.ndarray:
        shape = [1] * rank
        shape[self._axis(rank)] = -1
        return w.reshape(shape)

    def reference(self, xs, w):
        x = xs[0].astype(np.float64)
        gamma = self._broadcast(w["gamma"], x.ndim)
        beta = self._broadcast(w["beta"], x.ndim)
        if self.mode == 1:
            m = x.mean(axis=-1, keepdims=True)
            std = np.sqrt(((x - m) ** 2).mean(axis=-1, keepdims=True) + self.epsilon)
            y = (x - m) / (std + self.epsilon)
        else:
            axes = tuple(a for a in range(x.ndim) if a != self._axis(x.ndim))
            m = x.mean(axis=axes, keepdims=True)
            var = ((x - m) ** 2).mean(axis=axes, keepdims=True)
            y = (x - m) / np.sqrt(var + self.epsilon)
        return [(gamma * y + beta).astype(xs[0].dtype)]

    def to_onnx(self, g, xs, w, node):
        rank = len(node.in_shapes[0])
        x = xs[0]
        eps = g.const(np.array(self.epsilon, np.float32))
        axes = [rank - 1] if self.mode == 1 else [a for a in range(rank) if a != self._axis(rank)]
        m = reduce(g, "ReduceMean", x, axes)
        d = g.op("Sub", [x, m])
        var = reduce(g, "ReduceMean", g.op("Mul", [d, d]), axes)
        std = g.op("Sqrt", [g.op("Add", [var, eps])])
        y = g.op("Div", [d, g.op("Add", [std, eps]) if self.mode == 1 else std])
        gamma = g.const(self._broadcast(w["gamma"], rank).astype(np.float32), f"{node.layer}/gamma")
        beta = g.const(self._broadcast(w["beta"], rank).astype(np.float32), f"{node.layer}/beta")
        return [g.op("Add", [g.op("Mul", [y, gamma]), beta])]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        t.helper("Keras1BatchNorm", TORCH_KERAS1_BN)
        rank = len(node.in_shapes[0])
        m = t.submodule(f"Keras1BatchNorm({w['gamma'].shape[0]}, {self.mode}, {self._axis(rank)}, {self.epsilon!r})",
                        w, {name: ParamSpec(name) for name in WEIGHTS})
        return [t.line(f"{m}({xs[0]})")]


TORCH_KERAS1_BN = '''
class Keras1BatchNorm(nn.Module):
    """Keras 1 BatchNormalization mode 1 (per sample, last axis) or 2 (batch statistics)."""

    def __init__(self, n: int, mode: int, axis: int, eps: float):
        super().__init__()
        self.mode, self.axis, self.eps = mode, axis, eps
        for name in ("gamma", "beta", "running_mean", "running_std"):
            setattr(self, name, nn.Parameter(torch.zeros(n)))

    def forward(self, x):
        shape = [1] * x.dim()
        shape[self.axis] = -1
        dims = [x.dim() - 1] if self.mode == 1 else [a for a in range(x.dim()) if a != self.axis]
        m = x.mean(dim=dims, keepdim=True)
        var = ((x - m) ** 2).mean(dim=dims, keepdim=True)
        std = torch.sqrt(var + self.eps)
        y = (x - m) / (std + self.eps if self.mode == 1 else std)
        return self.gamma.reshape(shape) * y + self.beta.reshape(shape)
'''
