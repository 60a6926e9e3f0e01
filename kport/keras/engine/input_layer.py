"""`InputLayer` and `Input()`: the entry points of a functional model."""
from __future__ import annotations

from kport.keras.engine import naming
from kport.keras.engine.base_layer import Layer
from kport.keras.engine.tensor import KerasTensor, Node


class InputLayer(Layer):
    """A placeholder layer whose single node has no inputs and outputs the model input tensor."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, name=None, batch_input_shape=None,
                 batch_shape=None, shape=None, sparse=False, ragged=False, **kwargs):
        name = name or naming.unique_name("input")
        super().__init__(name=name, dtype=dtype or "float32")
        batch_shape = batch_shape or batch_input_shape
        if batch_shape is None:
            inner = shape if shape is not None else input_shape
            if inner is None:
                raise ValueError("an Input needs `shape` (without the batch axis) or `batch_shape`")
            batch_shape = (batch_size,) + tuple(inner)
        self._batch_input_shape = tuple(batch_shape)
        self.built = True
        tensor = KerasTensor(self._batch_input_shape, self.dtype, name, (self, 0, 0))
        self._inbound_nodes.append(Node(self, [], [tensor]))

    def get_config(self) -> dict:
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.dtype, "sparse": False,
                "name": self.name}


def Input(shape=None, batch_size=None, name=None, dtype=None, sparse=False, tensor=None, batch_shape=None,
          **kwargs) -> KerasTensor:  # noqa: N802 - the Keras name
    """Returns a symbolic input tensor; `shape` excludes the batch axis."""
    if shape is None and batch_shape is None and "batch_input_shape" not in kwargs:
        raise ValueError("Input needs `shape` or `batch_shape`")
    layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                       batch_shape=batch_shape or kwargs.get("batch_input_shape"))
    return layer._inbound_nodes[0].outputs[0]
