"""`Sequential`: a linear stack of layers, built as soon as the input shape is known."""
from __future__ import annotations

from kport.keras.engine.base_layer import Layer
from kport.keras.engine.input_layer import Input, InputLayer
from kport.keras.engine.training import Model


class Sequential(Model):
    """Layers applied one after the other; `model.layers` leaves the input layer out (Keras 2)."""

    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self._stack: list[Layer] = []
        self._input_tensor = None
        self._output_tensor = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def _weight_owners(self) -> list[Layer]:
        branches = [b for layer in self._stack for b in getattr(layer, "branches", [])]
        return branches + list(self._stack)

    def all_layers(self) -> list[Layer]:
        out: list[Layer] = []
        for layer in self._weight_owners():
            inner = layer.all_layers() if isinstance(layer, Model) else [layer]
            out.extend(x for x in inner if x not in out)
        return out

    def add(self, layer: Layer) -> None:
        """Appends a layer; the first one may carry `input_shape` / `input_dim` / `batch_input_shape`."""
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Found: {layer!r}")
        if isinstance(layer, InputLayer):
            self._input_tensor = layer._inbound_nodes[0].outputs[0]
            self._output_tensor = self._input_tensor
            return
        if getattr(layer, "branches", None) and not self._stack:
            # Keras 1: a Sequential that starts with Merge([branch models]) takes every branch's inputs
            self._stack.append(layer)
            self._input_tensor = [t for branch in layer.branches for t in branch.inputs]
            self._output_tensor = layer([branch.output for branch in layer.branches])
            self._init_graph(self._input_tensor, self._output_tensor)
            self._metric_entries = []
            return
        if self._input_tensor is None and not self._stack:
            shape = getattr(layer, "_batch_input_shape", None)
            if shape is None and isinstance(layer, Model) and layer._is_graph_network:
                shape = layer.inputs[0].shape
            if shape is not None:
                self._input_tensor = Input(batch_shape=tuple(shape))
                self._output_tensor = self._input_tensor
        self._stack.append(layer)
        if self._output_tensor is not None:
            out = layer(self._output_tensor)
            if isinstance(out, list):
                raise ValueError("All layers in a Sequential model should have a single output tensor.")
            self._output_tensor = out
            self._init_graph(self._input_tensor, self._output_tensor)
            self._metric_entries = []

    def pop(self) -> None:
        """Removes the last layer."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        self._stack.pop()
        if self._input_tensor is None:
            return
        out = self._input_tensor
        for layer in self._stack:
            out = layer._inbound_nodes[-1].outputs[0] if layer._inbound_nodes else layer(out)
        self._output_tensor = out
        if self._stack:
            self._init_graph(self._input_tensor, out)
        else:
            self._is_graph_network = False
            self.built = False

    def build(self, input_shape=None) -> None:
        """Builds a model whose first layer gave no input shape, from the data's shape."""
        if self._is_graph_network:
            return
        if input_shape is None:
            raise ValueError("You must provide an `input_shape` argument to build a Sequential model.")
        self._input_tensor = Input(batch_shape=tuple(input_shape))
        out = self._input_tensor
        for layer in self._stack:
            out = layer(out)
        self._output_tensor = out
        self._init_graph(self._input_tensor, out)

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2 helper: argmax of the predictions (threshold 0.5 for one output unit)."""
        p = self.predict(x, batch_size=batch_size, verbose=verbose)
        return p.argmax(axis=-1) if p.shape[-1] > 1 else (p > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        return self.predict(x, batch_size=batch_size, verbose=verbose)
