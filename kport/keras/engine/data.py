"""Input data for fit/evaluate/predict: arrays (one or many inputs/outputs), generators, Sequences."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np


def as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def standardize(data: Any, names: list[str], what: str) -> list[np.ndarray]:
    """Turns an array, a list of arrays or a {name: array} dict into a list in model order."""
    if data is None:
        return []
    if isinstance(data, dict):
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"no data provided for {what} {missing[0]!r}; expected keys {names}")
        data = [data[n] for n in names]
    arrays = [np.asarray(a) for a in as_list(data)]
    if len(arrays) != len(names):
        raise ValueError(f"the model expects {len(names)} {what} array(s), but got {len(arrays)}")
    return arrays


def batch_count(n: int, batch_size: int) -> int:
    return (n + batch_size - 1) // batch_size


def array_batches(n: int, batch_size: int, shuffle: bool | str) -> Iterator[np.ndarray]:
    """Index arrays of each batch; shuffle=True permutes samples, 'batch' permutes whole batches.

    Like tf.keras, each epoch shuffles a fresh `arange(n)` with numpy's global RNG.
    """
    index = np.arange(n)
    if shuffle == "batch":
        starts = np.arange(0, n, batch_size)
        np.random.shuffle(starts)
        for s in starts:
            yield index[s:s + batch_size]
        return
    if shuffle:
        np.random.shuffle(index)
    for s in range(0, n, batch_size):
        yield index[s:s + batch_size]


def split_tuple(item: Any) -> tuple[Any, Any, Any]:
    """(x, y[, sample_weight]) from a generator item."""
    if not isinstance(item, tuple):
        return item, None, None
    if len(item) == 2:
        return item[0], item[1], None
    if len(item) == 3:
        return item
    raise ValueError(f"a generator must yield (x, y) or (x, y, sample_weight), got a tuple of {len(item)}")


def is_sequence(data: Any) -> bool:
    return hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(
        data, (np.ndarray, list, tuple, dict))


def is_generator(data: Any) -> bool:
    return hasattr(data, "__next__") or is_sequence(data)


def class_weights_for(y: np.ndarray, class_weight: dict) -> np.ndarray:
    """Per-sample weights from a {class: weight} dict (one-hot or integer targets)."""
    y = np.asarray(y)
    if y.ndim >= 2 and y.shape[-1] > 1:
        classes = y.reshape(-1, y.shape[-1]).argmax(axis=-1)
    else:
        classes = np.round(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
    return np.array([class_weight.get(int(c), 1.0) for c in classes], dtype=np.float32)
