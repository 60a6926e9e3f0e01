"""GlobalAveragePooling1D: mean over the spatial axes (keepdims optional)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import GlobalAveragePoolingND


@dataclass
class GlobalAveragePooling1D(GlobalAveragePoolingND):
    kind = "GlobalAveragePooling1D"
    keras_classes = ('GlobalAveragePooling1D', 'GlobalAvgPool1D')
    rank = 1
