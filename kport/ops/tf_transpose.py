"""TFTranspose: `tf.transpose(x, perm)` (tf.keras saves it as `compat.v1.transpose`); no perm reverses the axes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFTranspose(TFFunctionOp):
    kind = "TFTranspose"
    keras_classes = tf_classes("transpose", "compat.v1.transpose", "linalg.matrix_transpose")
    keras3_refusal: ClassVar[str] = "not written yet (Keras 3 has no matrix_transpose operation)"
    keras3_ops = {fn: ("keras.src.ops.numpy", "Transpose", {"axes": "perm"})
                  for fn in ("transpose", "compat.v1.transpose")}

    function: str = "compat.v1.transpose"
    perm: tuple | None = None

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("takes a constant or a list as its operand")
        if args.constant("conjugate", False):
            raise args.refuse("conjugates; kport converts real tensors only")
        if self.function == "linalg.matrix_transpose":
            return {}
        return {"perm": args.constant("perm")}

    def tf_call(self, n_inputs: int):
        if self.function == "linalg.matrix_transpose":
            return TENSOR, {}
        return TENSOR, {"perm": None if self.perm is None else list(self.perm), "conjugate": False}

    def _perm(self, rank: int) -> list[int]:
        if self.function == "linalg.matrix_transpose":
            return list(range(rank - 2)) + [rank - 1, rank - 2]
        if self.perm is None:
            return list(reversed(range(rank)))
        return [p % rank for p in self.perm]

    def output_shapes(self, in_shapes):
        return [tuple(in_shapes[0][p] for p in self._perm(len(in_shapes[0])))]

    def reference(self, xs, w):
        return [np.transpose(xs[0], self._perm(xs[0].ndim))]

    def to_onnx(self, g, xs, w, node):
        return [g.op("Transpose", [xs[0]], perm=self._perm(len(node.in_shapes[0])))]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"{xs[0]}.permute({self._perm(len(node.in_shapes[0]))})")]
