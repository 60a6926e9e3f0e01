"""`keras.utils`: to_categorical, normalize, Sequence, Progbar, get_custom_objects."""
from __future__ import annotations

import sys
import time

import numpy as np


def to_categorical(y, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """One-hot encodes integer class labels (a trailing axis of size 1 is dropped, as Keras does)."""
    y = np.asarray(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.ravel()
    num_classes = int(num_classes or (y.max() + 1 if y.size else 0))
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out.reshape(shape + (num_classes,))


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scales rows to unit `order`-norm."""
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


class Sequence:
    """Base of batch sources: `__len__` batches, `__getitem__(i)` -> (x, y[, sample_weight])."""

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        """Called after each epoch (e.g. to reshuffle)."""

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


_CUSTOM_OBJECTS: dict = {}


def multi_gpu_model(model, gpus=None, cpu_merge: bool = True, cpu_relocation: bool = False):
    """Replicates `model` over several GPUs (torch.nn.DataParallel); see `engine/data_parallel.py`."""
    from kport.keras.engine.data_parallel import multi_gpu_model as make

    return make(model, gpus=gpus, cpu_merge=cpu_merge, cpu_relocation=cpu_relocation)


def get_custom_objects() -> dict:
    """The global registry load_model consults for custom layers."""
    return _CUSTOM_OBJECTS


class CustomObjectScope:
    def __init__(self, *scopes: dict):
        self.scopes = scopes
        self.backup: dict = {}

    def __enter__(self):
        self.backup = dict(_CUSTOM_OBJECTS)
        for scope in self.scopes:
            _CUSTOM_OBJECTS.update(scope)
        return self

    def __exit__(self, *exc):
        _CUSTOM_OBJECTS.clear()
        _CUSTOM_OBJECTS.update(self.backup)


custom_object_scope = CustomObjectScope


class Progbar:
    """Keras's progress bar: `32/1000 [>....] - ETA: 3s - loss: 0.6931` (verbose=1) or one line (verbose=2)."""

    def __init__(self, target: int | None, width: int = 30, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics=None):
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.start = time.time()
        self._last = 0.0
        self.values: dict[str, float] = {}

    def update(self, current: int, values=None, final: bool | None = None) -> None:
        for k, v in values or []:
            self.values[k] = float(v)
        final = final if final is not None else (self.target is not None and current >= self.target)
        now = time.time()
        metrics = "".join(f" - {k}: {v:.4f}" for k, v in self.values.items())
        elapsed = now - self.start
        if self.verbose == 1:
            if not final and now - self._last < self.interval:
                return
            self._last = now
            if self.target:
                digits = len(str(self.target))
                done = int(self.width * min(current, self.target) / self.target)
                bar = "=" * max(done - 1, 0) + (">" if done < self.width else "=") + "." * (self.width - done)
                head = f"{current:>{digits}}/{self.target} [{bar}]"
            else:
                head = f"{current:7d}/Unknown"
            if final:
                per = elapsed / max(current, 1)
                tail = f" - {int(elapsed)}s {per * 1e6:.0f}us/sample" if per < 1e-3 else f" - {elapsed:.0f}s"
            else:
                eta = elapsed / max(current, 1) * ((self.target or current) - current)
                tail = f" - ETA: {eta:.0f}s"
            sys.stdout.write("\r" + head + tail + metrics + ("\n" if final else ""))
            sys.stdout.flush()
        elif self.verbose == 2 and final:
            sys.stdout.write(f" - {elapsed:.0f}s{metrics}\n")
            sys.stdout.flush()

    def add(self, n: int, values=None) -> None:
        self.update(getattr(self, "_seen", 0) + n, values)
        self._seen = getattr(self, "_seen", 0) + n


def set_random_seed(seed: int) -> None:
    """Seeds numpy (weight initialization, shuffling) and torch (dropout)."""
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


class np_utils:  # noqa: N801 - Keras 1/2 spelling `keras.utils.np_utils.to_categorical`
    to_categorical = staticmethod(to_categorical)
    normalize = staticmethod(normalize)
