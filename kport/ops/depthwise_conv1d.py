"""DepthwiseConv1D: one temporal kernel per channel, depthwise_kernel (k, in, depth_multiplier)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_families import DepthwiseConvND


@dataclass
class DepthwiseConv1D(DepthwiseConvND):
    kind = "DepthwiseConv1D"
    keras_classes = ('DepthwiseConv1D',)
    rank = 1
