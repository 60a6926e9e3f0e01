"""SpatialDropout1D: drops whole feature maps in training; the identity at inference."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.noise_common import SpatialDropout


@dataclass
class SpatialDropout1D(SpatialDropout):
    kind = "SpatialDropout1D"
    keras_classes = ("SpatialDropout1D",)
