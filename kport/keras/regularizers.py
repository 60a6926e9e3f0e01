"""`keras.regularizers`: weight penalties added to the training loss."""
from __future__ import annotations

from typing import Any


class Regularizer:
    """Base class: `reg(weight_tensor)` returns a scalar penalty."""

    def __call__(self, x):
        return 0.0

    def get_config(self) -> dict:
        return {}


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x**2)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        penalty = 0.0
        if self.l1:
            penalty = penalty + self.l1 * x.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * (x * x).sum()
        return penalty

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


def l1(l=0.01) -> L1L2:  # noqa: E741 - the Keras signature
    return L1L2(l1=l)


def l2(l=0.01) -> L1L2:  # noqa: E741
    return L1L2(l2=l)


def l1_l2(l1=0.01, l2=0.01) -> L1L2:  # noqa: F811
    return L1L2(l1=l1, l2=l2)


L1 = l1
L2 = l2


def get(identifier: Any):
    """Resolves a regularizer from None, a name, a Keras config dict, or a callable."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        return {"l1": l1, "l2": l2, "l1_l2": l1_l2}[identifier]()
    if isinstance(identifier, dict):
        return L1L2(**{k: v for k, v in identifier.get("config", {}).items() if k in ("l1", "l2")})
    raise ValueError(f"unknown regularizer {identifier!r}")
