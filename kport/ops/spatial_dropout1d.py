"""SpatialDropout1D: drops whole feature maps in training; the identity at inference."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.noise_common import InferenceIdentity


@dataclass
class SpatialDropout1D(InferenceIdentity):
    kind = "SpatialDropout1D"
    keras_classes = ("SpatialDropout1D",)
    # Keras 3's constructor takes no `trainable`
    keras_base_omit = {"keras3": ("trainable",)}

    rate: float = 0.5
    seed: int | None = None
