"""AlphaDropout: SELU-preserving dropout in training; the identity at inference."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.noise_common import InferenceIdentity


@dataclass
class AlphaDropout(InferenceIdentity):
    kind = "AlphaDropout"
    keras_classes = ("AlphaDropout",)

    rate: float = 0.5
    noise_shape: tuple | None = None
    seed: int | None = None
