"""GlobalAveragePooling2D: mean over the spatial axes (keepdims optional)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import GlobalAveragePoolingND


@dataclass
class GlobalAveragePooling2D(GlobalAveragePoolingND):
    kind = "GlobalAveragePooling2D"
    keras_classes = ('GlobalAveragePooling2D', 'GlobalAvgPool2D')
    rank = 2
