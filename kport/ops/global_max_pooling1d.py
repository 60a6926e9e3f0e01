"""GlobalMaxPooling1D: maximum over the spatial axes (keepdims optional)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import GlobalMaxPoolingND


@dataclass
class GlobalMaxPooling1D(GlobalMaxPoolingND):
    kind = "GlobalMaxPooling1D"
    keras_classes = ('GlobalMaxPooling1D', 'GlobalMaxPool1D')
    rank = 1
