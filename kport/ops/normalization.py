"""Normalization (preprocessing): (x - mean) / max(sqrt(variance), 1e-7), or its inverse.

`axis` lists the kept axes (a mean per position on them); the weights, when
adapted, are `mean`, `variance` (shape: the kept axes' sizes) and an int64
`count` that inference ignores. Means given in the config instead are kept
as attributes and broadcast right-aligned onto the kept axes, as Keras does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import ImportContext, Op

EPSILON = 1e-7  # keras.backend.epsilon(), the floor of the standard deviation


@dataclass
class Normalization(Op):
    kind = "Normalization"
    keras_classes = ("Normalization",)
    output_dtype: ClassVar[str] = "float32"
    non_trainable_weights = ("mean", "variance", "count")

    axis: tuple[int, ...] = (-1,)
    invert: bool = False
    mean: tuple | float | None = None
    variance: tuple | float | None = None

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Normalization":
        axis = config.get("axis", (-1,))
        axis = () if axis is None else ((axis,) if isinstance(axis, int) else tuple(int(a) for a in axis))
        op = cls(axis=axis, invert=bool(config.get("invert", False)))
        if config.get("mean") is not None:
            op.mean = _frozen(config["mean"])
            op.variance = _frozen(config["variance"])
        # Keras 3 passes an incoming mask through this layer; tf.keras and Keras 2 drop it
        # (read by importers/masks.py while the graph is built)
        op.propagates_mask = ctx.flavor == "keras3"
        return op

    def keep_axes(self, rank: int) -> tuple[int, ...]:
        """The kept axes as sorted non-negative indices."""
        return tuple(sorted(a % rank for a in self.axis))

    def weight_shapes(self, in_shapes):
        if self.mean is not None:
            return {}
        shape = tuple(in_shapes[0][a] for a in self.keep_axes(len(in_shapes[0])))
        return {"mean": shape, "variance": shape, "count": ()}

    def stats(self, w, in_shape) -> tuple[np.ndarray, np.ndarray]:
        """Returns (mean, std) as float32 arrays that broadcast against the input."""
        rank = len(in_shape)
        keep = self.keep_axes(rank)
        if self.mean is not None:
            mean, var = np.asarray(self.mean, np.float32), np.asarray(self.variance, np.float32)
        else:
            mean, var = w["mean"].astype(np.float32), w["variance"].astype(np.float32)
        expanded = [1] * rank
        for i in range(1, mean.ndim + 1):  # right-aligned onto the kept axes
            if i > len(keep):
                raise ShapeError(f"Normalization mean of shape {mean.shape} has more axes than axis={self.axis}")
            expanded[keep[-i]] = mean.shape[-i]
        mean, var = mean.reshape(expanded), var.reshape(expanded)
        return mean, np.maximum(np.sqrt(var), np.float32(EPSILON))

    def reference(self, xs, w):
        x = xs[0].astype(np.float32)
        mean, std = self.stats(w, x.shape)
        return [mean + x * std if self.invert else (x - mean) / std]

    def to_onnx(self, g, xs, w, node):
        mean, std = self.stats(w, node.in_shapes[0])
        # Keras casts to float32 first
        x = xs[0] if node.in_dtypes[:1] == ["float32"] else g.op("Cast", [xs[0]], to=1)
        m, s = g.const(mean, f"{node.layer}/mean"), g.const(std, f"{node.layer}/std")
        if self.invert:
            return [g.op("Add", [g.op("Mul", [x, s]), m])]
        return [g.op("Div", [g.op("Sub", [x, m]), s])]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        mean, _ = self.stats(w, node.in_shapes[0])
        view = list(mean.shape)
        if self.mean is not None:  # statistics from the config: constants of the module
            params = {"mean": ParamSpec(None, constant=np.asarray(self.mean, np.float32)),
                      "variance": ParamSpec(None, constant=np.asarray(self.variance, np.float32))}
        else:
            params = {name: ParamSpec(name) for name in ("mean", "variance", "count")}
        t.helper("KerasNormalization", TORCH_NORMALIZATION)
        shape = list(np.shape(self.mean)) if self.mean is not None else list(w["mean"].shape)
        m = t.submodule(f"KerasNormalization({shape}, {view}, {self.invert}, {self.mean is None})", w, params)
        return [t.line(f"{m}({xs[0]})")]


TORCH_NORMALIZATION = '''
class KerasNormalization(nn.Module):
    """Keras Normalization: (x - mean) / max(sqrt(variance), 1e-7), or its inverse; stats reshaped to `view`."""

    def __init__(self, shape: list[int], view: list[int], invert: bool, adapted: bool):
        super().__init__()
        self.view = view
        self.invert = invert
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("variance", torch.ones(shape))
        if adapted:  # Keras's sample count, kept for the Keras file
            self.register_buffer("count", torch.zeros([]))

    def forward(self, x):
        x = x.to(torch.float32)
        mean = self.mean.reshape(self.view)
        std = torch.clamp(torch.sqrt(self.variance.reshape(self.view)), min=1e-7)
        if self.invert:
            return mean + x * std
        return (x - mean) / std
'''


def _frozen(value):
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return float(value)
