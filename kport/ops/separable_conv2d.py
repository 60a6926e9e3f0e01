"""SeparableConv2D: depthwise spatial conv then a pointwise (1x1) conv."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_families import SeparableConvND


@dataclass
class SeparableConv2D(SeparableConvND):
    kind = "SeparableConv2D"
    keras_classes = ('SeparableConv2D', 'SeparableConvolution2D')
    rank = 2
