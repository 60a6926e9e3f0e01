"""Runtimes: numpy (reference), onnxruntime, torch, tf. Heavy ones import lazily."""
from __future__ import annotations

import importlib

from kport.errors import KportError
from kport.runtime.base import Runtime

# backend name -> (module, class); modules are imported only when asked for
BACKENDS: dict[str, tuple[str, str]] = {
    "numpy": ("kport.runtime.numpy_backend", "NumpyRuntime"),
    "onnxruntime": ("kport.runtime.onnxruntime_backend", "OnnxRuntime"),
    "torch": ("kport.runtime.torch_backend", "TorchRuntime"),
    "tf": ("kport.runtime.tf_backend", "TfRuntime"),
}


def get_runtime(name: str, graph, device: str = "cpu") -> Runtime:
    """Builds the runtime called `name` for a graph.

    Raises:
        KportError: unknown backend name.
    """
    if name not in BACKENDS:
        raise KportError(f"unknown backend '{name}'", hint=f"choose one of {', '.join(BACKENDS)}")
    module, cls = BACKENDS[name]
    return getattr(importlib.import_module(module), cls)(graph, device)


__all__ = ["BACKENDS", "Runtime", "get_runtime"]
