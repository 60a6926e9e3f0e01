"""Identity: returns its input (Keras 3 `keras.layers.Identity`)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.base import ImportContext, Op


@dataclass
class Identity(Op):
    kind = "Identity"
    keras_classes = ("Identity",)

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Identity":
        op = super().from_keras(config, ctx)
        # Keras 3 passes an incoming mask through this layer; tf.keras and Keras 2 drop it
        # (read by importers/masks.py while the graph is built)
        op.propagates_mask = ctx.flavor == "keras3"
        return op

    def reference(self, xs, w):
        return [xs[0]]

    def to_onnx(self, g, xs, w, node):
        return [xs[0]]

    def to_torch(self, t, xs, w, node):
        return [xs[0]]
