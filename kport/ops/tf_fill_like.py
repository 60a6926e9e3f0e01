"""TFFillLike: `tf.ones_like(x)` / `tf.zeros_like(x)`: a constant tensor of x's shape."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes

_VALUES = {"ones_like": 1.0, "zeros_like": 0.0}


@dataclass
class TFFillLike(TFFunctionOp):
    kind = "TFFillLike"
    keras_classes = tf_classes(*_VALUES)
    keras3_refusal: ClassVar[str] = "not written yet (Keras 3 ops.ones_like is not mapped)"

    function: str = "ones_like"

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("fills like a constant or a list")
        if args.constant("dtype") not in (None, "float32"):
            raise args.refuse("sets a dtype; kport converts float32 fills only")
        args.constant("optimize")
        return {}

    def tf_call(self, n_inputs: int):
        return TENSOR, {}

    def reference(self, xs, w):
        return [np.full_like(xs[0], _VALUES[self.function])]

    def to_onnx(self, g, xs, w, node):
        value = g.const(np.array(_VALUES[self.function], np.float32))
        return [g.op("Expand", [value, g.op("Shape", [xs[0]])])]

    def to_torch(self, t, xs, w, node):
        fn = "torch.ones_like" if self.function == "ones_like" else "torch.zeros_like"
        return [t.line(f"{fn}({xs[0]})")]
