"""SReLU (Keras 1): S-shaped ReLU with learned thresholds and slopes per position.

With t_r = t_left + |t_right|:
y = t_left + relu(x - t_left, alpha=a_left, max=t_r - t_left) + a_right * relu(x - t_r),
where relu(v, alpha) is Theano's 0.5(1+alpha)v + 0.5(1-alpha)|v|. Keras 1 did not
save `shared_axes` in the config, so it is read back from the weight shapes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import Op

WEIGHTS = ("t_left", "a_left", "t_right", "a_right")


def param_shape(in_shape: tuple, shared_axes) -> tuple:
    """The per-position parameter shape; unknown sharing leaves sizes open (None)."""
    dims = list(in_shape[1:])
    if shared_axes is None:
        return tuple(None for _ in dims)
    for axis in shared_axes:
        if not 1 <= axis < len(in_shape):
            raise ShapeError(f"shared axis {axis} is outside input shape {in_shape}")
        dims[axis - 1] = 1
    return tuple(dims)


def shared_axes_from(weight: np.ndarray, in_shape: tuple) -> tuple[int, ...]:
    """Works out which axes a saved parameter is shared over (size 1 where the input is larger)."""
    dims = in_shape[1:]
    if np.ndim(weight) != len(dims):
        raise ShapeError(f"parameter of shape {np.shape(weight)} does not fit input shape {in_shape}")
    return tuple(i + 1 for i, (p, d) in enumerate(zip(np.shape(weight), dims)) if p == 1 and d != 1)


def theano_relu(v: np.ndarray, alpha) -> np.ndarray:
    return 0.5 * (1 + alpha) * v + 0.5 * (1 - alpha) * np.abs(v)


@dataclass
class SReLU(Op):
    kind = "SReLU"
    keras_classes = ("SReLU",)

    shared_axes: tuple[int, ...] | None = None

    def weight_shapes(self, in_shapes):
        shape = param_shape(in_shapes[0], self.shared_axes)
        return {name: shape for name in WEIGHTS}

    def load_weights(self, items, in_shapes):
        if items and self.shared_axes is None:
            self.shared_axes = shared_axes_from(items[0][1], in_shapes[0])
        return items

    def reference(self, xs, w):
        x = xs[0]
        t_left, a_left, a_right = w["t_left"], w["a_left"], w["a_right"]
        t_right = t_left + np.abs(w["t_right"])
        left_center = t_left + np.minimum(theano_relu(x - t_left, a_left), t_right - t_left)
        right = np.maximum(x - t_right, 0) * a_right
        return [(left_center + right).astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        x = xs[0]
        f32 = np.float32
        t_left = g.const(w["t_left"].astype(f32), f"{node.layer}/t_left")
        t_right = g.const((w["t_left"] + np.abs(w["t_right"])).astype(f32), f"{node.layer}/t_right_actual")
        width = g.const((np.abs(w["t_right"])).astype(f32), f"{node.layer}/t_width")
        up = g.const((0.5 * (1 + w["a_left"])).astype(f32), f"{node.layer}/a_left_pos")
        down = g.const((0.5 * (1 - w["a_left"])).astype(f32), f"{node.layer}/a_left_abs")
        v = g.op("Sub", [x, t_left])
        relu_v = g.op("Add", [g.op("Mul", [v, up]), g.op("Mul", [g.op("Abs", [v]), down])])
        left_center = g.op("Add", [t_left, g.op("Min", [relu_v, width])])
        right = g.op("Mul", [g.op("Relu", [g.op("Sub", [x, t_right])]),
                             g.const(w["a_right"].astype(f32), f"{node.layer}/a_right")])
        return [g.op("Add", [left_center, right])]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        t.helper("KerasSReLU", TORCH_SRELU)
        m = t.submodule(f"KerasSReLU({list(w['t_left'].shape)})", w, {k: ParamSpec(k) for k in WEIGHTS})
        return [t.line(f"{m}({xs[0]})")]


TORCH_SRELU = '''
class KerasSReLU(nn.Module):
    """Keras 1 SReLU with Theano's relu(v, alpha) = 0.5(1+alpha)v + 0.5(1-alpha)|v|."""

    def __init__(self, shape: list[int]):
        super().__init__()
        for name in ("t_left", "a_left", "t_right", "a_right"):
            setattr(self, name, nn.Parameter(torch.zeros(shape)))

    def forward(self, x):
        t_right = self.t_left + self.t_right.abs()
        v = x - self.t_left
        leaky = 0.5 * (1 + self.a_left) * v + 0.5 * (1 - self.a_left) * v.abs()
        return self.t_left + torch.minimum(leaky, t_right - self.t_left) + F.relu(x - t_right) * self.a_right
'''
