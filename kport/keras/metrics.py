"""`keras.metrics`: metric functions (per-sample values) and streaming `Metric` objects.

`compile(metrics=['accuracy'])` picks the accuracy variant from the loss and
the output shape as tf.keras does; any loss function also works as a metric.
"""
from __future__ import annotations

from typing import Any, Callable

from kport.keras import backend as K
from kport.keras import losses as _losses


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    y_pred = K.as_tensor(y_pred)
    y_true = K.as_tensor(y_true).to(y_pred.dtype)
    return ((y_pred > threshold).to(y_pred.dtype) == y_true).to(y_pred.dtype).mean(dim=-1)


def categorical_accuracy(y_true, y_pred):
    y_pred = K.as_tensor(y_pred)
    return (K.as_tensor(y_true).argmax(dim=-1) == y_pred.argmax(dim=-1)).to(y_pred.dtype)


def sparse_categorical_accuracy(y_true, y_pred):
    y_pred = K.as_tensor(y_pred)
    y_true = K.as_tensor(y_true)
    if y_true.dim() == y_pred.dim():
        y_true = y_true.squeeze(-1)
    return (y_true.long() == y_pred.argmax(dim=-1)).to(y_pred.dtype)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    y_pred = K.as_tensor(y_pred)
    return sparse_top_k_categorical_accuracy(K.as_tensor(y_true).argmax(dim=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    y_pred = K.as_tensor(y_pred)
    y_true = K.as_tensor(y_true).long()
    if y_true.dim() == y_pred.dim():
        y_true = y_true.squeeze(-1)
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return (top == y_true.unsqueeze(-1)).any(dim=-1).to(y_pred.dtype)


def accuracy(y_true, y_pred):
    """Exact equality of labels and predictions (tf.keras `Accuracy`)."""
    y_pred = K.as_tensor(y_pred)
    return (K.as_tensor(y_true).to(y_pred.dtype) == y_pred).to(y_pred.dtype).mean(dim=-1)


mse = MSE = mean_squared_error = _losses.mean_squared_error
mae = MAE = mean_absolute_error = _losses.mean_absolute_error
mape = MAPE = mean_absolute_percentage_error = _losses.mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error = _losses.mean_squared_logarithmic_error
categorical_crossentropy = _losses.categorical_crossentropy
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy
binary_crossentropy = _losses.binary_crossentropy
hinge = _losses.hinge
squared_hinge = _losses.squared_hinge
kld = kullback_leibler_divergence = _losses.kullback_leibler_divergence
poisson = _losses.poisson
cosine_proximity = cosine_similarity = _losses.cosine_similarity
logcosh = _losses.logcosh


class Metric:
    """A streaming metric: `update_state`, `result`, `reset_states`."""

    def __init__(self, name: str | None = None, dtype: str | None = None):
        from kport.keras.engine.naming import snake_case

        self.name = name or snake_case(type(self).__name__)

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_states(self) -> None:
        raise NotImplementedError

    reset_state = reset_states

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()


class Mean(Metric):
    """The weighted mean of every value seen (weights broadcast over the values)."""

    def __init__(self, name: str = "mean", dtype: str | None = None):
        super().__init__(name)
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        # sums stay tensors until `result()`: on a GPU, reading them at every step would wait for it
        values = K.as_tensor(values).detach().double()
        if sample_weight is None:
            self.total = self.total + values.sum()
            self.count += values.numel()
            return
        w = K.as_tensor(sample_weight).detach().double()
        while w.dim() > values.dim():
            w = w.squeeze(-1)
        while w.dim() < values.dim():
            w = w.unsqueeze(-1)
        w = w.expand_as(values) if values.dim() else w
        self.total = self.total + (values * w).sum()
        self.count = self.count + w.sum()

    def result(self) -> float:
        count = float(self.count)
        return float(self.total) / count if count else 0.0

    def reset_states(self) -> None:
        self.total = 0.0
        self.count = 0.0


class MeanMetricWrapper(Mean):
    """Streams the mean of a per-sample metric function."""

    def __init__(self, fn: Callable, name: str | None = None, dtype: str | None = None, **kwargs):
        super().__init__(name or fn.__name__)
        self.fn = fn
        self.fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)


def _wrapper(fn: Callable, class_name: str, default_name: str):
    def __init__(self, name=None, dtype=None, **kwargs):
        MeanMetricWrapper.__init__(self, fn, name or default_name, **kwargs)

    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__})


class _Confusion(Metric):
    """Streams true/false positives/negatives at a threshold (tf.keras's confusion-matrix metrics)."""

    def __init__(self, thresholds: float | None = None, name: str | None = None, class_id: int | None = None,
                 dtype: str | None = None):
        super().__init__(name)
        self.threshold = 0.5 if thresholds is None else float(thresholds)
        self.class_id = class_id
        self.reset_states()

    def reset_states(self) -> None:
        self.tp = self.fp = self.fn = self.tn = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = K.as_tensor(y_pred).detach().double()
        y_true = K.as_tensor(y_true).detach().double().reshape(y_pred.shape)
        if self.class_id is not None:
            y_pred, y_true = y_pred[..., self.class_id], y_true[..., self.class_id]
        pred = y_pred > self.threshold
        true = y_true > 0.5
        w = 1.0
        if sample_weight is not None:
            w = K.as_tensor(sample_weight).double()
            while w.dim() < pred.dim():
                w = w.unsqueeze(-1)
            w = w.expand(pred.shape)
        ones = pred.double() * 0 + 1
        self.tp += float(((pred & true) * ones * w).sum())
        self.fp += float(((pred & ~true) * ones * w).sum())
        self.fn += float(((~pred & true) * ones * w).sum())
        self.tn += float(((~pred & ~true) * ones * w).sum())


class Precision(_Confusion):
    """tp / (tp + fp) of predictions above the threshold."""

    def result(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0


class Recall(_Confusion):
    """tp / (tp + fn) of predictions above the threshold."""

    def result(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


class TruePositives(_Confusion):
    def result(self) -> float:
        return self.tp


class FalsePositives(_Confusion):
    def result(self) -> float:
        return self.fp


class FalseNegatives(_Confusion):
    def result(self) -> float:
        return self.fn


class TrueNegatives(_Confusion):
    def result(self) -> float:
        return self.tn


Accuracy = _wrapper(accuracy, "Accuracy", "accuracy")
BinaryAccuracy = _wrapper(binary_accuracy, "BinaryAccuracy", "binary_accuracy")
CategoricalAccuracy = _wrapper(categorical_accuracy, "CategoricalAccuracy", "categorical_accuracy")
SparseCategoricalAccuracy = _wrapper(sparse_categorical_accuracy, "SparseCategoricalAccuracy",
                                     "sparse_categorical_accuracy")
TopKCategoricalAccuracy = _wrapper(top_k_categorical_accuracy, "TopKCategoricalAccuracy", "top_k_categorical_accuracy")
SparseTopKCategoricalAccuracy = _wrapper(sparse_top_k_categorical_accuracy, "SparseTopKCategoricalAccuracy",
                                         "sparse_top_k_categorical_accuracy")
MeanSquaredError = _wrapper(mean_squared_error, "MeanSquaredError", "mean_squared_error")
MeanAbsoluteError = _wrapper(mean_absolute_error, "MeanAbsoluteError", "mean_absolute_error")
CategoricalCrossentropy = _wrapper(categorical_crossentropy, "CategoricalCrossentropy", "categorical_crossentropy")
BinaryCrossentropy = _wrapper(binary_crossentropy, "BinaryCrossentropy", "binary_crossentropy")

_FUNCTIONS = {name: obj for name, obj in globals().items() if callable(obj) and not name.startswith("_")
              and not isinstance(obj, type) and name not in ("get", "resolve")}


def get(identifier: Any):
    """Resolves a metric from a name, a Metric object or a function."""
    if isinstance(identifier, str):
        fn = _FUNCTIONS.get(identifier)
        if fn is None:
            cls = globals().get(identifier)
            if isinstance(cls, type) and issubclass(cls, Metric):
                return cls()
            raise ValueError(f"Unknown metric function: {identifier}")
        return fn
    if callable(identifier) or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):  # tf.keras's serialized metric objects
        config = dict(identifier.get("config", {}))
        if identifier.get("class_name") == "MeanMetricWrapper" and config.get("fn"):
            return MeanMetricWrapper(get(config["fn"]), config.get("name"))
        cls = globals().get(identifier.get("class_name"))
        if isinstance(cls, type) and issubclass(cls, Metric):
            return cls(name=config.get("name"))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


def resolve(identifier: Any, loss_fn: Callable | None, output_shape: tuple) -> tuple[str, Metric]:
    """Turns a compile() metric into (log name, streaming metric), picking accuracy variants like tf.keras."""
    if isinstance(identifier, Metric):
        return identifier.name, identifier
    if identifier in ("accuracy", "acc", "crossentropy", "ce"):
        loss_name = getattr(loss_fn, "__name__", None) or type(loss_fn).__name__
        loss_name = getattr(loss_fn, "fn", None).__name__ if hasattr(loss_fn, "fn") else loss_name
        binary = loss_name == "binary_crossentropy" or (output_shape and output_shape[-1] == 1)
        sparse = "sparse" in loss_name
        if identifier in ("accuracy", "acc"):
            fn = binary_accuracy if binary else (sparse_categorical_accuracy if sparse else categorical_accuracy)
        else:
            fn = binary_crossentropy if binary else (sparse_categorical_crossentropy if sparse
                                                     else categorical_crossentropy)
        return identifier, MeanMetricWrapper(fn, identifier)
    fn = get(identifier)
    if isinstance(fn, Metric):
        return fn.name, fn
    name = identifier if isinstance(identifier, str) else fn.__name__
    return name, MeanMetricWrapper(fn, name)
