"""LSTM with Keras gate order i, f, c, o (kernel, recurrent_kernel, bias in Keras order).

i = ra(z_i), f = ra(z_f), c = f*c' + i*a(z_c), o = ra(z_o), h = o*a(c), with
z = x @ kernel + h' @ recurrent_kernel + bias, ra = recurrent_activation, a = activation.
ONNX orders gates i, o, f, c.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.rnn_common import RecurrentOp, activation

# Keras gate blocks (i, f, c, o) in ONNX's order (i, o, f, c)
ONNX_GATE_ORDER = (0, 3, 1, 2)


def reorder_gates(a: np.ndarray, order, axis: int = -1) -> np.ndarray:
    """Permutes the equal gate blocks of a fused weight along `axis`."""
    blocks = np.split(a, len(order), axis=axis)
    return np.concatenate([blocks[k] for k in order], axis=axis)


@dataclass
class LSTM(RecurrentOp):
    kind = "LSTM"
    keras_classes = ("LSTM",)
    n_states = 2

    recurrent_activation: str = "sigmoid"

    def weight_shapes(self, in_shapes):
        features, u = in_shapes[0][-1], self.units
        shapes = {"kernel": (features, 4 * u), "recurrent_kernel": (u, 4 * u)}
        if self.use_bias:
            shapes["bias"] = (4 * u,)
        return shapes

    def step(self, xp, states, w):
        h, c = states
        z = xp + h @ w["recurrent_kernel"]
        zi, zf, zc, zo = np.split(z, 4, axis=-1)
        ra = self.recurrent_activation
        c = activation(ra, zf) * c + activation(ra, zi) * activation(self.activation, zc)
        h = activation(ra, zo) * activation(self.activation, c)
        return h, [h, c]

    # ---- ONNX ----------------------------------------------------------------
    def onnx_activation_names(self) -> list[str]:
        return [self.recurrent_activation, self.activation, self.activation]

    def onnx_weights(self, w):
        wi = reorder_gates(w["kernel"], ONNX_GATE_ORDER).T
        ri = reorder_gates(w["recurrent_kernel"], ONNX_GATE_ORDER).T
        bias = None
        if self.use_bias:
            b = reorder_gates(w["bias"], ONNX_GATE_ORDER)
            bias = np.concatenate([b, np.zeros_like(b)])
        return "LSTM", wi, ri, bias, {}

    def onnx_step_consts(self, g, w, layer):
        return {"recurrent_kernel": g.const(w["recurrent_kernel"], f"{layer}/recurrent_kernel")}

    def step_onnx(self, g, xt, states, c):
        from kport.ops.rnn_onnx import act

        h, cell = states
        z = g.op("Add", [xt, g.op("MatMul", [h, c["recurrent_kernel"]])])
        zi, zf, zc, zo = _split4(g, z)
        ra = self.recurrent_activation
        cell = g.op("Add", [g.op("Mul", [act(g, ra, zf), cell]),
                            g.op("Mul", [act(g, ra, zi), act(g, self.activation, zc)])])
        h = g.op("Mul", [act(g, ra, zo), act(g, self.activation, cell)])
        return h, [h, cell]


def _split4(g, z):
    if g.opset >= 18:
        return g.op("Split", [z], n_out=4, axis=-1, num_outputs=4)
    return g.op("Split", [z], n_out=4, axis=-1)
