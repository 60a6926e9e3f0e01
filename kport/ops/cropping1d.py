"""Cropping1D: cells removed from the start/end of each spatial axis."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.spatial_common import CroppingND


@dataclass
class Cropping1D(CroppingND):
    kind = "Cropping1D"
    keras_classes = ('Cropping1D',)
    rank = 1
