"""AveragePooling1D: window mean (valid/same; 'same' windows count real cells only)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import AveragePoolingND


@dataclass
class AveragePooling1D(AveragePoolingND):
    kind = "AveragePooling1D"
    keras_classes = ('AveragePooling1D', 'AvgPool1D')
    rank = 1
