"""TFUnary: one-tensor TensorFlow math and activation functions (`tf.nn.relu`, `tf.math.sqrt`, `tf.nn.softmax`).

Activations reuse kport's activation table (numpy, ONNX and torch spellings
written once in activation_fns); plain math functions are listed here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from kport.ops import activation_fns
from kport.ops.tf_op_common import TFFunctionOp, tf_classes

# TF function -> kport activation name
_ACTIVATIONS = {
    "nn.relu": "relu", "nn.relu6": "relu6", "math.sigmoid": "sigmoid", "nn.sigmoid": "sigmoid",
    "math.tanh": "tanh", "nn.tanh": "tanh", "nn.elu": "elu", "nn.selu": "selu", "nn.silu": "silu",
    "nn.swish": "silu", "math.softplus": "softplus", "nn.softplus": "softplus", "math.softsign": "softsign",
    "nn.softsign": "softsign", "math.exp": "exponential", "nn.gelu": "gelu", "nn.softmax": "softmax",
    "math.softmax": "softmax", "nn.log_softmax": "log_softmax", "math.log_softmax": "log_softmax",
    "nn.leaky_relu": "leaky_relu",
}

_erf = np.vectorize(math.erf, otypes=[np.float64])

# TF function -> (numpy function, ONNX op chain applied in order, torch expression on {x})
_MATH: dict[str, tuple[Any, tuple[str, ...], str]] = {
    "math.sqrt": (np.sqrt, ("Sqrt",), "torch.sqrt({x})"),
    "math.rsqrt": (lambda x: 1 / np.sqrt(x), ("Sqrt", "Reciprocal"), "torch.rsqrt({x})"),
    "math.log": (np.log, ("Log",), "torch.log({x})"),
    "math.abs": (np.abs, ("Abs",), "torch.abs({x})"),
    "math.negative": (np.negative, ("Neg",), "(-{x})"),
    "math.square": (np.square, ("Square",), "torch.square({x})"),
    "math.reciprocal": (np.reciprocal, ("Reciprocal",), "torch.reciprocal({x})"),
    "math.sin": (np.sin, ("Sin",), "torch.sin({x})"),
    "math.cos": (np.cos, ("Cos",), "torch.cos({x})"),
    "math.erf": (_erf, ("Erf",), "torch.erf({x})"),
    "math.floor": (np.floor, ("Floor",), "torch.floor({x})"),
    "math.ceil": (np.ceil, ("Ceil",), "torch.ceil({x})"),
    "math.round": (np.round, ("Round",), "torch.round({x})"),
    "math.sign": (np.sign, ("Sign",), "torch.sign({x})"),
    "math.logical_not": (np.logical_not, ("Not",), "torch.logical_not({x})"),
}

_NN, _NP, _KMATH = "keras.src.ops.nn", "keras.src.ops.numpy", "keras.src.ops.math"
# TF function -> the Keras 3 operation it is written as (Keras 3 reads `Softmax` as its layer: same math)
_KERAS3_OPS = {
    "nn.relu": (_NN, "Relu", {}), "nn.relu6": (_NN, "Relu6", {}), "math.sigmoid": (_NN, "Sigmoid", {}),
    "nn.sigmoid": (_NN, "Sigmoid", {}), "math.tanh": (_NP, "Tanh", {}), "nn.tanh": (_NP, "Tanh", {}),
    "math.exp": (_NP, "Exp", {}), "math.sqrt": (_NP, "Sqrt", {}), "math.rsqrt": (_KMATH, "Rsqrt", {}),
    "math.log": (_NP, "Log", {}), "math.abs": (_NP, "Absolute", {}), "math.negative": (_NP, "Negative", {}),
    "math.square": (_NP, "Square", {}), "math.reciprocal": (_NP, "Reciprocal", {}), "math.sin": (_NP, "Sin", {}),
    "math.cos": (_NP, "Cos", {}), "math.erf": (_KMATH, "Erf", {}), "math.floor": (_NP, "Floor", {}),
    "math.ceil": (_NP, "Ceil", {}), "math.round": (_NP, "Round", {}), "math.sign": (_NP, "Sign", {}),
    "math.logical_not": (_NP, "LogicalNot", {}), "nn.selu": (_NN, "Selu", {}), "nn.silu": (_NN, "Silu", {}),
    "nn.swish": (_NN, "Silu", {}), "math.softplus": (_NN, "Softplus", {}), "nn.softplus": (_NN, "Softplus", {}),
    "math.softsign": (_NN, "Softsign", {}), "nn.softsign": (_NN, "Softsign", {}),
    "nn.gelu": (_NN, "Gelu", {"approximate": "approximate"}),
    "nn.leaky_relu": (_NN, "LeakyRelu", {"negative_slope": "alpha"}),
    "nn.softmax": (_NN, "Softmax", {"axis": "axis"}), "math.softmax": (_NN, "Softmax", {"axis": "axis"}),
    "nn.log_softmax": (_NN, "LogSoftmax", {"axis": "axis"}), "math.log_softmax": (_NN, "LogSoftmax", {"axis": "axis"}),
}

# keyword arguments per activation: TF name -> (attribute, TF default)
_PARAMS = {"softmax": ("axis", -1), "log_softmax": ("axis", -1), "leaky_relu": ("alpha", 0.2),
           "gelu": ("approximate", False)}


@dataclass
class TFUnary(TFFunctionOp):
    kind = "TFUnary"
    keras_classes = tf_classes(*_ACTIVATIONS, *_MATH)
    keras3_refusal: ClassVar[str] = "kport has no Keras 3 spelling for it"
    keras3_ops = _KERAS3_OPS

    function: str = "nn.relu"
    axis: int = -1
    alpha: float = 0.2
    approximate: bool = False

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("takes a constant or a list as its operand")
        act = _ACTIVATIONS.get(self.function)
        if act not in _PARAMS:
            return {}
        attr, default = _PARAMS[act]
        value = args.constant(attr, default)
        return {attr: default if value is None else type(default)(value)}

    def tf_call(self, n_inputs: int):
        from kport.ops.tf_op_common import TENSOR

        act = _ACTIVATIONS.get(self.function)
        if act not in _PARAMS:
            return TENSOR, {}
        attr = _PARAMS[act][0]
        return TENSOR, {attr: getattr(self, attr)}

    def _activation(self) -> tuple[str, dict]:
        name = _ACTIVATIONS[self.function]
        if name == "gelu":
            return ("gelu_tanh" if self.approximate else "gelu"), {}
        if name in ("softmax", "log_softmax"):
            return name, {"axis": self.axis}
        if name == "leaky_relu":
            return name, {"negative_slope": self.alpha}
        return name, {}

    def reference(self, xs, w):
        x = xs[0]
        if self.function in _MATH:
            return [np.asarray(_MATH[self.function][0](x), dtype=x.dtype)]
        name, params = self._activation()
        return [activation_fns.apply(name, x, **params)]

    def to_onnx(self, g, xs, w, node):
        if self.function in _MATH:
            y = xs[0]
            for op_type in _MATH[self.function][1]:
                y = g.op("Mul", [y, y]) if op_type == "Square" else g.op(op_type, [y])
            return [y]
        name, params = self._activation()
        return [activation_fns.to_onnx(g, name, xs[0], **params)]

    def to_torch(self, t, xs, w, node):
        if self.function in _MATH:
            return [t.line(_MATH[self.function][2].format(x=xs[0]))]
        from kport.exporters.torch.activations import to_torch as activation

        name, params = self._activation()
        return [activation(t, name, xs[0], **params)]
