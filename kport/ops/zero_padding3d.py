"""ZeroPadding3D: zeros added before/after each spatial axis."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.spatial_common import ZeroPaddingND


@dataclass
class ZeroPadding3D(ZeroPaddingND):
    kind = "ZeroPadding3D"
    keras_classes = ('ZeroPadding3D',)
    rank = 3
