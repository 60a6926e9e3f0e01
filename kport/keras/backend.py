"""`keras.backend` (K): the tensor functions custom layers and losses are written with.

kport's engine computes on PyTorch, so every function here takes and returns
torch tensors (numpy arrays and Python numbers are accepted as inputs).
Symbolic `KerasTensor`s answer the shape queries (`int_shape`, `ndim`).
torch is imported on first use, never at import time.
"""
from __future__ import annotations

from typing import Any

import numpy as np

_EPSILON = 1e-7
_FLOATX = "float32"
_IMAGE_DATA_FORMAT = "channels_last"
_LEARNING_PHASE: int | None = None


def _torch():
    import torch

    return torch


# ---- configuration ---------------------------------------------------------------
def set_device(device: str | None) -> None:
    """Chooses where the engine computes: 'cpu', 'cuda', 'cuda:<i>', or None for CUDA when available."""
    from kport.keras.engine import devices

    devices.set_device(device)


def get_device():
    """The engine-wide torch device (CUDA when available unless `set_device` chose otherwise)."""
    from kport.keras.engine import devices

    return devices.get_device()


def epsilon() -> float:
    """The fuzz factor Keras adds to denominators (1e-7)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def floatx() -> str:
    return _FLOATX


def set_floatx(value: str) -> None:
    global _FLOATX
    if value not in ("float16", "float32", "float64"):
        raise ValueError(f"unknown floatx {value!r}")
    _FLOATX = value


def image_data_format() -> str:
    return _IMAGE_DATA_FORMAT


def set_image_data_format(value: str) -> None:
    global _IMAGE_DATA_FORMAT
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"unknown data format {value!r}")
    _IMAGE_DATA_FORMAT = value


def backend() -> str:
    """The name of the engine kport's Keras computes with."""
    return "torch"


def learning_phase() -> int:
    """1 while training, 0 otherwise (the engine sets it around each step)."""
    return 0 if _LEARNING_PHASE is None else _LEARNING_PHASE


def set_learning_phase(value: int | None) -> None:
    global _LEARNING_PHASE
    _LEARNING_PHASE = value


def clear_session() -> None:
    """Resets the automatic layer-name counters (like Keras: names restart at `dense`)."""
    from kport.keras.engine import naming

    naming.reset()


# ---- variables -------------------------------------------------------------------
def _dtype(dtype: str | None):
    return getattr(_torch(), dtype or _FLOATX)


def as_tensor(x: Any, dtype: str | None = None):
    """Returns `x` as a torch tensor (numpy arrays and numbers are converted)."""
    torch = _torch()
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(_dtype(dtype))
    if hasattr(x, "torch_value"):  # a WeightRef or another engine variable
        return x.torch_value()
    arr = np.asarray(x)
    if dtype is None and arr.dtype == np.float64:
        dtype = _FLOATX
    if not arr.flags.c_contiguous or not arr.flags.writeable:
        arr = arr.copy()  # (np.ascontiguousarray would turn a scalar into shape (1,))
    from kport.keras.engine import devices

    t = torch.from_numpy(arr)
    t = t.to(_dtype(dtype)) if dtype else t
    device = devices.get_device()
    return t if device.type == "cpu" else t.to(device)


def variable(value: Any, dtype: str | None = None, name: str | None = None):
    """A trainable-capable tensor holding `value` (a torch Parameter)."""
    torch = _torch()
    t = as_tensor(np.asarray(value, dtype=dtype or _FLOATX)).clone()
    p = torch.nn.Parameter(t, requires_grad=t.is_floating_point())
    if name:
        p.keras_name = name
    return p


def constant(value: Any, dtype: str | None = None, shape=None, name: str | None = None):
    arr = np.asarray(value, dtype=dtype or _FLOATX)
    if shape is not None:
        arr = np.broadcast_to(arr, shape).copy()
    return as_tensor(arr)


def get_value(x: Any) -> np.ndarray:
    """Returns the value of a variable (tensor, weight or optimizer hyper-parameter) as numpy."""
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        value = x.detach().cpu().numpy() if hasattr(x, "detach") else x.numpy()
        return value
    return np.asarray(x)


def batch_get_value(xs) -> list[np.ndarray]:
    return [get_value(x) for x in xs]


def set_value(x: Any, value: Any) -> None:
    """Assigns a numpy value to a variable in place."""
    if hasattr(x, "assign"):
        x.assign(value)
        return
    torch = _torch()
    with torch.no_grad():
        x.copy_(torch.as_tensor(np.asarray(value), dtype=x.dtype, device=x.device).reshape(x.shape))


def batch_set_value(pairs) -> None:
    for x, value in pairs:
        set_value(x, value)


def int_shape(x: Any) -> tuple:
    """The static shape: a KerasTensor's (None for unknown sizes) or a tensor's sizes."""
    shape = getattr(x, "shape", None)
    if shape is None:
        return tuple(np.shape(x))
    return tuple(None if s is None else int(s) for s in shape)


def ndim(x: Any) -> int:
    return len(int_shape(x))


def shape(x: Any):
    return tuple(as_tensor(x).shape)


def count_params(x: Any) -> int:
    return int(np.prod(int_shape(x)))


def dtype(x: Any) -> str:
    return str(getattr(x, "dtype", _FLOATX)).replace("torch.", "")


def zeros(shape, dtype: str | None = None, name: str | None = None):
    return variable(np.zeros(shape), dtype, name)


def ones(shape, dtype: str | None = None, name: str | None = None):
    return variable(np.ones(shape), dtype, name)


def zeros_like(x, dtype=None, name=None):
    return _torch().zeros_like(as_tensor(x))


def ones_like(x, dtype=None, name=None):
    return _torch().ones_like(as_tensor(x))


def eye(size: int, dtype: str | None = None, name: str | None = None):
    return variable(np.eye(size), dtype, name)


def cast(x, dtype: str):
    return as_tensor(x).to(_dtype(dtype))


def cast_to_floatx(x):
    return np.asarray(x, dtype=_FLOATX)


# ---- math ------------------------------------------------------------------------
def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _reduce(fn_name: str, x, axis=None, keepdims=False):
    t = as_tensor(x)
    if axis is None:
        out = getattr(t, fn_name)()
        return out.reshape([1] * t.dim()) if keepdims else out
    axis = _axis(axis)
    if fn_name in ("amax", "amin", "sum", "mean", "prod", "std", "var") or isinstance(axis, int):
        if fn_name == "prod" and isinstance(axis, tuple):
            for a in sorted(axis, reverse=True):
                t = t.prod(dim=a, keepdim=keepdims)
            return t
        return getattr(t, fn_name)(dim=axis, keepdim=keepdims)
    raise ValueError(f"unsupported axis {axis!r}")


def sum(x, axis=None, keepdims=False):  # noqa: A001 - the Keras name
    return _reduce("sum", x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _reduce("mean", x, axis, keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce("amax", x, axis, keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce("amin", x, axis, keepdims)


def prod(x, axis=None, keepdims=False):
    return _reduce("prod", x, axis, keepdims)


def var(x, axis=None, keepdims=False):
    t = as_tensor(x)
    m = mean(t, axis, keepdims=True)
    return mean(square(t - m), axis, keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis, keepdims))


def argmax(x, axis=-1):
    return as_tensor(x).argmax(dim=axis)


def argmin(x, axis=-1):
    return as_tensor(x).argmin(dim=axis)


def any(x, axis=None, keepdims=False):  # noqa: A001
    t = as_tensor(x).bool()
    return t.any() if axis is None else t.any(dim=axis, keepdim=keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    t = as_tensor(x).bool()
    return t.all() if axis is None else t.all(dim=axis, keepdim=keepdims)


def square(x):
    t = as_tensor(x)
    return t * t


def abs(x):  # noqa: A001
    return as_tensor(x).abs()


def sqrt(x):
    return _torch().sqrt(_torch().clamp(as_tensor(x), min=0.0))


def exp(x):
    return _torch().exp(as_tensor(x))


def log(x):
    return _torch().log(as_tensor(x))


def pow(x, a):  # noqa: A001
    return as_tensor(x) ** a


def sign(x):
    return _torch().sign(as_tensor(x))


def round(x):  # noqa: A001
    return _torch().round(as_tensor(x))


def clip(x, min_value, max_value):
    if max_value is not None and min_value is not None and max_value < min_value:
        max_value = min_value
    return _torch().clamp(as_tensor(x), min=min_value, max=max_value)


def maximum(x, y):
    return _torch().maximum(as_tensor(x), as_tensor(y))


def minimum(x, y):
    return _torch().minimum(as_tensor(x), as_tensor(y))


def equal(x, y):
    return as_tensor(x) == as_tensor(y)


def not_equal(x, y):
    return as_tensor(x) != as_tensor(y)


def greater(x, y):
    return as_tensor(x) > as_tensor(y)


def greater_equal(x, y):
    return as_tensor(x) >= as_tensor(y)


def less(x, y):
    return as_tensor(x) < as_tensor(y)


def less_equal(x, y):
    return as_tensor(x) <= as_tensor(y)


def switch(condition, then_expression, else_expression):
    return _torch().where(as_tensor(condition).bool(), as_tensor(then_expression), as_tensor(else_expression))


def dot(x, y):
    """Keras `dot`: matmul over the last axis of x and the second-to-last of y."""
    a, b = as_tensor(x), as_tensor(y)
    if b.dim() > 2:
        return _torch().tensordot(a, b.movedim(-2, 0), dims=1)
    return _torch().matmul(a, b)


def batch_dot(x, y, axes=None):
    a, b = as_tensor(x), as_tensor(y)
    if axes is None:
        axes = (a.dim() - 1, b.dim() - 2 if b.dim() > 2 else 1)
    if isinstance(axes, int):
        axes = (axes, axes)
    out = _torch().einsum("bi,bi->b", a, b) if a.dim() == b.dim() == 2 else None
    if out is not None:
        return out.unsqueeze(-1)
    a = a.movedim(axes[0], -1)
    b = b.movedim(axes[1], 1)
    return _torch().matmul(a, b)


def transpose(x):
    t = as_tensor(x)
    return t.permute(*reversed(range(t.dim())))


def permute_dimensions(x, pattern):
    return as_tensor(x).permute(*pattern)


def reshape(x, shape):
    return as_tensor(x).reshape(tuple(-1 if s is None else s for s in shape))


def flatten(x):
    return as_tensor(x).reshape(-1)


def batch_flatten(x):
    t = as_tensor(x)
    return t.reshape(t.shape[0], -1)


def expand_dims(x, axis=-1):
    return as_tensor(x).unsqueeze(axis)


def squeeze(x, axis):
    return as_tensor(x).squeeze(axis)


def concatenate(tensors, axis=-1):
    return _torch().cat([as_tensor(t) for t in tensors], dim=axis)


def stack(tensors, axis=0):
    return _torch().stack([as_tensor(t) for t in tensors], dim=axis)


def repeat(x, n):
    return as_tensor(x).unsqueeze(1).expand(-1, n, -1)


def repeat_elements(x, rep, axis):
    return as_tensor(x).repeat_interleave(rep, dim=axis)


def tile(x, n):
    return as_tensor(x).repeat(*n) if isinstance(n, (list, tuple)) else as_tensor(x).repeat(n)


def gather(reference, indices):
    return as_tensor(reference)[as_tensor(indices).long()]


def one_hot(indices, num_classes):
    return _torch().nn.functional.one_hot(as_tensor(indices).long(), num_classes).float()


def l2_normalize(x, axis=None):
    t = as_tensor(x)
    sq = sum(square(t), axis=axis, keepdims=True)
    return t * _torch().rsqrt(_torch().clamp(sq, min=1e-12))


def bias_add(x, bias, data_format=None):
    t, b = as_tensor(x), as_tensor(bias)
    if (data_format or _IMAGE_DATA_FORMAT) == "channels_first" and t.dim() > 2:
        return t + b.reshape((1, -1) + (1,) * (t.dim() - 2))
    return t + b


def stop_gradient(x):
    return as_tensor(x).detach()


def in_train_phase(x, alt, training=None):
    training = learning_phase() if training is None else training
    chosen = x if training else alt
    return chosen() if callable(chosen) else chosen


def in_test_phase(x, alt, training=None):
    return in_train_phase(alt, x, training)


# ---- activations and losses ------------------------------------------------------------
def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    torch = _torch()
    t = as_tensor(x)
    out = torch.where(t > threshold, t, alpha * (t - threshold)) if (alpha or threshold) else torch.relu(t)
    return out if max_value is None else torch.clamp(out, max=max_value)


def elu(x, alpha=1.0):
    return _torch().nn.functional.elu(as_tensor(x), alpha=alpha)


def sigmoid(x):
    return _torch().sigmoid(as_tensor(x))


def hard_sigmoid(x):
    """The Keras 2 definition: clip(0.2 x + 0.5, 0, 1)."""
    return _torch().clamp(0.2 * as_tensor(x) + 0.5, 0.0, 1.0)


def tanh(x):
    return _torch().tanh(as_tensor(x))


def softmax(x, axis=-1):
    return _torch().softmax(as_tensor(x), dim=axis)


def softplus(x):
    return _torch().nn.functional.softplus(as_tensor(x))


def softsign(x):
    return _torch().nn.functional.softsign(as_tensor(x))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Keras 2: probabilities are renormalized and clipped to [eps, 1-eps]; logits use log_softmax."""
    torch = _torch()
    target, output = as_tensor(target), as_tensor(output)
    if from_logits:
        return -(target * torch.log_softmax(output, dim=axis)).sum(dim=axis)
    output = output / output.sum(dim=axis, keepdim=True)
    output = torch.clamp(output, _EPSILON, 1.0 - _EPSILON)
    return -(target * torch.log(output)).sum(dim=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    torch = _torch()
    target, output = as_tensor(target), as_tensor(output)
    if axis != -1:
        output = output.movedim(axis, -1)
    if from_logits:
        logp = torch.log_softmax(output, dim=-1)
    else:
        output = output / output.sum(dim=-1, keepdim=True)
        logp = torch.log(torch.clamp(output, _EPSILON, 1.0 - _EPSILON))
    if target.dim() == logp.dim():
        target = target.squeeze(-1)
    return -logp.gather(-1, target.long().unsqueeze(-1)).squeeze(-1)


def binary_crossentropy(target, output, from_logits=False):
    """Keras 2 (tf.keras): clip to [eps, 1-eps], then -(t log(p + eps) + (1-t) log(1-p + eps))."""
    torch = _torch()
    target, output = as_tensor(target), as_tensor(output)
    if from_logits:
        return torch.nn.functional.binary_cross_entropy_with_logits(output, target, reduction="none")
    output = torch.clamp(output, _EPSILON, 1.0 - _EPSILON)
    return -(target * torch.log(output + _EPSILON) + (1 - target) * torch.log(1 - output + _EPSILON))


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    gen = _torch().Generator().manual_seed(seed) if seed is not None else None
    return _torch().rand(tuple(shape), generator=gen) * (maxval - minval) + minval


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    gen = _torch().Generator().manual_seed(seed) if seed is not None else None
    return _torch().randn(tuple(shape), generator=gen) * stddev + mean


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    return (random_uniform(shape, seed=seed) < p).float()


def dropout(x, level, noise_shape=None, seed=None):
    t = as_tensor(x)
    shape_ = tuple(t.shape) if noise_shape is None else tuple(noise_shape)
    keep = (random_uniform(shape_, seed=seed) >= level).to(t.dtype)
    return t * keep / (1.0 - level)


def image_dim_ordering() -> str:
    """Keras 1 spelling of the image data format: 'tf' or 'th'."""
    return "tf" if _IMAGE_DATA_FORMAT == "channels_last" else "th"


def set_image_dim_ordering(value: str) -> None:
    set_image_data_format({"tf": "channels_last", "th": "channels_first"}[value])


def function(inputs, outputs, updates=None, **kwargs):
    """Keras 2's `K.function([inputs..., K.learning_phase()], [outputs...])` over symbolic tensors.

    Returns a callable taking the input arrays (and, optionally, the learning
    phase value last) and returning the outputs as numpy arrays.
    """
    from kport.keras.engine.tensor import KerasTensor
    from kport.keras.engine.training import Model

    symbolic = [x for x in inputs if isinstance(x, KerasTensor)]
    outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    model = Model(symbolic, outs)

    def run(values):
        values = list(values)
        training = bool(values[len(symbolic)]) if len(values) > len(symbolic) else False
        arrays = [np.asarray(v, dtype=np.float32) if np.asarray(v).dtype == np.float64 else np.asarray(v)
                  for v in values[:len(symbolic)]]
        torch = _torch()
        with torch.no_grad():
            result = model._forward([as_tensor(a) for a in arrays], training=training)
        model._clear_call_losses()
        return [r.detach().cpu().numpy() for r in result]

    return run
