"""TFTile: `tf.tile(x, multiples)` with constant multiples (the batch axis included)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFTile(TFFunctionOp):
    kind = "TFTile"
    keras_classes = tf_classes("tile")
    keras3_ops = {"tile": ("keras.src.ops.numpy", "Tile", {"repeats": "multiples"})}

    function: str = "tile"
    multiples: tuple = ()

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("tiles a constant or a list")
        multiples = args.constant("multiples")
        if not isinstance(multiples, tuple) or not all(isinstance(m, int) for m in multiples):
            raise args.refuse(f"has multiples {multiples!r}; kport converts a constant list of ints")
        return {"multiples": multiples}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"multiples": list(self.multiples)}

    def output_shapes(self, in_shapes):
        return [tuple(None if d is None else d * m for d, m in zip(in_shapes[0], self.multiples))]

    def reference(self, xs, w):
        return [np.tile(xs[0], self.multiples)]

    def to_onnx(self, g, xs, w, node):
        return [g.op("Tile", [xs[0], g.const(np.array(self.multiples, np.int64))])]

    def to_torch(self, t, xs, w, node):
        return [t.line(f"{xs[0]}.repeat({list(self.multiples)})")]
