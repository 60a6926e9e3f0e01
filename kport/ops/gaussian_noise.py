"""GaussianNoise: adds zero-mean noise in training; the identity at inference."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.noise_common import InferenceIdentity


@dataclass
class GaussianNoise(InferenceIdentity):
    kind = "GaussianNoise"
    keras_classes = ("GaussianNoise",)

    stddev: float = 0.1
    seed: int | None = None
