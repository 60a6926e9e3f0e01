"""GaussianDropout: multiplies by 1-centred noise in training; the identity at inference."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.noise_common import InferenceIdentity


@dataclass
class GaussianDropout(InferenceIdentity):
    kind = "GaussianDropout"
    keras_classes = ("GaussianDropout",)

    rate: float = 0.5
    seed: int | None = None
