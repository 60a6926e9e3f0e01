"""Identity: returns its input (Keras 3 `keras.layers.Identity`)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.base import Op


@dataclass
class Identity(Op):
    kind = "Identity"
    keras_classes = ("Identity",)

    def reference(self, xs, w):
        return [xs[0]]

    def to_onnx(self, g, xs, w, node):
        return [xs[0]]

    def to_torch(self, t, xs, w, node):
        return [xs[0]]
