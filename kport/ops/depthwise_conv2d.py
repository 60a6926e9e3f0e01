"""DepthwiseConv2D: one spatial kernel per channel, depthwise_kernel (kh, kw, in, depth_multiplier)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_families import DepthwiseConvND


@dataclass
class DepthwiseConv2D(DepthwiseConvND):
    kind = "DepthwiseConv2D"
    keras_classes = ('DepthwiseConv2D',)
    rank = 2
