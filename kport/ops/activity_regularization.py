"""ActivityRegularization: adds an L1/L2 activity loss in training; the identity at inference."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.noise_common import InferenceIdentity


@dataclass
class ActivityRegularization(InferenceIdentity):
    kind = "ActivityRegularization"
    keras_classes = ("ActivityRegularization",)

    l1: float = 0.0
    l2: float = 0.0
