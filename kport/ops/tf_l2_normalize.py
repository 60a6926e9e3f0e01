"""TFL2Normalize: `tf.math.l2_normalize(x, axis, epsilon)` = x * rsqrt(max(sum(x**2, axis), epsilon))."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.onnx_common import reduce
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFL2Normalize(TFFunctionOp):
    kind = "TFL2Normalize"
    keras_classes = tf_classes("math.l2_normalize", "nn.l2_normalize", "linalg.l2_normalize")
    keras3_refusal: ClassVar[str] = "not written yet (Keras 3 ops.normalize has another floor)"

    function: str = "math.l2_normalize"
    # None normalizes over every axis, the batch included
    axis: int | tuple | None = None
    epsilon: float = 1e-12

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("normalizes a constant or a list")
        if args.constant("dim") is not None:
            raise args.refuse("uses the deprecated 'dim'; use axis")
        return {"axis": args.constant("axis"), "epsilon": float(args.constant("epsilon", 1e-12))}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis,
                        "epsilon": self.epsilon}

    def _axes(self, rank: int) -> list[int]:
        if self.axis is None:
            return list(range(rank))
        return sorted({a % rank for a in (self.axis if isinstance(self.axis, tuple) else (self.axis,))})

    def reference(self, xs, w):
        x = xs[0]
        square_sum = np.sum(x * x, axis=tuple(self._axes(x.ndim)), keepdims=True)
        return [(x / np.sqrt(np.maximum(square_sum, np.float32(self.epsilon)))).astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        x = xs[0]
        square_sum = reduce(g, "ReduceSum", g.op("Mul", [x, x]), self._axes(len(node.in_shapes[0])), True)
        floor = g.const(np.array(self.epsilon, np.float32))
        return [g.op("Div", [x, g.op("Sqrt", [g.op("Max", [square_sum, floor])])])]

    def to_torch(self, t, xs, w, node):
        axes = self._axes(len(node.in_shapes[0]))
        x = xs[0]
        return [t.line(f"{x} / torch.sqrt(torch.clamp(torch.sum({x} * {x}, dim={axes}, keepdim=True), "
                       f"min={self.epsilon!r}))")]
