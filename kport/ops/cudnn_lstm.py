"""CuDNNLSTM (Keras 2 / tf.keras 1.x): an LSTM with tanh / sigmoid and split input and recurrent biases.

Weights keep the Keras layout: kernel (in, 4u) and recurrent_kernel (u, 4u) in
gate order i, f, c, o, bias (8u,) = input biases then recurrent biases. The
math is the LSTM's with the two biases summed (what Keras does converting
CuDNNLSTM weights to LSTM); ONNX takes the halves as its Wb and Rb.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ExportError
from kport.ops.base import ImportContext
from kport.ops.lstm import LSTM


@dataclass
class CuDNNLSTM(LSTM):
    kind = "CuDNNLSTM"
    keras_classes = ("CuDNNLSTM",)

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "CuDNNLSTM":
        op = super().from_keras(config, ctx)
        op.activation, op.recurrent_activation, op.use_bias = "tanh", "sigmoid", True  # fixed by cuDNN
        return op

    def keras_config(self, flavor: str = "keras3") -> dict:
        """tf.keras spelling (cuDNN fixes the activations); Keras 3 has no CuDNNLSTM."""
        if flavor == "keras3":
            raise ExportError("CuDNNLSTM has no Keras 3 class", hint="write a tf.keras file (--to h5)")
        cfg = super().keras_config(flavor)
        for key in ("activation", "recurrent_activation", "use_bias", "unroll", "time_major"):
            cfg.pop(key, None)
        return cfg

    def weight_shapes(self, in_shapes):
        shapes = super().weight_shapes(in_shapes)
        shapes["bias"] = (8 * self.units,)
        return shapes

    def as_lstm_weights(self, w: dict) -> dict:
        """The equivalent LSTM weights: the two bias halves summed."""
        halves = np.split(w["bias"], 2)
        return dict(w, bias=(halves[0] + halves[1]).astype(np.float32))

    def reference_node(self, xs, w, call):
        return super().reference_node(xs, self.as_lstm_weights(w), call)

    def onnx_weights(self, w):
        # cuDNN's fixed activations always take the native operator, which this feeds
        return super().onnx_weights(self.as_lstm_weights(w))
