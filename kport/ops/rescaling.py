"""Rescaling (preprocessing): x * scale + offset; scale and offset may be per-channel lists."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.base import ImportContext, Op


@dataclass
class Rescaling(Op):
    kind = "Rescaling"
    keras_classes = ("Rescaling",)
    # integer images (uint8) come out as float32
    output_dtype: ClassVar[str] = "float32"

    scale: float | tuple = 1.0
    offset: float | tuple = 0.0

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Rescaling":
        # Keras 3 saves numpy-array scales/offsets as {"class_name": "__numpy__", "config": {"value": ...}}
        config = {k: _plain(v) if k in ("scale", "offset") else v for k, v in config.items()}
        op = super().from_keras(config, ctx)
        # Keras 3 passes an incoming mask through this layer; tf.keras and Keras 2 drop it
        # (read by importers/masks.py while the graph is built)
        op.propagates_mask = ctx.flavor == "keras3"
        return op

    def _constants(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.scale, np.float32), np.asarray(self.offset, np.float32)

    def reference(self, xs, w):
        scale, offset = self._constants()
        return [xs[0].astype(np.float32) * scale + offset]

    def to_onnx(self, g, xs, w, node):
        scale, offset = self._constants()
        x = xs[0] if node.in_dtypes[:1] == ["float32"] else g.op("Cast", [xs[0]], to=1)  # uint8 images
        y = g.op("Mul", [x, g.const(scale, f"{node.layer}/scale")])
        return [g.op("Add", [y, g.const(offset, f"{node.layer}/offset")])]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        scale, offset = self._constants()
        x = xs[0] if node.in_dtypes[:1] == ["float32"] else f"{xs[0]}.to(torch.float32)"  # uint8 images
        if scale.ndim == 0 and offset.ndim == 0:
            return [t.line(f"{x} * {float(scale)!r} + {float(offset)!r}")]
        t.helper("KerasRescaling", TORCH_RESCALING)
        m = t.submodule(f"KerasRescaling({list(scale.shape)}, {list(offset.shape)})", w,
                        {"scale": ParamSpec(None, constant=scale), "offset": ParamSpec(None, constant=offset)})
        return [t.line(f"{m}({x})")]


def _plain(value):
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        value = value.get("config", {}).get("value")
    return np.asarray(value, dtype=np.float64).tolist() if isinstance(value, (list, tuple)) else value


TORCH_RESCALING = '''
class KerasRescaling(nn.Module):
    """Keras Rescaling with per-channel constants: x * scale + offset."""

    def __init__(self, scale_shape: list[int], offset_shape: list[int]):
        super().__init__()
        self.register_buffer("scale", torch.ones(scale_shape))
        self.register_buffer("offset", torch.zeros(offset_shape))

    def forward(self, x):
        return x * self.scale + self.offset
'''
