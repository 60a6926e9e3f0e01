"""Invertible weight layout transforms between Keras and torch parameters.

A hook declares, per torch parameter, which Keras weight it comes from and
how; weight migration runs the same declaration backwards, so the two
directions can never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Same:
    """The torch parameter is the Keras weight as is."""

    def to_torch(self, a: np.ndarray) -> np.ndarray:
        return a

    def to_keras(self, a: np.ndarray) -> np.ndarray:
        return a

    def code(self) -> str:
        return "same"


@dataclass(frozen=True)
class Perm:
    """An axis permutation (e.g. Dense kernel (in, out) -> Linear weight (out, in))."""

    axes: tuple[int, ...]

    def to_torch(self, a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.transpose(a, self.axes))

    def to_keras(self, a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.transpose(a, np.argsort(self.axes)))


@dataclass(frozen=True)
class Blocks:
    """Reorders equal blocks along an axis (recurrent gates: Keras i,f,c,o -> torch i,f,g,o ...),
    optionally after a permutation of axes."""

    order: tuple[int, ...]
    axis: int = 0
    perm: tuple[int, ...] | None = None

    def to_torch(self, a: np.ndarray) -> np.ndarray:
        if self.perm is not None:
            a = np.transpose(a, self.perm)
        parts = np.split(a, len(self.order), axis=self.axis)
        return np.ascontiguousarray(np.concatenate([parts[i] for i in self.order], axis=self.axis))

    def to_keras(self, a: np.ndarray) -> np.ndarray:
        parts = np.split(a, len(self.order), axis=self.axis)
        inverse = np.argsort(self.order)
        a = np.concatenate([parts[i] for i in inverse], axis=self.axis)
        if self.perm is not None:
            a = np.transpose(a, np.argsort(self.perm))
        return np.ascontiguousarray(a)


SAME = Same()
