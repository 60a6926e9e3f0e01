"""BatchNormalization at inference: (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta.

`axis` is the feature axis (tf.keras also allows a list). Weights come in
Keras order: gamma (scale=True), beta (center=True), moving_mean,
moving_variance, then renorm's moving_stddev, renorm_mean, renorm_stddev,
which inference does not use. tf.keras stores multi-axis weights at full rank
with 1s on the other axes; single-axis weights are 1-D.

The ONNX form is one Mul and one Add with precomputed scale and shift, so a
preceding convolution can absorb it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ExportError, ShapeError, UnsupportedLayerError
from kport.ops.base import ImportContext, Op

_RENORM_WEIGHTS = ("moving_stddev", "renorm_mean", "renorm_stddev")


@dataclass
class BatchNormalization(Op):
    kind = "BatchNormalization"
    keras_classes = ("BatchNormalization", "BatchNormalizationV1", "BatchNormalizationV2",
                     "SyncBatchNormalization")
    non_trainable_weights = ("moving_mean", "moving_variance", *_RENORM_WEIGHTS)

    axis: int | tuple[int, ...] = -1
    epsilon: float = 1e-3
    momentum: float = 0.99
    center: bool = True
    scale: bool = True
    renorm: bool = False

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "BatchNormalization":
        mode = config.get("mode", 0)
        if mode:
            raise UnsupportedLayerError(
                f"Keras 1 BatchNormalization mode={mode} normalizes with batch statistics at inference",
                hint="only mode=0 (moving statistics) can be ported")
        op = super().from_keras(config, ctx)
        if isinstance(op.axis, tuple) and len(op.axis) == 1:
            op.axis = op.axis[0]
        return op

    def keras_config(self, flavor: str = "keras3") -> dict:
        cfg = super().keras_config(flavor)
        if flavor == "keras3" and isinstance(self.axis, tuple):
            raise ExportError(f"BatchNormalization over several axes {self.axis} cannot be written for Keras 3",
                              hint="Keras 3 normalizes over one axis only; write a tf.keras file (--to h5)")
        return cfg

    def axes(self, rank: int) -> tuple[int, ...]:
        """The feature axes as non-negative indices."""
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        axes = tuple(sorted(int(a) % rank for a in axes))
        if 0 in axes:
            raise ShapeError(f"BatchNormalization axis {self.axis} includes the batch axis")
        return axes

    def param_shape(self, in_shape) -> tuple:
        """The stored shape of every weight, as the writing Keras makes it."""
        axes = self.axes(len(in_shape))
        if len(axes) == 1:
            return (in_shape[axes[0]],)
        return tuple(in_shape[a] if a in axes else 1 for a in range(len(in_shape)))

    def weight_shapes(self, in_shapes):
        shape = self.param_shape(in_shapes[0])
        names = (["gamma"] if self.scale else []) + (["beta"] if self.center else [])
        names += ["moving_mean", "moving_variance"] + (list(_RENORM_WEIGHTS) if self.renorm else [])
        return {n: shape for n in names}

    def fold(self, w, in_shape) -> tuple[np.ndarray, np.ndarray]:
        """Returns (scale, shift) with y = x * scale + shift, shaped to broadcast on the input.

        The last-axis case keeps 1-D vectors (what a convolution folds); other
        axes get full-rank shapes with 1s.
        """
        stored = w["moving_mean"].shape
        mean = w["moving_mean"].astype(np.float64).ravel()
        inv = 1.0 / np.sqrt(w["moving_variance"].astype(np.float64).ravel() + self.epsilon)
        if self.scale:
            inv = inv * w["gamma"].astype(np.float64).ravel()
        shift = -mean * inv
        if self.center:
            shift = shift + w["beta"].astype(np.float64).ravel()
        rank = len(in_shape)
        axes = self.axes(rank)
        if axes != (rank - 1,):
            # multi-axis weights are stored at full rank already; one axis gets 1s around it
            shape = list(stored) if len(stored) == rank else [len(mean) if a in axes else 1 for a in range(rank)]
            inv, shift = inv.reshape(shape), shift.reshape(shape)
        return inv.astype(np.float32), shift.astype(np.float32)

    def reference(self, xs, w):
        x = xs[0]
        scale, shift = self.fold(w, x.shape)
        return [(x * scale + shift).astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        scale, shift = self.fold(w, node.in_shapes[0])
        y = g.op("Mul", [xs[0], g.const(scale, f"{node.layer}/scale")])
        return [g.op("Add", [y, g.const(shift, f"{node.layer}/shift")])]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        rank = len(node.in_shapes[0])
        axes = list(self.axes(rank))
        stored = list(w["moving_mean"].shape)
        view = stored if len(stored) == rank else [stored[0] if a in axes else 1 for a in range(rank)]
        t.helper("KerasBatchNorm", TORCH_BATCH_NORM)
        params = {name: ParamSpec(name) for name in self.weight_shapes(node.in_shapes)}
        m = t.submodule(f"KerasBatchNorm({stored}, {view}, {axes}, {self.epsilon!r}, {self.momentum!r}, "
                        f"{self.scale}, {self.center}, {self.renorm})", w, params)
        return [t.line(f"{m}({xs[0]})")]


TORCH_BATCH_NORM = '''
class KerasBatchNorm(nn.Module):
    """Keras BatchNormalization over `axes`; weights keep their Keras names and shapes.

    Inference uses the moving statistics. Training normalizes with the batch's
    (biased) statistics and moves the stored ones as Keras 2 does:
    moving = momentum * moving + (1 - momentum) * batch, the variance scaled by
    n / (n - (1 + epsilon)).
    """

    def __init__(self, shape: list[int], view: list[int], axes: list[int], epsilon: float, momentum: float,
                 scale: bool, center: bool, renorm: bool):
        super().__init__()
        self.view = view
        self.reduce = [d for d in range(len(view)) if d not in axes]  # the batch and the other axes
        self.epsilon = epsilon
        self.momentum = momentum
        if scale:
            self.gamma = nn.Parameter(torch.ones(shape))
        else:
            self.register_buffer("gamma", torch.ones(shape), persistent=False)
        if center:
            self.beta = nn.Parameter(torch.zeros(shape))
        else:
            self.register_buffer("beta", torch.zeros(shape), persistent=False)
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_variance", torch.ones(shape))
        if renorm:  # carried for the Keras file; inference does not read them
            self.register_buffer("moving_stddev", torch.ones(shape))
            self.register_buffer("renorm_mean", torch.zeros(shape))
            self.register_buffer("renorm_stddev", torch.ones(shape))

    def forward(self, x):
        if self.training:
            mean = x.mean(dim=self.reduce, keepdim=True)
            var = ((x - mean) ** 2).mean(dim=self.reduce, keepdim=True)
            n = x.numel() // mean.numel()
            with torch.no_grad():
                unbiased = var * (n / (n - (1.0 + self.epsilon)))
                self.moving_mean.mul_(self.momentum).add_(mean.reshape(self.moving_mean.shape), alpha=1 - self.momentum)
                self.moving_variance.mul_(self.momentum).add_(unbiased.reshape(self.moving_variance.shape),
                                                              alpha=1 - self.momentum)
        else:
            mean = self.moving_mean.reshape(self.view)
            var = self.moving_variance.reshape(self.view)
        inv = torch.rsqrt(var + self.epsilon) * self.gamma.reshape(self.view)
        return x * inv + (self.beta.reshape(self.view) - mean * inv)
'''
