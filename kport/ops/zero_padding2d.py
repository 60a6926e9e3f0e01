"""ZeroPadding2D: zeros added before/after each spatial axis."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.spatial_common import ZeroPaddingND


@dataclass
class ZeroPadding2D(ZeroPaddingND):
    kind = "ZeroPadding2D"
    keras_classes = ('ZeroPadding2D',)
    rank = 2
