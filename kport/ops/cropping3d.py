"""Cropping3D: cells removed from the start/end of each spatial axis."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.spatial_common import CroppingND


@dataclass
class Cropping3D(CroppingND):
    kind = "Cropping3D"
    keras_classes = ('Cropping3D',)
    rank = 3
