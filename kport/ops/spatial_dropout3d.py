"""SpatialDropout3D: drops whole feature maps in training; the identity at inference."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_common import normalize_data_format
from kport.ops.noise_common import InferenceIdentity


@dataclass
class SpatialDropout3D(InferenceIdentity):
    kind = "SpatialDropout3D"
    keras_classes = ("SpatialDropout3D",)
    # Keras 3's constructor takes no `trainable`
    keras_base_omit = {"keras3": ("trainable",)}
    # Keras passes an incoming mask through (supports_masking in Keras 2 and 3)
    propagates_mask = True

    rate: float = 0.5
    seed: int | None = None
    data_format: str = "channels_last"

    @classmethod
    def from_keras(cls, config, ctx):
        op = super().from_keras(config, ctx)
        op.data_format = normalize_data_format(config.get("data_format") or config.get("dim_ordering"))
        return op
