"""Average: the mean of its inputs, summed left to right then divided, as Keras does."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import UnsupportedLayerError
from kport.ops.merge_common import ElementwiseMerge
from kport.ops.onnx_common import scalar


@dataclass
class Average(ElementwiseMerge):
    kind = "Average"
    keras_classes = ("Average",)
    onnx_binary = "Add"

    def torch_binary(self, a, b):
        return f"({a} + {b})"

    @classmethod
    def from_keras(cls, config, ctx):
        if "axis" in config:  # keras.ops.average(x, axis, weights): a reduction, not the merge layer
            raise UnsupportedLayerError("the Keras 3 operation keras.ops.average is not supported",
                                        hint="use keras.ops.mean, or the Average merge layer")
        return super().from_keras(config, ctx)

    def combine(self, a, b):
        return a + b

    def finish(self, y, n):
        return y / np.float32(n)

    def finish_onnx(self, g, y, n):
        return g.op("Div", [y, scalar(g, float(n))])

    def finish_torch(self, y, n):
        return f"{y} / {float(n)!r}"
