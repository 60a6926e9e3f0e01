"""UpSampling1D: each time step repeated `size` times."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.spatial_common import UpSamplingND


@dataclass
class UpSampling1D(UpSamplingND):
    kind = "UpSampling1D"
    keras_classes = ('UpSampling1D',)
    rank = 1
