"""The framework-neutral IR: a graph of Keras-level layer calls.

A `Graph` holds *layers* (an op with its attributes and weights, keyed by the
Keras layer name) and *nodes* (one call of a layer on some tensors). A shared
layer is one `Layer` called by several nodes. Nodes are kept in topological
order. Tensor shapes carry `None` for the batch and any other unknown size.
Weights are numpy arrays in the canonical Keras 2 / TensorFlow layout.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kport.ops.base import Op

Shape = tuple  # of int | None; axis 0 is the batch


@dataclass
class TensorSpec:
    """A named tensor: its shape (None = unknown size) and dtype."""

    name: str
    shape: Shape
    dtype: str = "float32"


@dataclass
class Layer:
    """One Keras layer: its op (kind + typed attributes) and its weights.

    Attributes:
        name: the Keras layer name; weights map back to Keras through it.
        op: the op instance holding the normalized attributes.
        weights: arrays in Keras order (the order `layer.weights` lists them).
        trainable: the Keras `trainable` flag.
        scope: names of the nested models this layer sat in, outermost first.
    """

    name: str
    op: "Op"
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    trainable: bool = True
    scope: tuple[str, ...] = ()

    def param_count(self) -> int:
        """Returns the number of scalars in this layer's weights."""
        return int(sum(int(np.prod(w.shape)) for w in self.weights.values()))


@dataclass
class Node:
    """One call of a layer.

    Attributes:
        layer: name of the called layer (a key of `Graph.layers`).
        inputs: tensor names, in the op's input order.
        outputs: tensor names this call produces.
        call: non-tensor call arguments as Keras recorded them (e.g. `training`).
    """

    layer: str
    inputs: list[str]
    outputs: list[str]
    call: dict = field(default_factory=dict)


@dataclass
class SourceInfo:
    """Where a graph came from: file, format and the Keras that wrote it."""

    path: str | None = None
    format: str = "unknown"
    keras_version: str | None = None
    backend: str | None = None

    @property
    def keras_major(self) -> int:
        """Major Keras version of the writer (2 when unknown)."""
        try:
            return int(str(self.keras_version).split(".")[0])
        except (TypeError, ValueError):
            return 2


@dataclass
class Graph:
    """A whole model.

    Attributes:
        name: the Keras model name.
        layers: every layer by name, in model order.
        nodes: layer calls in topological order.
        inputs: the model inputs (named after their InputLayer).
        outputs: names of the model-output tensors, in Keras order.
        tensors: spec of every tensor by name.
        source: provenance of the graph.
        kind: 'Sequential' or 'Functional', as the source declared it.
        has_weights: False for an architecture read without weights (a JSON file
            alone): enough to inspect, not to run or convert.
    """

    name: str = "model"
    layers: dict[str, Layer] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    tensors: dict[str, TensorSpec] = field(default_factory=dict)
    source: SourceInfo = field(default_factory=SourceInfo)
    kind: str = "Functional"
    has_weights: bool = True

    def require_weights(self, action: str = "run") -> None:
        """Raises a WeightError when the graph was imported without its weights."""
        if not self.has_weights:
            from kport.errors import WeightError

            raise WeightError(f"cannot {action}: the model was read without its weights", path=self.source.path,
                              hint="give the weights file too (--weights / weights=...)")

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self.inputs]

    def output_specs(self) -> list[TensorSpec]:
        return [self.tensors[n] for n in self.outputs]

    def param_count(self) -> int:
        """Total number of weight scalars."""
        return sum(layer.param_count() for layer in self.layers.values())

    def nodes_of(self, layer_name: str) -> list[Node]:
        """Returns the calls of one layer, in order."""
        return [n for n in self.nodes if n.layer == layer_name]

    def producers(self) -> dict[str, Node]:
        """Maps each tensor name to the node that makes it."""
        return {out: n for n in self.nodes for out in n.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        """Maps each tensor name to the nodes that read it."""
        result: dict[str, list[Node]] = {}
        for n in self.nodes:
            for t in n.inputs:
                result.setdefault(t, []).append(n)
        return result
