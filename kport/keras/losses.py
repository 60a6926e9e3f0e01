"""`keras.losses`: Keras 2 (tf.keras) loss functions on torch tensors.

Functions return one value per sample (the mean over the last axis, as Keras
does); the `Loss` classes add the reduction: `sum_over_batch_size` (the
default: weighted sum / number of elements), `sum`, `none`.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from kport.keras import backend as K


def _t(y_true, y_pred):
    y_pred = K.as_tensor(y_pred)
    return K.as_tensor(y_true).to(y_pred.dtype), y_pred


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _t(y_true, y_pred)
    return ((y_pred - y_true) ** 2).mean(dim=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _t(y_true, y_pred)
    return (y_pred - y_true).abs().mean(dim=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _t(y_true, y_pred)
    diff = (y_true - y_pred).abs() / K.clip(y_true.abs(), K.epsilon(), None)
    return 100.0 * diff.mean(dim=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _t(y_true, y_pred)
    first = K.log(K.clip(y_pred, K.epsilon(), None) + 1.0)
    second = K.log(K.clip(y_true, K.epsilon(), None) + 1.0)
    return ((first - second) ** 2).mean(dim=-1)


def squared_hinge(y_true, y_pred):
    y_true, y_pred = _t(y_true, y_pred)
    y_true = _pm_one(y_true)
    return (K.clip(1.0 - y_true * y_pred, 0.0, None) ** 2).mean(dim=-1)


def hinge(y_true, y_pred):
    y_true, y_pred = _t(y_true, y_pred)
    return K.clip(1.0 - _pm_one(y_true) * y_pred, 0.0, None).mean(dim=-1)


def _pm_one(y_true):
    """tf.keras maps {0, 1} labels to {-1, 1} for the hinge losses."""
    if bool(((y_true == 0) | (y_true == 1)).all()):
        return 2.0 * y_true - 1.0
    return y_true


def categorical_hinge(y_true, y_pred):
    y_true, y_pred = _t(y_true, y_pred)
    pos = (y_true * y_pred).sum(dim=-1)
    neg = ((1.0 - y_true) * y_pred).amax(dim=-1)
    return K.clip(neg - pos + 1.0, 0.0, None)


def logcosh(y_true, y_pred):
    import torch

    y_true, y_pred = _t(y_true, y_pred)
    x = y_pred - y_true
    return (x + torch.nn.functional.softplus(-2.0 * x) - math.log(2.0)).mean(dim=-1)


def huber(y_true, y_pred, delta: float = 1.0):
    y_true, y_pred = _t(y_true, y_pred)
    err = (y_pred - y_true).abs()
    quad = K.clip(err, None, delta)
    return (0.5 * quad ** 2 + delta * (err - quad)).mean(dim=-1)


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1):
    y_true, y_pred = _t(y_true, y_pred)
    if axis != -1:
        y_true, y_pred = y_true.movedim(axis, -1), y_pred.movedim(axis, -1)
    if label_smoothing:
        n = y_true.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    return K.categorical_crossentropy(y_true, y_pred, from_logits=from_logits)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False, axis: int = -1):
    return K.sparse_categorical_crossentropy(K.as_tensor(y_true), K.as_tensor(y_pred), from_logits, axis)


def binary_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1):
    y_true, y_pred = _t(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return K.binary_crossentropy(y_true, y_pred, from_logits=from_logits).mean(dim=axis)


def kullback_leibler_divergence(y_true, y_pred):
    y_true, y_pred = _t(y_true, y_pred)
    y_true = K.clip(y_true, K.epsilon(), 1.0)
    y_pred = K.clip(y_pred, K.epsilon(), 1.0)
    return (y_true * K.log(y_true / y_pred)).sum(dim=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = _t(y_true, y_pred)
    return (y_pred - y_true * K.log(y_pred + K.epsilon())).mean(dim=-1)


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """tf.keras: the negative cosine similarity (so minimizing it aligns the vectors)."""
    y_true, y_pred = _t(y_true, y_pred)
    return -(K.l2_normalize(y_true, axis) * K.l2_normalize(y_pred, axis)).sum(dim=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence = kullback_leibler_divergence
cosine_proximity = cosine = cosine_similarity
log_cosh = logcosh


class Loss:
    """A loss with a reduction: calling it returns a scalar (or per-sample values for 'none')."""

    def __init__(self, reduction: str = "auto", name: str | None = None):
        self.reduction = "sum_over_batch_size" if reduction == "auto" else reduction
        self.name = name or _snake(type(self).__name__)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        return reduce_losses(self.call(y_true, y_pred), sample_weight, self.reduction)

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "name": self.name}


class LossFunctionWrapper(Loss):
    """Wraps a per-sample loss function with its keyword arguments."""

    def __init__(self, fn: Callable, reduction: str = "auto", name: str | None = None, **kwargs):
        super().__init__(reduction, name or fn.__name__)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.fn_kwargs}


def _wrapper(fn: Callable, class_name: str, **defaults):
    def __init__(self, reduction="auto", name=None, **kwargs):
        LossFunctionWrapper.__init__(self, fn, reduction, name or fn.__name__, **{**defaults, **kwargs})

    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__})


MeanSquaredError = _wrapper(mean_squared_error, "MeanSquaredError")
MeanAbsoluteError = _wrapper(mean_absolute_error, "MeanAbsoluteError")
MeanAbsolutePercentageError = _wrapper(mean_absolute_percentage_error, "MeanAbsolutePercentageError")
MeanSquaredLogarithmicError = _wrapper(mean_squared_logarithmic_error, "MeanSquaredLogarithmicError")
CategoricalCrossentropy = _wrapper(categorical_crossentropy, "CategoricalCrossentropy")
SparseCategoricalCrossentropy = _wrapper(sparse_categorical_crossentropy, "SparseCategoricalCrossentropy")
BinaryCrossentropy = _wrapper(binary_crossentropy, "BinaryCrossentropy")
Hinge = _wrapper(hinge, "Hinge")
SquaredHinge = _wrapper(squared_hinge, "SquaredHinge")
CategoricalHinge = _wrapper(categorical_hinge, "CategoricalHinge")
LogCosh = _wrapper(logcosh, "LogCosh")
Huber = _wrapper(huber, "Huber")
KLDivergence = _wrapper(kullback_leibler_divergence, "KLDivergence")
Poisson = _wrapper(poisson, "Poisson")
CosineSimilarity = _wrapper(cosine_similarity, "CosineSimilarity")


def reduce_losses(values, sample_weight=None, reduction: str = "sum_over_batch_size"):
    """tf.keras's weighted reduction: weights broadcast over the per-sample values.

    `sum_over_batch_size` divides the weighted sum by the number of values
    (not by the sum of the weights), as tf.keras 2.x does.
    """
    values = K.as_tensor(values)
    if sample_weight is not None:
        w = K.as_tensor(sample_weight).to(values.dtype)
        while w.dim() > values.dim():
            w = w.squeeze(-1)
        while w.dim() < values.dim():
            w = w.unsqueeze(-1)
        values = values * w
    if reduction == "none":
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    return total / max(values.numel(), 1)


_ALL = {name: obj for name, obj in globals().items() if callable(obj) and not name.startswith("_")
        and not isinstance(obj, type) and name not in ("reduce_losses", "get", "serialize", "deserialize")}


def _snake(name: str) -> str:
    from kport.keras.engine.naming import snake_case

    return snake_case(name)


def get(identifier: Any) -> Callable:
    """Resolves a loss from a name, a Loss object, or a function `(y_true, y_pred) -> values`."""
    if isinstance(identifier, str):
        fn = _ALL.get(identifier) or _ALL.get(identifier.lower())
        if fn is None:
            cls = globals().get(identifier)
            if isinstance(cls, type) and issubclass(cls, Loss):
                return cls()
            raise ValueError(f"Unknown loss function: {identifier}")
        return fn
    if isinstance(identifier, dict):
        cls = globals().get(identifier.get("class_name"))
        if isinstance(cls, type) and issubclass(cls, Loss):
            return cls(**identifier.get("config", {}))
        return get(identifier.get("class_name"))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss):
    """A loss as Keras writes it in `training_config`: a function's name or a Loss's {class_name, config}."""
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    if isinstance(loss, str):
        return loss
    return getattr(loss, "__name__", str(loss))


def deserialize(name):
    return get(name)
