"""Conv3D: volumetric convolution, kernel (kd, kh, kw, in // groups, filters)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_families import ConvND


@dataclass
class Conv3D(ConvND):
    kind = "Conv3D"
    keras_classes = ('Conv3D', 'Convolution3D')
    rank = 3
