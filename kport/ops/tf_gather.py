"""TFGather: `tf.gather(x, indices, axis)` with constant indices (tf.keras saves `compat.v1.gather`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ShapeError
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFGather(TFFunctionOp):
    kind = "TFGather"
    keras_classes = tf_classes("gather", "compat.v1.gather")
    keras3_refusal: ClassVar[str] = "not written yet (Keras 3 ops.take is not mapped)"

    function: str = "compat.v1.gather"
    indices: int | tuple = 0
    axis: int = 0

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("gathers from a constant or a list")
        if args.constant("batch_dims", 0) not in (0, None):
            raise args.refuse("sets batch_dims; kport converts batch_dims=0 only")
        args.constant("validate_indices")
        indices = args.constant("indices")
        axis = args.constant("axis", 0)
        flat = np.asarray(indices).ravel().tolist() if indices is not None else []
        if indices is None or not all(isinstance(i, int) and not isinstance(i, bool) for i in flat):
            raise args.refuse(f"has indices {indices!r}; kport converts constant ints")
        if any(i < 0 for i in flat):  # TensorFlow itself fails on them (CPU) or returns zeros (GPU)
            raise args.refuse(f"has negative indices {indices!r}, which TensorFlow rejects")
        return {"indices": indices, "axis": 0 if axis is None else axis}

    def tf_call(self, n_inputs: int):
        indices = self.indices
        return TENSOR, {"indices": np.asarray(indices).tolist(), "axis": self.axis, "batch_dims": 0}

    def output_shapes(self, in_shapes):
        shape = list(in_shapes[0])
        axis = self.axis % len(shape)
        size = shape[axis]
        index = np.asarray(self.indices)
        if size is not None and (index >= size).any():
            raise ShapeError(f"tf.gather indices {self.indices} are out of range for an axis of size {size}")
        return [tuple(shape[:axis]) + index.shape + tuple(shape[axis + 1:])]

    def reference(self, xs, w):
        x = xs[0]
        return [np.take(x, np.asarray(self.indices), axis=self.axis % x.ndim)]

    def to_onnx(self, g, xs, w, node):
        axis = self.axis % len(node.in_shapes[0])
        return [g.op("Gather", [xs[0], g.const(np.asarray(self.indices, np.int64))], axis=axis)]

    def to_torch(self, t, xs, w, node):
        axis = self.axis % len(node.in_shapes[0])
        index = np.asarray(self.indices)
        if index.ndim == 0:
            return [t.line(f"{xs[0]}.select({axis}, {int(index)})")]
        y = t.line(f"torch.index_select({xs[0]}, {axis}, torch.tensor({index.ravel().tolist()}, "
                   f"device={xs[0]}.device))")
        if index.ndim > 1:  # index_select takes flat indices: restore the index shape
            y = t.line(f"{y}.unflatten({axis}, {list(index.shape)})")
        return [y]
