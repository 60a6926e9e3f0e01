"""Conv1D: temporal convolution (padding valid/same/causal), kernel (k, in // groups, filters)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_families import ConvND


@dataclass
class Conv1D(ConvND):
    kind = "Conv1D"
    keras_classes = ('Conv1D', 'Convolution1D', 'AtrousConvolution1D')
    rank = 1
