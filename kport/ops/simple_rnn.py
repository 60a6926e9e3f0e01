"""SimpleRNN: h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.rnn_common import RecurrentOp, activation


@dataclass
class SimpleRNN(RecurrentOp):
    kind = "SimpleRNN"
    keras_classes = ("SimpleRNN",)

    def weight_shapes(self, in_shapes):
        features = in_shapes[0][-1]
        shapes = {"kernel": (features, self.units), "recurrent_kernel": (self.units, self.units)}
        if self.use_bias:
            shapes["bias"] = (self.units,)
        return shapes

    def step(self, xp, states, w):
        h = activation(self.activation, xp + states[0] @ w["recurrent_kernel"])
        return h, [h]

    # ---- ONNX ----------------------------------------------------------------
    def onnx_activation_names(self) -> list[str]:
        return [self.activation]

    def onnx_weights(self, w):
        bias = None
        if self.use_bias:
            bias = np.concatenate([w["bias"], np.zeros_like(w["bias"])])
        return "RNN", w["kernel"].T, w["recurrent_kernel"].T, bias, {}

    def onnx_step_consts(self, g, w, layer):
        return {"recurrent_kernel": g.const(w["recurrent_kernel"], f"{layer}/recurrent_kernel")}

    def step_onnx(self, g, xt, states, c):
        from kport.ops.rnn_onnx import act

        h = act(g, self.activation, g.op("Add", [xt, g.op("MatMul", [states[0], c["recurrent_kernel"]])]))
        return h, [h]
