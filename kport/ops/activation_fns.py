"""Keras activation functions: numpy reference and ONNX emission, by canonical name.

Canonical names follow Keras 3 spelling. `hard_sigmoid` is the Keras 1/2
definition clip(0.2x + 0.5, 0, 1); `hard_sigmoid_v3` is Keras 3's
relu6(x + 3) / 6. Importers pick one by the writing Keras's version, so the
meaning of an old file never changes silently.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from kport.errors import ExportError, ShapeError, UnsupportedLayerError

_erf = np.frompyfunc(math.erf, 1, 1)

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

ALIASES = {"swish": "silu", "hard_swish": "hard_silu", "linear": "linear", None: "linear"}


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def _softplus(x):
    return np.logaddexp(0, x)


def _sparsemax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    # Keras 3's formula (every backend): tau = (sum of the support's cumulative sums - 1) / k.
    # The paper sums the support's logits instead; Keras models compute this, so we do too.
    z = -np.sort(-x, axis=axis)
    cssv = np.cumsum(z, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    r = np.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = z - (cssv - 1) / r > 0
    k = support.sum(axis=axis, keepdims=True).astype(x.dtype)
    tau = (np.where(support, cssv, 0).sum(axis=axis, keepdims=True) - 1) / k
    return np.maximum(x - tau, 0)


NUMPY: dict[str, Callable[..., np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "softplus": _softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "elu": lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "celu": lambda x, alpha=1.0: np.maximum(x, 0) + np.minimum(0, alpha * np.expm1(np.minimum(x, 0) / alpha)),
    "exponential": np.exp,
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "hard_sigmoid_v3": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "silu": lambda x: x * _sigmoid(x),
    "gelu": lambda x: (0.5 * x * (1 + _erf(x.astype(np.float64) / math.sqrt(2)).astype(np.float64))).astype(x.dtype),
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
    "leaky_relu": lambda x, negative_slope=0.2: np.where(x >= 0, x, negative_slope * x),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "log_sigmoid": lambda x: -_softplus(-x),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "hard_shrink": lambda x, threshold=0.5: np.where(np.abs(x) > threshold, x, 0),
    "soft_shrink": lambda x, threshold=0.5: np.where(x > threshold, x - threshold,
                                                      np.where(x < -threshold, x + threshold, 0)),
    "squareplus": lambda x, b=4.0: (x + np.sqrt(x * x + b)) / 2,
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: np.where(x <= -1, 0, np.where(x >= 1, 1, 0.5 * (x + 1))),
    "sparsemax": _sparsemax,
    "glu": lambda x, axis=-1: np.split(x, 2, axis=axis)[0] * _sigmoid(np.split(x, 2, axis=axis)[1]),
}


def canonical(name: Any, keras_major: int = 2) -> str:
    """Returns the canonical activation name for a Keras spelling.

    Args:
        name: a string, None, or a Keras 3 serialized function dict.
        keras_major: major version of the Keras that wrote the file; decides
            what `hard_sigmoid` means.

    Raises:
        UnsupportedLayerError: the activation is unknown (e.g. a custom function).
    """
    if isinstance(name, dict):
        cfg = name.get("config")
        name = cfg if isinstance(cfg, str) else (name.get("registered_name") or name.get("class_name"))
    name = ALIASES.get(name, name)
    if name == "gelu_approximate":
        name = "gelu_tanh"
    if name == "hard_sigmoid" and keras_major >= 3:
        return "hard_sigmoid_v3"
    if name not in NUMPY:
        raise UnsupportedLayerError(
            f"unknown activation '{name}'",
            hint="only Keras's built-in activations are supported; replace the custom function by a built-in one")
    return name


def keras_name(name: str) -> str:
    """Returns the Keras 3 spelling of a canonical activation (writers use it)."""
    return {"hard_sigmoid_v3": "hard_sigmoid", "gelu_tanh": "gelu"}.get(name, name)


# canonical activations each Keras writer flavor cannot spell (they mean something else there, or do not
# exist); exporters/keras/lowering.py writes most as exact constructions first, what still arrives is refused
KERAS_UNSPELLABLE = {"keras3": {"hard_sigmoid"},
                     "tf.keras": {"hard_sigmoid_v3", "hard_silu", "log_softmax", "celu", "glu", "hard_shrink",
                                  "soft_shrink", "squareplus", "sparse_plus", "sparse_sigmoid", "sparsemax",
                                  "tanh_shrink", "log_sigmoid", "hard_tanh", "gelu_tanh"}}


def keras_spelling(name: str, flavor: str) -> str:
    """The spelling of a canonical activation in a `flavor` ('keras3' | 'tf.keras') layer config.

    Every activation a Keras writer spells comes here, nested layers' too, so none is written that
    the target Keras would misread or not know.

    Raises:
        ExportError: `flavor` has no exact spelling (the caller names the layer).
    """
    if name in KERAS_UNSPELLABLE[flavor]:
        other = "a Keras 3 file (--to keras)" if flavor == "tf.keras" else "a tf.keras file (--to h5)"
        raise ExportError(f"activation '{name}' has no exact {flavor} spelling",
                          hint=f"write {other}, ONNX or PyTorch")
    if flavor == "tf.keras":
        return {"silu": "swish"}.get(name, name)
    return keras_name(name)


def output_shape(name: str, shape: tuple) -> tuple:
    """The shape an activation gives a tensor of `shape`: glu halves the last axis, the rest keep it.

    Raises:
        ShapeError: glu over an odd last axis (Keras cannot split it in two either).
    """
    if name != "glu":
        return tuple(shape)
    size = shape[-1]
    if size is not None and size % 2:
        raise ShapeError(f"glu halves the last axis, whose size {size} is odd",
                         hint="give the layer an even number of units/filters on its last axis")
    return tuple(shape[:-1]) + (None if size is None else size // 2,)


def apply(name: str, x: np.ndarray, **params) -> np.ndarray:
    """Runs a canonical activation in numpy, keeping the input dtype."""
    return np.asarray(NUMPY[name](x, **params), dtype=x.dtype)


def to_onnx(g, name: str, x: str, **params) -> str:
    """Emits an activation into an ONNX graph builder and returns the output name."""
    def c(v):
        return g.const(np.array(v, dtype=np.float32))

    if name == "linear":
        return x
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
              "softsign": "Softsign", "exponential": "Exp", "selu": "Selu", "mish": "Mish"}
    if name in simple:
        if name == "mish" and g.opset < 18:
            return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])])
        return g.op(simple[name], [x])
    if name in ("softmax", "log_softmax"):
        return g.op("Softmax" if name == "softmax" else "LogSoftmax", [x], axis=params.get("axis", -1))
    if name == "relu6":
        return g.op("Clip", [x, c(0.0), c(6.0)])
    if name == "hard_tanh":
        return g.op("Clip", [x, c(-1.0), c(1.0)])
    if name == "elu":
        return g.op("Elu", [x], alpha=float(params.get("alpha", 1.0)))
    if name == "celu":
        return g.op("Celu", [x], alpha=float(params.get("alpha", 1.0)))
    if name == "hard_sigmoid":
        return g.op("HardSigmoid", [x], alpha=0.2, beta=0.5)
    if name == "hard_sigmoid_v3":
        return g.op("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)
    if name == "hard_silu":
        return g.op("Mul", [x, g.op("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)])
    if name == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if name == "gelu":
        inner = g.op("Erf", [g.op("Div", [x, c(math.sqrt(2))])])
        return g.op("Mul", [g.op("Mul", [x, c(0.5)]), g.op("Add", [inner, c(1.0)])])
    if name == "gelu_tanh":
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, c(0.044715)])])
        t = g.op("Tanh", [g.op("Mul", [inner, c(math.sqrt(2 / math.pi))])])
        return g.op("Mul", [g.op("Mul", [x, c(0.5)]), g.op("Add", [t, c(1.0)])])
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=float(params.get("negative_slope", 0.2)))
    if name == "log_sigmoid":
        return g.op("Neg", [g.op("Softplus", [g.op("Neg", [x])])])
    if name == "tanh_shrink":
        return g.op("Sub", [x, g.op("Tanh", [x])])
    if name == "hard_shrink":
        return g.op("Shrink", [x], lambd=float(params.get("threshold", 0.5)), bias=0.0)
    if name == "soft_shrink":
        t = float(params.get("threshold", 0.5))
        return g.op("Shrink", [x], lambd=t, bias=t)
    if name == "squareplus":
        root = g.op("Sqrt", [g.op("Add", [g.op("Mul", [x, x]), c(params.get("b", 4.0))])])
        return g.op("Div", [g.op("Add", [x, root]), c(2.0)])
    if name == "sparse_plus":
        mid = g.op("Div", [g.op("Mul", [g.op("Add", [x, c(1.0)]), g.op("Add", [x, c(1.0)])]), c(4.0)])
        upper = g.op("Where", [g.op("GreaterOrEqual", [x, c(1.0)]), x, mid])
        return g.op("Where", [g.op("LessOrEqual", [x, c(-1.0)]), c(0.0), upper])
    if name == "sparse_sigmoid":
        return g.op("Clip", [g.op("Mul", [g.op("Add", [x, c(1.0)]), c(0.5)]), c(0.0), c(1.0)])
    if name == "glu":
        a, b = _split_half(g, x, params.get("axis", -1))
        return g.op("Mul", [a, g.op("Sigmoid", [b])])
    if name == "sparsemax":
        return _sparsemax_onnx(g, x, int(params.get("axis", -1)))
    raise UnsupportedLayerError(f"activation '{name}' has no ONNX form")


def _split_half(g, x: str, axis: int) -> tuple[str, str]:
    if g.opset >= 18:
        a, b = g.op("Split", [x], n_out=2, axis=axis, num_outputs=2)
    else:
        a, b = g.op("Split", [x], n_out=2, axis=axis)
    return a, b


def _sparsemax_onnx(g, x: str, axis: int) -> str:
    """Keras's sparsemax with shape-free ops: TopK sorts, CumSum of ones gives 1..n."""
    from kport.ops.onnx_common import reduce

    n = g.op("Gather", [g.op("Shape", [x]), g.ints([axis])], axis=0)
    z = g.op("TopK", [x, n], n_out=2, axis=axis, largest=1, sorted=1)[0]
    axis_t = g.const(np.array(axis, dtype=np.int64))
    cssv = g.op("CumSum", [z, axis_t])
    ones = g.op("ConstantOfShape", [g.op("Shape", [x])], value=_float_tensor(1.0))
    r = g.op("CumSum", [ones, axis_t])
    one = g.const(np.array(1.0, dtype=np.float32))
    support = g.op("Greater", [g.op("Sub", [z, g.op("Div", [g.op("Sub", [cssv, one]), r])]),
                              g.const(np.array(0.0, dtype=np.float32))])
    k = reduce(g, "ReduceSum", g.op("Cast", [support], to=1), [axis])
    kept = g.op("Where", [support, cssv, g.const(np.array(0.0, dtype=np.float32))])
    tau = g.op("Div", [g.op("Sub", [reduce(g, "ReduceSum", kept, [axis]), one]), k])
    return g.op("Relu", [g.op("Sub", [x, tau])])


def _float_tensor(value: float):
    from onnx import helper

    return helper.make_tensor("value", 1, [1], [value])
