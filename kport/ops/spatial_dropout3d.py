"""SpatialDropout3D: drops whole feature maps in training; the identity at inference."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.noise_common import SpatialDropoutMaps


@dataclass
class SpatialDropout3D(SpatialDropoutMaps):
    kind = "SpatialDropout3D"
    keras_classes = ("SpatialDropout3D",)
