"""GlobalMaxPooling3D: maximum over the spatial axes (keepdims optional)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import GlobalMaxPoolingND


@dataclass
class GlobalMaxPooling3D(GlobalMaxPoolingND):
    kind = "GlobalMaxPooling3D"
    keras_classes = ('GlobalMaxPooling3D', 'GlobalMaxPool3D')
    rank = 3
