"""ZeroPadding1D: zeros added before/after each spatial axis."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.spatial_common import ZeroPaddingND


@dataclass
class ZeroPadding1D(ZeroPaddingND):
    kind = "ZeroPadding1D"
    keras_classes = ('ZeroPadding1D',)
    rank = 1
