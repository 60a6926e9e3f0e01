"""What training-only layers do while training (their op hooks are the inference identity).

The ops' numpy references and backend hooks describe inference, where
Dropout and the noise layers pass their input through. The engine gives them
their Keras training behaviour here; at inference they stay the identity.
"""
from __future__ import annotations

import math

from kport.ops.noise_common import InferenceIdentity

SELU_ALPHA_P = -1.7580993408473766  # -selu_alpha * selu_scale, Keras's AlphaDropout constant


def is_training_only(op) -> bool:
    """True for ops that are the identity at inference (dropout, noise, activity penalties)."""
    return isinstance(op, InferenceIdentity)


def run(op, x, training: bool, layer=None):
    """Applies a training-only op to a torch tensor; the identity when not training."""
    import torch

    kind = op.kind
    if kind == "ActivityRegularization" and layer is not None and training:
        penalty = op.l1 * x.abs().sum() + op.l2 * (x * x).sum()
        layer.add_loss(penalty / x.shape[0])  # tf.keras divides activity penalties by the batch size
    if not training:
        return x
    rate = float(getattr(op, "rate", 0.0))
    if kind == "Dropout" and 0.0 < rate < 1.0:
        shape = _noise_shape(x, getattr(op, "noise_shape", None))
        keep = (torch.rand(shape, device=x.device) >= rate).to(x.dtype)
        return x * keep / (1.0 - rate)
    if kind.startswith("SpatialDropout") and 0.0 < rate < 1.0:
        shape = [1] * x.dim()
        shape[0] = x.shape[0]
        channel = 1 if getattr(op, "data_format", "channels_last") == "channels_first" else x.dim() - 1
        shape[channel] = x.shape[channel]
        keep = (torch.rand(shape, device=x.device) >= rate).to(x.dtype)
        return x * keep / (1.0 - rate)
    if kind == "GaussianNoise":
        return x + torch.randn_like(x) * float(op.stddev)
    if kind == "GaussianDropout" and 0.0 < rate < 1.0:
        return x * (1.0 + torch.randn_like(x) * math.sqrt(rate / (1.0 - rate)))
    if kind == "AlphaDropout" and 0.0 < rate < 1.0:
        shape = _noise_shape(x, getattr(op, "noise_shape", None))
        kept = (torch.rand(shape, device=x.device) >= rate).to(x.dtype)
        a = ((1 - rate) * (1 + rate * SELU_ALPHA_P ** 2)) ** -0.5
        b = -a * SELU_ALPHA_P * rate
        return a * (x * kept + SELU_ALPHA_P * (1 - kept)) + b
    return x


def _noise_shape(x, noise_shape) -> tuple:
    if noise_shape is None:
        return tuple(x.shape)
    return tuple(x.shape[i] if s is None else int(s) for i, s in enumerate(noise_shape))
