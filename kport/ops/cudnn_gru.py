"""CuDNNGRU (Keras 2 / tf.keras 1.x): a GRU with tanh / sigmoid in the reset-after form.

Weights keep the Keras layout: kernel (in, 3u), recurrent_kernel (u, 3u) in
gate order z, r, h, bias (6u,) = input biases then recurrent biases, i.e. the
(2, 3u) bias of GRU(reset_after=True), which computes the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass

from kport.errors import ExportError
from kport.ops.base import ImportContext
from kport.ops.gru import GRU


@dataclass
class CuDNNGRU(GRU):
    kind = "CuDNNGRU"
    keras_classes = ("CuDNNGRU",)

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "CuDNNGRU":
        op = super().from_keras(config, ctx)
        op.activation, op.recurrent_activation, op.use_bias, op.reset_after = "tanh", "sigmoid", True, True
        return op

    def keras_config(self, flavor: str = "keras3") -> dict:
        """tf.keras spelling (cuDNN fixes the activations); Keras 3 has no CuDNNGRU."""
        if flavor == "keras3":
            raise ExportError("CuDNNGRU has no Keras 3 class", hint="write a tf.keras file (--to h5)")
        cfg = super().keras_config(flavor)
        for key in ("activation", "recurrent_activation", "use_bias", "reset_after", "unroll", "time_major"):
            cfg.pop(key, None)
        return cfg

    def weight_shapes(self, in_shapes):
        shapes = super().weight_shapes(in_shapes)
        shapes["bias"] = (6 * self.units,)
        return shapes

    def as_gru_weights(self, w: dict) -> dict:
        """The equivalent GRU(reset_after=True) weights: the bias as (2, 3u)."""
        return dict(w, bias=w["bias"].reshape(2, 3 * self.units))

    def reference_node(self, xs, w, call):
        return super().reference_node(xs, self.as_gru_weights(w), call)

    def onnx_weights(self, w):
        # cuDNN's fixed activations always take the native operator, which this feeds
        return super().onnx_weights(self.as_gru_weights(w))
