"""Conv3DTranspose: transposed volumetric convolution, kernel (kd, kh, kw, filters, in)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_families import ConvTransposeND


@dataclass
class Conv3DTranspose(ConvTransposeND):
    kind = "Conv3DTranspose"
    keras_classes = ('Conv3DTranspose', 'Convolution3DTranspose', 'Deconvolution3D')
    rank = 3
