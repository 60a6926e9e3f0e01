"""Finds every op module in `kport.ops` and indexes them by kind and Keras class."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from kport.ops.base import Op

# modules in kport/ops that are helpers, not layer kinds
_HELPERS = {"base", "registry", "activation_fns", "lora", "conv_families", "spatial_common", "conv_common", "pool_common", "merge_common", "rnn_common", "rnn_onnx", "attention_common", "conv_lstm_common", "rnn_torch"}


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, type[Op]], dict[str, type[Op]]]:
    import kport.ops as pkg

    by_kind: dict[str, type[Op]] = {}
    by_class: dict[str, type[Op]] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name in _HELPERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"kport.ops.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Op) and obj.kind and obj.__module__ == module.__name__:
                if obj.kind in by_kind:
                    raise RuntimeError(f"op kind {obj.kind} defined twice")
                by_kind[obj.kind] = obj
                for name in obj.keras_classes or (obj.kind,):
                    by_class[name] = obj
    return by_kind, by_class


def all_ops() -> dict[str, type[Op]]:
    """Returns every op class by kind."""
    return dict(_index()[0])


def op_for_kind(kind: str) -> type[Op]:
    """Returns the op class of a kind (KeyError when unknown)."""
    return _index()[0][kind]


def op_for_keras_class(class_name: str) -> type[Op] | None:
    """Returns the op class for a Keras class name or legacy alias, or None."""
    return _index()[1].get(class_name)
