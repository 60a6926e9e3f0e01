"""UpSampling2D: rows and columns stretched by integer factors (nearest or bilinear)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.spatial_common import UpSamplingND


@dataclass
class UpSampling2D(UpSamplingND):
    kind = "UpSampling2D"
    keras_classes = ('UpSampling2D',)
    rank = 2
