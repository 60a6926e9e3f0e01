"""Conv1DTranspose: transposed temporal convolution, kernel (k, filters, in)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_families import ConvTransposeND


@dataclass
class Conv1DTranspose(ConvTransposeND):
    kind = "Conv1DTranspose"
    keras_classes = ('Conv1DTranspose', 'Convolution1DTranspose')
    rank = 1
