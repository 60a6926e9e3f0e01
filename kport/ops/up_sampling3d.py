"""UpSampling3D: each spatial axis repeated by an integer factor."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.spatial_common import UpSamplingND


@dataclass
class UpSampling3D(UpSamplingND):
    kind = "UpSampling3D"
    keras_classes = ('UpSampling3D',)
    rank = 3
