"""Automatic layer and model names, tf.keras style: `dense`, `dense_1`, `dense_2`, ..."""
from __future__ import annotations

import re

_counts: dict[str, int] = {}


def snake_case(class_name: str) -> str:
    """`BatchNormalization` -> `batch_normalization`, `Conv2D` -> `conv2d`."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    """Returns `prefix` the first time, then `prefix_1`, `prefix_2`, ..."""
    n = _counts.get(prefix, 0)
    _counts[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset() -> None:
    """Forgets every counter (`K.clear_session()`)."""
    _counts.clear()
