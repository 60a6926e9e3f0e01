"""The names a traced Lambda sees: `K` (Keras 1/2 backend), `tf`, `keras.ops`, a constants-only `np`.

Each function turns a call on `Proxy` tensors into tracer calls spelled as the
tf.keras TF-function records kport already reads (`math.reduce_sum`, `concat`,
...), so the IR holds the same op kinds a TFOpLambda import gives. Only what is
listed here exists: any other name raises UnsupportedLayerError naming it, and
nothing reaches Python's builtins, numpy's file functions or the OS.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from kport.errors import UnsupportedLayerError
from kport.importers.lambda_trace import Proxy, Tracer

EPSILON = 1e-7  # Keras 1/2 K.epsilon() default


class Namespace:
    """A read-only module stand-in: listed attributes only, a clear error for the rest."""

    def __init__(self, label: str, members: dict[str, Any], tracer: Tracer):
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_members", members)
        object.__setattr__(self, "_tracer", tracer)

    def __getattr__(self, name: str):
        members = object.__getattribute__(self, "_members")
        if name in members:
            return members[name]
        label = object.__getattribute__(self, "_label")
        raise object.__getattribute__(self, "_tracer").refuse(
            f"{label}.{name}", f"kport's Lambda tracer knows {label}.{{{', '.join(sorted(members)[:12])}, ...}}")

    def __setattr__(self, name, value):
        raise UnsupportedLayerError("a Lambda may not modify a module")


class BatchSize:
    """`K.shape(x)[0]`: the symbolic batch size, usable only as a reshape's first dimension."""

    def __repr__(self) -> str:
        return "<batch size>"

    def _refuse(self, *args):
        raise UnsupportedLayerError("the Lambda computes with the batch size, which kport cannot convert",
                                    hint="use the batch size only as the first dimension of a reshape")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __floordiv__ = _refuse
    __index__ = __int__ = _refuse


BATCH = BatchSize()


def _axis(axis):
    return list(axis) if isinstance(axis, (list, tuple)) else axis


def backend_functions(t: Tracer) -> dict[str, Callable]:
    """The Keras 1/2 backend (`K`) functions, emitting through tracer `t`."""
    theano = t.ctx.backend == "theano" or (t.ctx.backend is None and t.ctx.keras_major <= 1)

    def reduce(fn):
        return lambda x, axis=None, keepdims=False: t.call(f"math.reduce_{fn}", x, axis=_axis(axis),
                                                           keepdims=bool(keepdims))

    def unary(fn):
        return lambda x: t.call(fn, x)

    def binary(fn):
        def f(x, y):
            if not isinstance(x, Proxy) and not isinstance(y, Proxy):
                raise t.refuse(f"tf.{fn} on constants only")
            return t.call(fn, x, y=y)
        return f

    def sqrt(x):  # Keras 1/2 clip at 0 before the root
        return t.call("math.sqrt", t.call("math.maximum", x, y=0.0))

    def clip(x, min_value, max_value):
        if max_value is not None and min_value is not None and max_value < min_value:
            max_value = min_value
        return t.call("clip_by_value", x, clip_value_min=-np.inf if min_value is None else float(min_value),
                      clip_value_max=np.inf if max_value is None else float(max_value))

    def concatenate(tensors, axis=-1):
        return t.call("concat", list(tensors), axis=axis)

    def stack(tensors, axis=0):
        return t.call("stack", list(tensors), axis=axis)

    def expand_dims(x, axis=-1, dim=None):
        return t.call("expand_dims", x, axis=dim if dim is not None else axis)

    def squeeze(x, axis):
        return t.call("squeeze", x, axis=[axis] if isinstance(axis, int) else _axis(axis))

    def reshape(x, shape):
        dims = list(shape)
        batch_first = bool(dims) and (dims[0] is None or dims[0] is BATCH)
        dims = [-1 if d is None or d is BATCH else int(d) for d in dims]
        if batch_first and dims.count(-1) > 1:  # (batch, ..., -1, ...): the -1 follows from the known sizes
            rest = x.shape[1:]
            known = int(np.prod([d for d in dims[1:] if d != -1]))
            if None in rest or dims.count(-1) > 2 or known <= 0 or int(np.prod(rest)) % known:
                raise t.refuse(f"a reshape to {tuple(shape)!r} with more than one unknown size")
            dims[dims.index(-1, 1)] = int(np.prod(rest)) // known
        return t.call("reshape", x, shape=dims)

    def permute_dimensions(x, pattern):
        return t.call("transpose", x, perm=list(pattern))

    def batch_flatten(x):
        rest = x.shape[1:]
        if None in rest:
            raise t.refuse("K.batch_flatten of a tensor of unknown size")
        return reshape(x, (-1, int(np.prod(rest))))

    def dot(x, y):
        if not isinstance(x, Proxy) or (isinstance(y, Proxy) and len(y.shape) != 2):
            raise t.refuse("K.dot with a second operand that is not a matrix")
        return t.call("linalg.matmul", x, b=y)

    def batch_dot(x, y, axes=None):
        if axes not in (None, (2, 1), [2, 1]) or len(x.shape) != 3 or len(y.shape) != 3:
            raise t.refuse(f"K.batch_dot with axes={axes!r}", "kport converts 3D batch_dot over axes (2, 1)")
        return t.call("linalg.matmul", x, b=y)

    def l2_normalize(x, axis=-1):
        # spelled out, as each backend computed it (and every writer, Keras 3 included, can express it)
        norm = t.call("math.maximum", t.call("math.reduce_sum", t.call("math.square", x), axis=_axis(axis),
                                             keepdims=True), y=EPSILON if theano else 1e-12)
        if theano:
            return t.call("math.truediv", x, y=t.call("math.sqrt", norm))
        return t.call("math.multiply", x, y=t.call("math.rsqrt", norm))

    def relu(x, alpha=0.0, max_value=None):
        if alpha and max_value is not None:
            raise t.refuse("K.relu with both alpha and max_value")
        if alpha:
            return t.call("nn.leaky_relu", x, alpha=float(alpha))
        y = t.call("nn.relu", x)
        return y if max_value is None else t.call("math.minimum", y, y=float(max_value))

    def activation(name):
        return lambda x: t.layer("Activation", {"activation": name}, [x])

    def softmax(x, axis=-1):
        return t.call("nn.softmax", x, axis=axis)

    def elu(x, alpha=1.0):
        if alpha != 1.0:
            return t.layer("ELU", {"alpha": float(alpha)}, [x])
        return t.layer("Activation", {"activation": "elu"}, [x])  # every writer spells the Keras layer

    def tile(x, n):
        return t.call("tile", x, multiples=[n] if isinstance(n, int) else list(n))

    def repeat_elements(x, rep, axis):
        shape = list(x.shape)
        axis = axis % len(shape)
        if None in shape[1:]:
            raise t.refuse("K.repeat_elements of a tensor of unknown size")
        y = t.call("expand_dims", x, axis=axis + 1)
        y = t.call("tile", y, multiples=[rep if i == axis + 1 else 1 for i in range(len(shape) + 1)])
        shape[axis] *= rep
        return reshape(y, [-1] + shape[1:])

    def repeat(x, n):
        return t.layer("RepeatVector", {"n": int(n)}, [x])

    def cast(x, dtype):
        return t.call("cast", x, dtype=str(dtype))

    def shape(x):
        return tuple(BATCH if i == 0 and d is None else (-1 if d is None else d) for i, d in enumerate(x.shape))

    def argmax(x, axis=-1):
        return t.call("math.argmax", x, axis=axis)

    def argmin(x, axis=-1):
        return t.call("math.argmin", x, axis=axis)

    def pow_(x, a):
        return t.call("math.pow", x, y=a)

    def constant(value, dtype=None, shape=None, name=None):
        return np.full(shape, value, np.float32) if shape is not None else np.asarray(value, np.float32)

    def logsumexp(x, axis=None, keepdims=False):
        return t.call("math.reduce_logsumexp", x, axis=_axis(axis), keepdims=bool(keepdims))

    functions = {
        "sum": reduce("sum"), "mean": reduce("mean"), "max": reduce("max"), "min": reduce("min"),
        "prod": reduce("prod"), "std": reduce("std"), "var": reduce("variance"), "any": reduce("any"),
        "all": reduce("all"), "logsumexp": logsumexp,
        "square": unary("math.square"), "sqrt": sqrt, "exp": unary("math.exp"), "log": unary("math.log"),
        "abs": unary("math.abs"), "sign": unary("math.sign"), "round": unary("math.round"),
        "sin": unary("math.sin"), "cos": unary("math.cos"), "pow": pow_, "clip": clip,
        "maximum": binary("math.maximum"), "minimum": binary("math.minimum"),
        "equal": binary("math.equal"), "not_equal": binary("math.not_equal"), "greater": binary("math.greater"),
        "greater_equal": binary("math.greater_equal"), "less": binary("math.less"),
        "less_equal": binary("math.less_equal"),
        "concatenate": concatenate, "stack": stack, "expand_dims": expand_dims, "squeeze": squeeze,
        "reshape": reshape, "permute_dimensions": permute_dimensions, "batch_flatten": batch_flatten,
        "flatten": lambda x: reshape(x, (-1,)), "dot": dot, "batch_dot": batch_dot,
        "l2_normalize": l2_normalize, "softmax": softmax, "relu": relu, "elu": elu,
        "sigmoid": unary("math.sigmoid"), "tanh": unary("math.tanh"), "softplus": unary("math.softplus"),
        "softsign": unary("math.softsign"), "hard_sigmoid": activation("hard_sigmoid"),
        "tile": tile, "repeat_elements": repeat_elements, "repeat": repeat, "cast": cast,
        "argmax": argmax, "argmin": argmin,
        "ones_like": lambda x, dtype=None, name=None: t.call("ones_like", x),
        "zeros_like": lambda x, dtype=None, name=None: t.call("zeros_like", x),
        "transpose": lambda x: t.call("transpose", x),
        "identity": lambda x, name=None: t.layer("Identity", {}, [x]),
        "int_shape": lambda x: x.shape, "shape": shape, "ndim": lambda x: x.ndim,
        "dtype": lambda x: x.dtype, "epsilon": lambda: EPSILON, "floatx": lambda: "float32",
        "image_dim_ordering": lambda: "th" if theano else "tf",
        "image_data_format": lambda: "channels_first" if theano else "channels_last",
        "backend": lambda: "theano" if theano else "tensorflow",
        "constant": constant, "variable": constant, "cast_to_floatx": lambda v: np.asarray(v, np.float32),
    }
    return functions


# tf function (as tf.keras records it) -> names of its positional arguments after the first
TF_SIGNATURES = {
    "math.reduce_sum": ("axis", "keepdims"), "math.reduce_mean": ("axis", "keepdims"),
    "math.reduce_max": ("axis", "keepdims"), "math.reduce_min": ("axis", "keepdims"),
    "math.reduce_prod": ("axis", "keepdims"), "math.reduce_logsumexp": ("axis", "keepdims"),
    "math.reduce_std": ("axis", "keepdims"), "math.reduce_variance": ("axis", "keepdims"),
    "concat": ("axis",), "stack": ("axis",), "expand_dims": ("axis",), "squeeze": ("axis",),
    "reshape": ("shape",), "transpose": ("perm",), "tile": ("multiples",), "cast": ("dtype",),
    "clip_by_value": ("clip_value_min", "clip_value_max"), "math.l2_normalize": ("axis", "epsilon"),
    "nn.l2_normalize": ("axis", "epsilon"), "linalg.matmul": ("b", "transpose_a", "transpose_b"),
    "gather": ("indices", "axis"), "split": ("num_or_size_splits", "axis"), "pad": ("paddings", "mode"),
    "nn.softmax": ("axis",), "math.argmax": ("axis",), "math.argmin": ("axis",), "math.cumsum": ("axis",),
    "nn.leaky_relu": ("alpha",),
}
_TF_PREFIXES = ("", "math.", "nn.", "linalg.")
_TF_DTYPES = ("float32", "float64", "float16", "int32", "int64", "bool", "uint8", "int8")


def tf_namespace(t: Tracer, path: str = "tf") -> Namespace:
    """`tf` as a Lambda sees it: `tf.<fn>` and `tf.math.<fn>` resolve to the TF functions kport converts."""
    from kport.ops.registry import op_for_keras_class

    class TfNode(Namespace):
        def __getattr__(self, name):
            if name.startswith("_"):
                raise t.refuse(f"{path}.{name}")
            full = f"{path}.{name}"[3:] if path != "tf" else name
            if path == "tf" and name in _TF_DTYPES:
                return name
            if path == "tf" and name == "newaxis":
                return None
            if path == "tf" and name in ("shape", "reshape"):
                return backend_functions(t)[name]
            for prefix in _TF_PREFIXES:
                candidate = prefix + full
                if op_for_keras_class(f"TFOpLambda:{candidate}") is not None:
                    return _tf_function(t, candidate, f"{path}.{name}")
            if path == "tf.keras" and name == "backend":
                return Namespace("K", backend_functions(t), t)
            if name in ("math", "nn", "linalg", "compat", "v1", "image", "keras"):
                return tf_namespace(t, f"{path}.{name}")
            raise t.refuse(f"{path}.{name}")

    return TfNode(path, {}, t)


def _tf_function(t: Tracer, function: str, label: str) -> Callable:
    names = TF_SIGNATURES.get(function, ("y",))

    def call(first=None, *args, **kwargs):
        if len(args) > len(names):
            raise t.refuse(f"{label} with {len(args) + 1} positional arguments")
        kwargs.update(zip(names, args))
        kwargs.pop("name", None)
        for key in ("input_tensor", "input", "tensor", "values", "x", "a", "t", "features", "logits", "params"):
            if first is None and key in kwargs:
                first = kwargs.pop(key)
        return t.call(function, first, **kwargs)

    return call


def keras_ops(t: Tracer) -> dict[str, Callable]:
    """`keras.ops` (Keras 3): numpy-style names over the same emitters."""
    k = backend_functions(t)
    ops = {name: k[name] for name in ("sum", "mean", "max", "min", "prod", "square", "exp", "log",
                                      "abs", "sign", "round", "sin", "cos", "maximum", "minimum", "stack",
                                      "tile", "cast", "softmax", "relu", "sigmoid", "tanh", "softplus",
                                      "softsign", "equal", "not_equal", "greater", "greater_equal", "less",
                                      "less_equal", "ones_like", "zeros_like", "argmax", "argmin", "logsumexp")}
    ops.update({
        "sqrt": lambda x: t.call("math.sqrt", x),  # Keras 3 does not clip at 0 (Keras 1/2's K.sqrt does)
        "concatenate": lambda xs, axis=0: t.call("concat", list(xs), axis=axis),
        "expand_dims": lambda x, axis: t.call("expand_dims", x, axis=axis),
        "squeeze": lambda x, axis=None: t.call("squeeze", x, axis=[axis] if isinstance(axis, int) else axis),
        "reshape": lambda x, newshape: k["reshape"](x, newshape),
        "transpose": lambda x, axes=None: t.call("transpose", x, perm=None if axes is None else list(axes)),
        "clip": lambda x, lo, hi: t.call("clip_by_value", x, clip_value_min=float(lo), clip_value_max=float(hi)),
        "add": lambda a, b: _binary(t, "math.add", a, b), "subtract": lambda a, b: _binary(t, "math.subtract", a, b),
        "multiply": lambda a, b: _binary(t, "math.multiply", a, b),
        "divide": lambda a, b: _binary(t, "math.truediv", a, b),
        "true_divide": lambda a, b: _binary(t, "math.truediv", a, b),
        "power": lambda a, b: _binary(t, "math.pow", a, b), "matmul": lambda a, b: t.call("linalg.matmul", a, b=b),
        "negative": lambda x: t.call("math.negative", x), "absolute": lambda x: t.call("math.abs", x),
        "shape": lambda x: x.shape, "ndim": lambda x: x.ndim,
    })
    return ops


def _binary(t: Tracer, fn: str, a, b):
    return t.call(fn, a, y=b)


def numpy_namespace(t: Tracer) -> Namespace:
    """numpy for constants (dtypes, pi, arrays); its math on a tensor goes through the tracer."""
    k = backend_functions(t)

    def mathfn(np_fn, k_name):
        def f(x, *args, **kwargs):
            if isinstance(x, Proxy):
                return k[k_name](x, *args, **kwargs)
            return np_fn(x, *args, **kwargs)
        return f

    members = {name: getattr(np, name) for name in ("float32", "float64", "int32", "int64", "float16", "pi", "e",
                                                     "inf", "newaxis", "array", "asarray", "ones", "zeros",
                                                     "arange", "eye", "full", "linspace", "prod")}
    members.update({name: mathfn(getattr(np, name), name) for name in ("sqrt", "exp", "log", "abs", "square",
                                                                       "sign", "sin", "cos", "maximum",
                                                                       "minimum")})
    return Namespace("np", members, t)


def theano_namespace(t: Tracer) -> Namespace:
    """Theano's `T` as Keras 1/2 Theano-backend functions (stored as bytecode by Keras 1.2) use it."""
    k = backend_functions(t)

    def reduce(name):
        return lambda x, axis=None, keepdims=False, **_: k[name](x, axis=axis, keepdims=keepdims)

    nnet = Namespace("T.nnet", {"sigmoid": k["sigmoid"], "relu": lambda x, alpha=0: k["relu"](x, alpha),
                                "softmax": k["softmax"], "softplus": k["softplus"]}, t)
    members = {"sqr": k["square"], "sqrt": lambda x: t.call("math.sqrt", x), "exp": k["exp"], "log": k["log"],
               "abs_": k["abs"], "tanh": k["tanh"], "sum": reduce("sum"), "mean": reduce("mean"),
               "max": reduce("max"), "min": reduce("min"), "prod": reduce("prod"), "maximum": k["maximum"],
               "minimum": k["minimum"], "clip": k["clip"], "dot": k["dot"], "sgn": k["sign"],
               "concatenate": lambda xs, axis=0: t.call("concat", list(xs), axis=axis), "nnet": nnet}
    return Namespace("T", members, t)


def lambda_globals(t: Tracer) -> dict[str, Any]:
    """The global names a traced Lambda sees (Keras-era module aliases included)."""
    k = Namespace("K", backend_functions(t), t)
    ops = Namespace("keras.ops", keras_ops(t), t)
    keras = Namespace("keras", {"backend": k, "ops": ops}, t)
    numpy = numpy_namespace(t)
    return {"K": k, "backend": k, "keras": keras, "ops": ops, "tf": tf_namespace(t), "np": numpy, "numpy": numpy,
            "T": theano_namespace(t),
            "math": Namespace("math", {"pi": math.pi, "e": math.e, "sqrt": math.sqrt, "log": math.log,
                                       "exp": math.exp}, t)}


SAFE_BUILTINS = {"abs": abs, "len": len, "range": range, "int": int, "float": float, "bool": bool,
                 "list": list, "tuple": tuple, "min": min, "max": max, "sum": sum, "slice": slice,
                 "zip": zip, "enumerate": enumerate, "isinstance": isinstance, "round": round,
                 "reversed": reversed, "None": None, "True": True, "False": False, "Ellipsis": Ellipsis}

__all__ = ["lambda_globals", "SAFE_BUILTINS", "Namespace", "EPSILON"]
