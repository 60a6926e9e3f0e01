"""TFArgReduce: `tf.math.argmax` / `argmin` along one axis (the first of equal values; int64 or int32 out)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes

# TF function -> (numpy, ONNX op, torch function)
_FUNCTIONS = {"math.argmax": (np.argmax, "ArgMax", "torch.argmax"), "math.argmin": (np.argmin, "ArgMin", "torch.argmin")}
_ONNX_TYPES = {"int64": 7, "int32": 6}


@dataclass
class TFArgReduce(TFFunctionOp):
    kind = "TFArgReduce"
    keras_classes = tf_classes(*_FUNCTIONS)
    keras3_refusal: ClassVar[str] = "Keras 3 ops.argmax gives int32; this one gives int64"
    keras3_ops = {"math.argmax": ("keras.src.ops.numpy", "Argmax", {"axis": "axis"}),
                  "math.argmin": ("keras.src.ops.numpy", "Argmin", {"axis": "axis"})}

    @classmethod
    def from_keras(cls, config, ctx):
        op = super().from_keras(config, ctx)
        if getattr(op, "_from_keras3_config", False):  # Keras 3 argmax gives int32
            op = dataclasses.replace(op, output_type="int32")
            op._from_keras3_config = True
        return op

    def keras3_node(self, refs, node):
        if self.output_type != "int32":
            # named so the refusal says why: Keras 3 argmax gives int32 (calling self here would recurse)
            return TFFunctionOp.keras3_node(dataclasses.replace(self, function=f"{self.function} (int64)"),
                                            refs, node)
        return super().keras3_node(refs, node)

    function: str = "math.argmax"
    axis: int = 0
    output_type: str = "int64"

    @property
    def output_dtype(self) -> str:
        return self.output_type

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("reduces a constant or a list")
        axis = args.constant("axis")
        output_type = args.constant("output_type", "int64") or "int64"
        if args.constant("dimension") is not None:
            raise args.refuse("uses the deprecated 'dimension'; use axis")
        if not isinstance(axis, (int, type(None))) or output_type not in _ONNX_TYPES:
            raise args.refuse(f"has axis={axis!r}, output_type={output_type!r}; kport converts one int axis, "
                              "int64 or int32")
        return {"axis": 0 if axis is None else axis, "output_type": output_type}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"axis": self.axis, "output_type": self.output_type}

    def output_shapes(self, in_shapes):
        axis = self.axis % len(in_shapes[0])
        return [tuple(d for i, d in enumerate(in_shapes[0]) if i != axis)]

    def reference(self, xs, w):
        x = xs[0]
        return [_FUNCTIONS[self.function][0](x, axis=self.axis % x.ndim).astype(self.output_type)]

    def to_onnx(self, g, xs, w, node):
        axis = self.axis % len(node.in_shapes[0])
        y = g.op(_FUNCTIONS[self.function][1], [xs[0]], axis=axis, keepdims=0, select_last_index=0)
        return [y if self.output_type == "int64" else g.op("Cast", [y], to=_ONNX_TYPES[self.output_type])]

    def to_torch(self, t, xs, w, node):
        axis = self.axis % len(node.in_shapes[0])
        y = t.line(f"{_FUNCTIONS[self.function][2]}({xs[0]}, dim={axis})")
        return [y if self.output_type == "int64" else t.line(f"{y}.to(torch.{self.output_type})")]
