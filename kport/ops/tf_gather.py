"""TFGather: `tf.gather(x, indices, axis)` with constant indices (tf.keras saves `compat.v1.gather`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from kport.errors import ExportError, ShapeError, UnsupportedLayerError
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, keras3_operands, tf_classes


@dataclass
class TFGather(TFFunctionOp):
    kind = "TFGather"
    keras_classes = tf_classes("gather", "compat.v1.gather")
    keras3_ops = {fn: ("keras.src.ops.numpy", "Take", {"axis": "axis"}) for fn in ("gather", "compat.v1.gather")}

    def bind_call(self, call, n_inputs):
        if getattr(self, "_from_keras3_config", False):  # Keras 3: the indices are the second argument
            x, indices = keras3_operands(call, 2)
            if x is not None or indices is None:
                raise UnsupportedLayerError("Take needs a tensor and constant indices",
                                            hint="take with a constant list of indices")
            return dataclasses.replace(self, indices=indices)
        return super().bind_call(call, n_inputs)

    def keras3_args(self, refs):
        return [refs[0], np.asarray(self.indices).tolist()]

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

    def keras_node(self, flavor, refs, node):
        if flavor == "tf.keras" and (np.asarray(self.indices) < 0).any():
            raise ExportError("tf.gather rejects negative indices (Keras 3 take counts them from the end)",
                              layer=node.layer, hint="use non-negative indices, or write a Keras 3 file")
        return super().keras_node(flavor, refs, node)

    def tf_call(self, n_inputs: int):
        indices = self.indices
        return TENSOR, {"indices": np.asarray(indices).tolist(), "axis": self.axis, "batch_dims": 0}

    def output_shapes(self, in_shapes):
        shape = list(in_shapes[0])
        axis = self.axis % len(shape)
        size = shape[axis]
        index = np.asarray(self.indices)
        if size is not None and ((index >= size) | (index < -size)).any():
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
        if (index < 0).any():  # Keras 3 take counts from the end; index_select does not
            size = node.in_shapes[0][axis]
            if size is None:
                raise ExportError("negative indices over an axis of unknown size have no PyTorch form in kport",
                                  layer=node.layer, hint="use non-negative indices")
            index = index % size
        if index.ndim == 0:
            return [t.line(f"{xs[0]}.select({axis}, {int(index)})")]
        y = t.line(f"torch.index_select({xs[0]}, {axis}, torch.tensor({index.ravel().tolist()}, "
                   f"device={xs[0]}.device))")
        if index.ndim > 1:  # index_select takes flat indices: restore the index shape
            y = t.line(f"{y}.unflatten({axis}, {list(index.shape)})")
        return [y]
