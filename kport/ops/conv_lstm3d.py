"""ConvLSTM3D: a convolutional LSTM over 3-D frames; see conv_lstm_common."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_lstm_common import ConvLSTMBase


@dataclass
class ConvLSTM3D(ConvLSTMBase):
    kind = "ConvLSTM3D"
    keras_classes = ("ConvLSTM3D",)
    rank = 3
