"""AveragePooling2D: window mean (valid/same; 'same' windows count real cells only)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import AveragePoolingND


@dataclass
class AveragePooling2D(AveragePoolingND):
    kind = "AveragePooling2D"
    keras_classes = ('AveragePooling2D', 'AvgPool2D')
    rank = 2
