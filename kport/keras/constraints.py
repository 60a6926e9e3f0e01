"""`keras.constraints`: projections applied to a weight after each optimizer update (Keras 2 formulas).

They act on the Keras layout (`axis=0` of a Dense kernel is its input axis);
op layers apply them through the hook's layout declaration, so a torch
parameter stored transposed is constrained along the right axis.
"""
from __future__ import annotations

from typing import Any

from kport.keras import backend as K


class Constraint:
    def __call__(self, w):
        return w

    def get_config(self) -> dict:
        return {}


def _norms(w, axis):
    return (w * w).sum(dim=axis, keepdim=True).sqrt()


class MaxNorm(Constraint):
    """Rescales each slice along `axis` whose L2 norm exceeds `max_value`."""

    def __init__(self, max_value: float = 2.0, axis: int = 0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = norms.clamp(0.0, self.max_value)
        return w * (desired / (K.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Zeroes negative weights."""

    def __call__(self, w):
        return w * (w >= 0).to(w.dtype)


class UnitNorm(Constraint):
    """Scales each slice along `axis` to unit L2 norm."""

    def __init__(self, axis: int = 0):
        self.axis = axis

    def __call__(self, w):
        return w / (K.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each slice's norm into [min_value, max_value] at `rate`."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: int = 0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (K.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm = maxnorm = MaxNorm
non_neg = nonneg = NonNeg
unit_norm = unitnorm = UnitNorm
min_max_norm = MinMaxNorm

_BY_NAME = {"max_norm": MaxNorm, "maxnorm": MaxNorm, "MaxNorm": MaxNorm, "non_neg": NonNeg, "nonneg": NonNeg,
            "NonNeg": NonNeg, "unit_norm": UnitNorm, "unitnorm": UnitNorm, "UnitNorm": UnitNorm,
            "min_max_norm": MinMaxNorm, "MinMaxNorm": MinMaxNorm}


def get(identifier: Any):
    """Resolves a constraint from None, a name, a Keras config dict or a callable."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_NAME:
        return _BY_NAME[identifier["class_name"]](**identifier.get("config", {}))
    raise ValueError(f"unknown constraint {identifier!r}")


class InLayout:
    """Applies a Keras-layout constraint to a torch parameter stored with an axis permutation."""

    def __init__(self, constraint, to_keras_axes: tuple[int, ...] | None):
        self.constraint = constraint
        self.to_keras_axes = to_keras_axes

    def __call__(self, w):
        if self.to_keras_axes is None:
            return self.constraint(w)
        import numpy as np

        keras_view = w.permute(*self.to_keras_axes)
        return self.constraint(keras_view).permute(*[int(a) for a in np.argsort(self.to_keras_axes)])
