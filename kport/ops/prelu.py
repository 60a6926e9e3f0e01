"""PReLU: relu(x) - alpha * relu(-x) with a learned `alpha` per position (shared_axes share it)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import Op


@dataclass
class PReLU(Op):
    kind = "PReLU"
    keras_classes = ("PReLU",)

    shared_axes: tuple[int, ...] | None = None

    def weight_shapes(self, in_shapes):
        shape = list(in_shapes[0][1:])
        for axis in self.shared_axes or ():
            if not 1 <= axis < len(in_shapes[0]):
                raise ShapeError(f"PReLU shared axis {axis} is outside input shape {in_shapes[0]}")
            shape[axis - 1] = 1
        if None in shape:
            raise ShapeError(f"PReLU needs known sizes on unshared axes, got input shape {in_shapes[0]}",
                             hint="list the variable-size axes in shared_axes")
        return {"alpha": tuple(shape)}

    def reference(self, xs, w):
        x = xs[0]
        return [(np.maximum(x, 0) - w["alpha"] * np.maximum(-x, 0)).astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        return [g.op("PRelu", [xs[0], g.const(w["alpha"].astype(np.float32), f"{node.layer}/alpha")])]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        t.helper("KerasPReLU", TORCH_PRELU)
        m = t.submodule(f"KerasPReLU({list(w['alpha'].shape)})", w, {"alpha": ParamSpec("alpha")})
        return [t.line(f"{m}({xs[0]})")]


# alpha keeps the Keras shape (input shape without the batch, 1 on shared axes)
TORCH_PRELU = '''
class KerasPReLU(nn.Module):
    """Keras PReLU: relu(x) - alpha * relu(-x), alpha shaped like one sample."""

    def __init__(self, shape: list[int]):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        return F.relu(x) - self.alpha * F.relu(-x)
'''
