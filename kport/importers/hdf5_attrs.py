"""Reading Keras's HDF5 attributes: chunked names, bytes vs str, JSON values."""
from __future__ import annotations

import json
from typing import Any

import numpy as np


def read_attr(obj, name: str) -> Any:
    """Reads an attribute, joining Keras's `name0`, `name1`, ... chunks.

    Keras splits attributes over 64512 bytes into numbered chunks; values are
    decoded from bytes to str. Returns None when absent.
    """
    attrs = obj.attrs
    if name in attrs:
        return _decode(attrs[name])
    if f"{name}0" not in attrs:
        return None
    chunks = []
    i = 0
    while f"{name}{i}" in attrs:
        chunks.extend(_as_list(_decode(attrs[f"{name}{i}"])))
        i += 1
    return chunks


def read_json_attr(obj, name: str) -> Any:
    """Reads a JSON-valued attribute (model_config, training_config)."""
    value = read_attr(obj, name)
    if value is None:
        return None
    if isinstance(value, list):
        value = "".join(value)
    value = json.loads(value)
    if isinstance(value, str):  # double-encoded
        value = json.loads(value)
    return value


def read_str_list(obj, name: str) -> list[str]:
    """Reads a list-of-names attribute (layer_names, weight_names)."""
    value = read_attr(obj, name)
    if value is None:
        return []
    return [str(v) for v in _as_list(value)]


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return [_decode(v) for v in value.tolist()]
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
