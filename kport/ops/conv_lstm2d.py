"""ConvLSTM2D: a convolutional LSTM over 2-D frames; see conv_lstm_common."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_lstm_common import ConvLSTMBase


@dataclass
class ConvLSTM2D(ConvLSTMBase):
    kind = "ConvLSTM2D"
    keras_classes = ("ConvLSTM2D",)
    rank = 2
