"""A small builder that op hooks emit ONNX nodes into.

Op hooks call `g.op(...)` and `g.const(...)` and return output names; they
never touch onnx protobufs directly. Names are deterministic so the same
model always gives the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class OnnxNode:
    op_type: str
    inputs: list[str]
    outputs: list[str]
    name: str
    attrs: dict
    domain: str = ""


class OnnxGraph:
    """Collects nodes and initializers; turned into a ModelProto by the exporter."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list[OnnxNode] = []
        self.initializers: dict[str, np.ndarray] = {}
        self._counts: dict[str, int] = {}
        self._scope = ""
        self._const_cache: dict[tuple, str] = {}

    def fresh(self, hint: str) -> str:
        """Returns a new unique tensor/node name built from `hint`."""
        base = f"{self._scope}/{hint}" if self._scope else hint
        n = self._counts.get(base, 0)
        self._counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def scope(self, name: str) -> None:
        """Sets the prefix for names made until the next call (the layer name)."""
        self._scope = name

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, domain: str = "", **attrs):
        """Adds a node; returns its output name, or a list of names when n_out > 1.

        An empty string in `inputs` marks an omitted optional input.
        """
        name = self.fresh(op_type)
        outputs = [name if n_out == 1 else f"{name}:{i}" for i in range(n_out)]
        self.nodes.append(OnnxNode(op_type, list(inputs), outputs, name, attrs, domain))
        return outputs[0] if n_out == 1 else outputs

    def const(self, value, name: str | None = None) -> str:
        """Adds an initializer and returns its name.

        Small unnamed constants are shared; named ones (weights) keep their
        Keras path, e.g. `dense/kernel`.
        """
        arr = np.asarray(value)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        if name is None:
            key = (arr.dtype.str, arr.shape, arr.tobytes()) if arr.size <= 16 else None
            if key is not None and key in self._const_cache:
                return self._const_cache[key]
            name = self.fresh("const")
            if key is not None:
                self._const_cache[key] = name
        else:
            name = self._unique_initializer(name)
        # ascontiguousarray turns a 0-d array into shape (1,); keep scalars scalar (Gather indices)
        self.initializers[name] = np.ascontiguousarray(arr).reshape(arr.shape)
        return name

    def ints(self, values) -> str:
        """An int64 constant (shapes, axes, pads)."""
        return self.const(np.asarray(values, dtype=np.int64))

    def _unique_initializer(self, name: str) -> str:
        if name not in self.initializers:
            return name
        i = 1
        while f"{name}_{i}" in self.initializers:
            i += 1
        return f"{name}_{i}"
