"""Conv2DTranspose: transposed spatial convolution, kernel (kh, kw, filters, in)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_families import ConvTransposeND


@dataclass
class Conv2DTranspose(ConvTransposeND):
    kind = "Conv2DTranspose"
    keras_classes = ('Conv2DTranspose', 'Convolution2DTranspose', 'Deconvolution2D')
    rank = 2
