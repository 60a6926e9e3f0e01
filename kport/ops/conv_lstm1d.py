"""ConvLSTM1D: a convolutional LSTM over 1-D frames; see conv_lstm_common."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.conv_lstm_common import ConvLSTMBase


@dataclass
class ConvLSTM1D(ConvLSTMBase):
    kind = "ConvLSTM1D"
    keras_classes = ("ConvLSTM1D",)
    rank = 1
