"""Conv2D: spatial convolution, kernel (kh, kw, in // groups, filters)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_families import ConvND


@dataclass
class Conv2D(ConvND):
    kind = "Conv2D"
    keras_classes = ('Conv2D', 'Convolution2D', 'AtrousConvolution2D')
    rank = 2
