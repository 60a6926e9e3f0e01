"""GlobalAveragePooling3D: mean over the spatial axes (keepdims optional)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import GlobalAveragePoolingND


@dataclass
class GlobalAveragePooling3D(GlobalAveragePoolingND):
    kind = "GlobalAveragePooling3D"
    keras_classes = ('GlobalAveragePooling3D', 'GlobalAvgPool3D')
    rank = 3
