"""GRU with Keras gate order z, r, h, both forms of the reset gate.

reset_after=True (tf.keras 2 / Keras 3 default, CuDNN-compatible): bias (2, 3u) = input and
recurrent biases, hh = a(x_h + r * (h' @ U_h + b_rh)); ONNX `linear_before_reset=1`.
reset_after=False (multi-backend Keras 2 default): bias (3u,), hh = a(x_h + (r * h') @ U_h).
h = z * h' + (1 - z) * hh. ONNX GRU uses the same z, r, h order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import ImportContext
from kport.ops.rnn_common import RecurrentOp, activation


@dataclass
class GRU(RecurrentOp):
    kind = "GRU"
    keras_classes = ("GRU",)

    recurrent_activation: str = "sigmoid"
    reset_after: bool = True

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "GRU":
        op = super().from_keras(config, ctx)
        if "reset_after" not in config:
            # the option arrived in Keras 2.1.3 defaulting to False; tf.keras 2 and Keras 3 default to True
            op.reset_after = ctx.flavor != "keras"
        return op

    def weight_shapes(self, in_shapes):
        features, u = in_shapes[0][-1], self.units
        shapes = {"kernel": (features, 3 * u), "recurrent_kernel": (u, 3 * u)}
        if self.use_bias:
            shapes["bias"] = (2, 3 * u) if self.reset_after else (3 * u,)
        return shapes

    def step(self, xp, states, w):
        h = states[0]
        u = self.units
        rk = w["recurrent_kernel"]
        xz, xr, xh = np.split(xp, 3, axis=-1)
        ra = self.recurrent_activation
        if self.reset_after:
            inner = h @ rk
            if self.use_bias:
                inner = inner + w["bias"][1]
            rz, rr, rh = np.split(inner, 3, axis=-1)
            z = activation(ra, xz + rz)
            r = activation(ra, xr + rr)
            hh = activation(self.activation, xh + r * rh)
        else:
            z = activation(ra, xz + h @ rk[:, :u])
            r = activation(ra, xr + h @ rk[:, u:2 * u])
            hh = activation(self.activation, xh + (r * h) @ rk[:, 2 * u:])
        h = z * h + (1 - z) * hh
        return h, [h]

    # ---- ONNX ----------------------------------------------------------------
    def onnx_activation_names(self) -> list[str]:
        return [self.recurrent_activation, self.activation]

    def onnx_weights(self, w):
        bias = None
        if self.use_bias:
            b = w["bias"]
            bias = np.concatenate([b[0], b[1]]) if self.reset_after else np.concatenate([b, np.zeros_like(b)])
        return ("GRU", w["kernel"].T, w["recurrent_kernel"].T, bias,
                {"linear_before_reset": int(self.reset_after)})

    def onnx_step_consts(self, g, w, layer):
        u = self.units
        rk = w["recurrent_kernel"]
        consts = {"rk_zr": g.const(rk[:, :2 * u], f"{layer}/recurrent_kernel_zr"),
                  "rk_h": g.const(rk[:, 2 * u:], f"{layer}/recurrent_kernel_h")}
        if self.reset_after and self.use_bias:
            consts["rb_zr"] = g.const(w["bias"][1][:2 * u], f"{layer}/recurrent_bias_zr")
            consts["rb_h"] = g.const(w["bias"][1][2 * u:], f"{layer}/recurrent_bias_h")
        return consts

    def step_onnx(self, g, xt, states, c):
        from kport.ops.rnn_onnx import act

        h = states[0]
        u = self.units
        xzr = g.op("Slice", [xt, g.ints([0]), g.ints([2 * u]), g.ints([-1])])
        xh = g.op("Slice", [xt, g.ints([2 * u]), g.ints([3 * u]), g.ints([-1])])
        inner_zr = g.op("MatMul", [h, c["rk_zr"]])
        if "rb_zr" in c:
            inner_zr = g.op("Add", [inner_zr, c["rb_zr"]])
        zr = act(g, self.recurrent_activation, g.op("Add", [xzr, inner_zr]))
        z = g.op("Slice", [zr, g.ints([0]), g.ints([u]), g.ints([-1])])
        r = g.op("Slice", [zr, g.ints([u]), g.ints([2 * u]), g.ints([-1])])
        if self.reset_after:
            rh = g.op("MatMul", [h, c["rk_h"]])
            if "rb_h" in c:
                rh = g.op("Add", [rh, c["rb_h"]])
            hh = act(g, self.activation, g.op("Add", [xh, g.op("Mul", [r, rh])]))
        else:
            hh = act(g, self.activation, g.op("Add", [xh, g.op("MatMul", [g.op("Mul", [r, h]), c["rk_h"]])]))
        one_minus_z = g.op("Sub", [g.const(np.array(1, np.float32)), z])
        h = g.op("Add", [g.op("Mul", [z, h]), g.op("Mul", [one_minus_z, hh])])
        return h, [h]
