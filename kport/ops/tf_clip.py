"""TFClip: `tf.clip_by_value(x, min, max)` with constant scalar bounds."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFClip(TFFunctionOp):
    kind = "TFClip"
    keras_classes = tf_classes("clip_by_value")
    keras3_ops = {"clip_by_value": ("keras.src.ops.numpy", "Clip", {"x_min": "clip_value_min", "x_max": "clip_value_max"})}

    function: str = "clip_by_value"
    clip_value_min: float = 0.0
    clip_value_max: float = 0.0

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("clips a constant or a list")
        bounds = {}
        for name in ("clip_value_min", "clip_value_max"):
            value = args.constant(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise args.refuse(f"has {name}={value!r}; kport converts scalar bounds only")
            bounds[name] = float(value)
        return bounds

    def tf_call(self, n_inputs: int):
        return TENSOR, {"clip_value_min": self.clip_value_min, "clip_value_max": self.clip_value_max}

    def reference(self, xs, w):
        # TF takes the max with the lower bound first, then the min with the upper one
        x = xs[0]
        return [np.minimum(np.maximum(x, np.float32(self.clip_value_min)), np.float32(self.clip_value_max))]

    def to_onnx(self, g, xs, w, node):
        lo = g.const(np.array(self.clip_value_min, np.float32))
        hi = g.const(np.array(self.clip_value_max, np.float32))
        return [g.op("Min", [g.op("Max", [xs[0], lo]), hi])]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"torch.clamp({xs[0]}, min={self.clip_value_min!r}, max={self.clip_value_max!r})")]
