"""TFReduce: TensorFlow reductions (`tf.math.reduce_mean(x, axis=[1], keepdims=True)`, sum, max, min, prod)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.ops.base import reduced_shape, reduction_axes
from kport.ops.onnx_common import reduce
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes

# TF function -> (numpy reduction, ONNX op, torch function)
_FUNCTIONS = {
    "math.reduce_mean": (np.mean, "ReduceMean", "torch.mean"),
    "math.reduce_sum": (np.sum, "ReduceSum", "torch.sum"),
    "math.reduce_max": (np.max, "ReduceMax", "torch.amax"),
    "math.reduce_min": (np.min, "ReduceMin", "torch.amin"),
    "math.reduce_prod": (np.prod, "ReduceProd", "torch.prod"),
    "math.reduce_logsumexp": (None, "", "torch.logsumexp"),
    "math.reduce_variance": (np.var, "", ""),
    "math.reduce_std": (np.std, "", ""),
    "math.reduce_any": (np.any, "ReduceMax", "torch.amax"),
    "math.reduce_all": (np.all, "ReduceMin", "torch.amin"),
}
_BOOLEAN = ("math.reduce_any", "math.reduce_all")


def _logsumexp(x: np.ndarray, axis: tuple, keepdims: bool) -> np.ndarray:
    """TF's form: shift by the (finite) max, sum the exponentials, take the log, shift back."""
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    y = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return y if keepdims else np.squeeze(y, axis)


@dataclass
class TFReduce(TFFunctionOp):
    kind = "TFReduce"
    keras_classes = tf_classes(*_FUNCTIONS)
    keras3_refusal: ClassVar[str] = "kport has no Keras 3 spelling for it"
    keras3_ops = {fn: (module, name, {"axis": "axis", "keepdims": "keepdims"})
                  for fn, (module, name) in {
                      "math.reduce_mean": ("keras.src.ops.numpy", "Mean"), "math.reduce_sum": ("keras.src.ops.numpy", "Sum"),
                      "math.reduce_max": ("keras.src.ops.numpy", "Max"), "math.reduce_min": ("keras.src.ops.numpy", "Min"),
                      "math.reduce_prod": ("keras.src.ops.numpy", "Prod"), "math.reduce_variance": ("keras.src.ops.numpy", "Var"),
                      "math.reduce_std": ("keras.src.ops.numpy", "Std"), "math.reduce_any": ("keras.src.ops.numpy", "Any"),
                      "math.reduce_all": ("keras.src.ops.numpy", "All"),
                      "math.reduce_logsumexp": ("keras.src.ops.math", "Logsumexp")}.items()}

    function: str = "math.reduce_mean"

    @property
    def output_dtype(self) -> str | None:
        return "bool" if self.function in _BOOLEAN else None
    # None reduces every axis, the batch included
    axis: int | tuple | None = None
    keepdims: bool = False

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("takes a constant or a list as its operand")
        return {"axis": args.constant("axis"), "keepdims": bool(args.constant("keepdims", False))}

    def tf_call(self, n_inputs: int):
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return TENSOR, {"axis": axis, "keepdims": self.keepdims}

    def _axes(self, rank: int) -> list[int]:
        return reduction_axes(self.axis, rank)

    def output_shapes(self, in_shapes):
        shape = tuple(in_shapes[0])
        return [reduced_shape(shape, self._axes(len(shape)), self.keepdims)]

    def reference(self, xs, w):
        x = xs[0]
        axes = tuple(self._axes(x.ndim))
        if self.function == "math.reduce_logsumexp":
            return [_logsumexp(x, axes, self.keepdims).astype(x.dtype)]
        y = _FUNCTIONS[self.function][0](x, axis=axes, keepdims=self.keepdims)
        return [np.asarray(y, dtype=bool if self.function in _BOOLEAN else x.dtype)]

    def to_onnx(self, g, xs, w, node):
        axes = self._axes(len(node.in_shapes[0]))
        x = xs[0]
        if self.function in _BOOLEAN:  # ONNX reduces numbers: any = max, all = min of 0/1
            y = reduce(g, _FUNCTIONS[self.function][1], g.op("Cast", [x], to=1), axes, self.keepdims)
            return [g.op("Cast", [y], to=9)]
        if self.function == "math.reduce_logsumexp":
            top = reduce(g, "ReduceMax", x, axes, True)
            total = reduce(g, "ReduceSum", g.op("Exp", [g.op("Sub", [x, top])]), axes, True)
            y = g.op("Add", [g.op("Log", [total]), top])
            return [y if self.keepdims else g.op("Squeeze", [y, g.ints(axes)])]
        if self.function in ("math.reduce_variance", "math.reduce_std"):
            centred = g.op("Sub", [x, reduce(g, "ReduceMean", x, axes, True)])
            y = reduce(g, "ReduceMean", g.op("Mul", [centred, centred]), axes, self.keepdims)
            return [g.op("Sqrt", [y]) if self.function == "math.reduce_std" else y]
        return [reduce(g, _FUNCTIONS[self.function][1], x, axes, self.keepdims)]

    def to_torch(self, t, xs, w, node):
        axes = self._axes(len(node.in_shapes[0]))
        fn = _FUNCTIONS[self.function][2]
        if self.function in ("math.reduce_variance", "math.reduce_std"):
            fn = "torch.var" if self.function == "math.reduce_variance" else "torch.std"
            return [t.line(f"{fn}({xs[0]}, dim={axes}, unbiased=False, keepdim={self.keepdims})")]
        if self.function in _BOOLEAN:
            y = t.line(f"{fn}({xs[0]}.to(torch.float32), dim={axes}, keepdim={self.keepdims})")
            return [t.line(f"{y}.to(torch.bool)")]
        if fn != "torch.prod":
            return [t.line(f"{fn}({xs[0]}, dim={axes}, keepdim={self.keepdims})")]
        y = xs[0]
        for a in sorted(axes, reverse=True):  # torch.prod takes one axis at a time
            y = t.line(f"torch.prod({y}, dim={a}, keepdim={self.keepdims})")
        return [y]
