"""`Lambda`: wraps a Python function of torch tensors as a layer (not writable to Keras files)."""
from __future__ import annotations

from typing import Callable

from kport.keras.engine.base_layer import Layer


class Lambda(Layer):
    """Applies `function(inputs, **arguments)`; `output_shape` (shape or function) skips the dry run."""

    def __init__(self, function: Callable, output_shape=None, mask=None, arguments: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self._output_shape = output_shape
        self.arguments = arguments or {}

    def call(self, inputs, mask=None, training=None):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        return (first[0],) + tuple(self._output_shape)
