"""Symbolic tensors: what layers return when called on `Input`s while a model is being defined."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kport.keras.engine.base_layer import Layer


@dataclass(eq=False)
class KerasTensor:
    """A symbolic tensor: its static shape (None = unknown, axis 0 the batch) and where it came from.

    Attributes:
        shape: the static shape.
        dtype: the element type.
        name: a readable name (`dense/0:0` style).
        keras_history: (layer, node index, tensor index) of the call that made it.
    """

    shape: tuple
    dtype: str = "float32"
    name: str = ""
    keras_history: tuple = field(default=None, repr=False)

    @property
    def _keras_history(self) -> tuple:
        return self.keras_history

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def node(self):
        """The layer call that produced this tensor."""
        layer, node_index, _ = self.keras_history
        return layer._inbound_nodes[node_index]

    def __len__(self):
        raise TypeError("a symbolic KerasTensor has no length; use K.int_shape(x)")

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape} dtype={self.dtype} name={self.name}>"


@dataclass(eq=False)
class Node:
    """One call of a layer on symbolic tensors.

    Attributes:
        layer: the called layer.
        inputs: the symbolic inputs, flattened in order.
        outputs: the symbolic outputs.
        kwargs: non-tensor call arguments (e.g. `training`).
        single_input: the layer was called on one tensor, not a list.
        n_main: how many of `inputs` are the positional inputs; the rest are keyword tensors.
        tensor_kwargs: keyword tensors (`initial_state=`, `mask=`): name -> (positions in `inputs`,
            given as a list).
    """

    layer: "Layer"
    inputs: list[KerasTensor]
    outputs: list[KerasTensor]
    kwargs: dict[str, Any] = field(default_factory=dict)
    single_input: bool = True
    n_main: int = -1
    tensor_kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.n_main < 0:
            self.n_main = len(self.inputs)

    @property
    def main_inputs(self) -> list:
        return self.inputs[:self.n_main]

    def call_record(self) -> dict:
        """The IR call record of the keyword tensors: {'tensor:<name>': positions}."""
        return {f"tensor:{k}": list(pos) for k, (pos, _) in self.tensor_kwargs.items()}

    @property
    def is_input(self) -> bool:
        return not self.inputs


def is_symbolic(value: Any) -> bool:
    """True for a KerasTensor or a (nested) list of them."""
    if isinstance(value, KerasTensor):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(is_symbolic(v) for v in value)
    return False


def flatten(value: Any) -> list:
    """Flattens nested lists/tuples of tensors into a list."""
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(flatten(v))
        return out
    return [value]
