"""GlobalMaxPooling2D: maximum over the spatial axes (keepdims optional)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import GlobalMaxPoolingND


@dataclass
class GlobalMaxPooling2D(GlobalMaxPoolingND):
    kind = "GlobalMaxPooling2D"
    keras_classes = ('GlobalMaxPooling2D', 'GlobalMaxPool2D')
    rank = 2
