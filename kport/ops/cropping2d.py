"""Cropping2D: cells removed from the start/end of each spatial axis."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.spatial_common import CroppingND


@dataclass
class Cropping2D(CroppingND):
    kind = "Cropping2D"
    keras_classes = ('Cropping2D',)
    rank = 2
