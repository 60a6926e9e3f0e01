"""AveragePooling3D: window mean (valid/same; 'same' windows count real cells only)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import AveragePoolingND


@dataclass
class AveragePooling3D(AveragePoolingND):
    kind = "AveragePooling3D"
    keras_classes = ('AveragePooling3D', 'AvgPool3D')
    rank = 3
