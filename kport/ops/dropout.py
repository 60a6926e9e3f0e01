"""Dropout: zeroes a random fraction of inputs in training; the identity at inference."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.noise_common import InferenceIdentity


@dataclass
class Dropout(InferenceIdentity):
    kind = "Dropout"
    keras_classes = ("Dropout",)

    rate: float = 0.5
    noise_shape: tuple | None = None
    seed: int | None = None
