"""SeparableConv1D: depthwise temporal conv then a pointwise (1x1) conv."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_families import SeparableConvND


@dataclass
class SeparableConv1D(SeparableConvND):
    kind = "SeparableConv1D"
    keras_classes = ('SeparableConv1D', 'SeparableConvolution1D')
    rank = 1
