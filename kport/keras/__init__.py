"""kport's reference Keras engine: `import kport.keras as keras`.

The Keras 2 API (Sequential, the functional Model, compile/fit/evaluate/predict,
callbacks, custom layers) over kport IR graphs, trained on PyTorch with the
Keras 2 optimizer formulas, saved with kport's Keras writers. Submodules load
on first use; nothing here imports TensorFlow, and torch only when a model runs.
"""
from __future__ import annotations

import importlib

__version__ = "2.21.0"  # the Keras API level the engine follows

_SUBMODULES = ("models", "layers", "optimizers", "losses", "metrics", "callbacks", "utils", "backend",
               "initializers", "regularizers", "constraints", "activations", "applications")
_NAMES = {"Sequential": "models", "Model": "models", "Input": "layers", "load_model": "models"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"kport.keras.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"kport.keras.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'kport.keras' has no attribute {name!r}")


__all__ = [*_SUBMODULES, *_NAMES]
