"""`keras.initializers`: weight initializers as in Keras 2, drawn with numpy's global RNG.

`np.random.seed(n)` before building a model makes its initial weights
reproducible, as it did with multi-backend Keras.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np


def compute_fans(shape: tuple) -> tuple[float, float]:
    """Keras's fan-in / fan-out: conv kernels `(*spatial, in, out)` count the receptive field."""
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = float(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: `init(shape, dtype)` returns a numpy array."""

    def __call__(self, shape, dtype="float32"):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype=dtype)


class Constant(Initializer):
    def __init__(self, value: float = 0.0):
        self.value = value

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype="float32"):
        return _rng(self.seed).uniform(self.minval, self.maxval, shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32"):
        return _rng(self.seed).normal(self.mean, self.stddev, shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype="float32"):
        rng = _rng(self.seed)
        x = rng.normal(0.0, 1.0, shape)
        bad = np.abs(x) > 2
        while bad.any():  # redraw beyond two standard deviations, as Keras does
            x[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
            bad = np.abs(x) > 2
        return (self.mean + self.stddev * x).astype(dtype)


class VarianceScaling(Initializer):
    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "normal",
                 seed: int | None = None):
        if distribution == "normal":
            distribution = "truncated_normal"
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = compute_fans(tuple(shape))
        denom = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, denom)
        if self.distribution == "truncated_normal":
            # 0.879... is the stddev of a unit normal truncated at two standard deviations
            return TruncatedNormal(0.0, math.sqrt(scale) / 0.87962566103423978, self.seed)(shape, dtype)
        if self.distribution == "untruncated_normal":
            return RandomNormal(0.0, math.sqrt(scale), self.seed)(shape, dtype)
        limit = math.sqrt(3.0 * scale)
        return RandomUniform(-limit, limit, self.seed)(shape, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


class Orthogonal(Initializer):
    def __init__(self, gain: float = 1.0, seed: int | None = None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype="float32"):
        rows = int(np.prod(shape[:-1]))
        cols = shape[-1]
        a = _rng(self.seed).normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        return (self.gain * np.eye(*shape)).astype(dtype)


def glorot_uniform(seed=None):
    return VarianceScaling(1.0, "fan_avg", "uniform", seed)


def glorot_normal(seed=None):
    return VarianceScaling(1.0, "fan_avg", "truncated_normal", seed)


def he_uniform(seed=None):
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def he_normal(seed=None):
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed=None):
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def lecun_normal(seed=None):
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


def _rng(seed: int | None):
    return np.random if seed is None else np.random.RandomState(seed)


GlorotUniform, GlorotNormal = glorot_uniform, glorot_normal
HeUniform, HeNormal, LecunUniform, LecunNormal = he_uniform, he_normal, lecun_uniform, lecun_normal

_BY_NAME = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "uniform": RandomUniform, "random_uniform": RandomUniform, "normal": RandomNormal,
    "random_normal": RandomNormal, "truncated_normal": TruncatedNormal, "orthogonal": Orthogonal,
    "identity": Identity, "glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal,
    "he_uniform": he_uniform, "he_normal": he_normal, "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal, "variance_scaling": VarianceScaling,
}
_BY_CLASS = {"Zeros": Zeros, "Ones": Ones, "Constant": Constant, "RandomUniform": RandomUniform,
             "RandomNormal": RandomNormal, "TruncatedNormal": TruncatedNormal, "Orthogonal": Orthogonal,
             "Identity": Identity, "VarianceScaling": VarianceScaling, "GlorotUniform": glorot_uniform,
             "GlorotNormal": glorot_normal, "HeUniform": he_uniform, "HeNormal": he_normal,
             "LecunUniform": lecun_uniform, "LecunNormal": lecun_normal}


def get(identifier: Any):
    """Resolves an initializer from a name, a Keras config dict, an instance or a callable."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        factory = _BY_CLASS.get(identifier.get("class_name")) or _BY_NAME.get(identifier.get("class_name"))
        if factory is None:
            raise ValueError(f"unknown initializer {identifier!r}")
        import inspect

        # later Keras versions add config keys (e.g. Keras 3's `input_axes`) these Keras 2 initializers ignore
        accepted = inspect.signature(factory).parameters
        return factory(**{k: v for k, v in identifier.get("config", {}).items() if k in accepted})
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, str) and identifier in _BY_CLASS:
        return _BY_CLASS[identifier]()
    raise ValueError(f"unknown initializer {identifier!r}")


# weight name -> the Keras default initializer of that weight
DEFAULTS = {
    "kernel": "glorot_uniform", "bias": "zeros", "recurrent_kernel": "orthogonal", "gamma": "ones",
    "beta": "zeros", "moving_mean": "zeros", "moving_variance": "ones", "embeddings": "uniform",
    "depthwise_kernel": "glorot_uniform", "pointwise_kernel": "glorot_uniform", "alpha": "zeros",
}


def keyword_for(weight: str) -> list[str]:
    """The constructor keywords that can set a weight's initializer (`kernel_initializer`, ...)."""
    short = weight[: -len("_kernel")] if weight.endswith("_kernel") and weight != "kernel" else weight
    return [f"{weight}_initializer", f"{short}_initializer"]
