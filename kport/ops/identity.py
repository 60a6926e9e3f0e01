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

    def keras_node(self, flavor: str, refs: list, node) -> dict | None:
        """tf.keras's Identity drops an incoming mask: where this one passes it on (a Keras 3 Identity, a
        tf.keras Lambda returning its input), the tf.keras writer spells Activation('linear'), the same
        identity, which tf.keras passes masks through. None: the plain entry."""
        if flavor == "keras3" or not getattr(self, "propagates_mask", False):
            return None
        from kport.ops.rnn_common import keras_call_node

        return {**keras_call_node(flavor, refs, node, [0], {}), "class_name": "Activation",
                "config": {"trainable": False, "dtype": "float32", "activation": "linear"}}

    def reference(self, xs, w):
        return [xs[0]]

    def to_onnx(self, g, xs, w, node):
        return [xs[0]]

    def to_torch(self, t, xs, w, node):
        return [xs[0]]
