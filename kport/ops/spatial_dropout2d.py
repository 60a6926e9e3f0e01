"""SpatialDropout2D: drops whole feature maps in training; the identity at inference."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.noise_common import SpatialDropoutMaps


@dataclass
class SpatialDropout2D(SpatialDropoutMaps):
    kind = "SpatialDropout2D"
    keras_classes = ("SpatialDropout2D",)
