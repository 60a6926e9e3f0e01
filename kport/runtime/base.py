"""The one small interface every runtime follows."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from kport.errors import ShapeError
from kport.ir.graph import Graph


class Runtime:
    """Runs a graph on one backend.

    Subclasses prepare whatever they need in `__init__` (a session, a module)
    and implement `_run`. `run` checks and orders the inputs.
    """

    name: str = ""

    def __init__(self, graph: Graph, device: str = "cpu"):
        graph.require_weights("run")
        self.graph = graph
        self.device = device

    def run(self, feeds: Mapping[str, np.ndarray] | list[np.ndarray]) -> list[np.ndarray]:
        """Runs the model.

        Args:
            feeds: arrays by model-input name, or a list in model-input order.

        Returns:
            The model outputs as numpy arrays, in model-output order.
        """
        return self._run(bind_inputs(self.graph, feeds))

    def _run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError


def bind_inputs(graph: Graph, feeds: Mapping[str, np.ndarray] | list[np.ndarray]) -> dict[str, np.ndarray]:
    """Matches arrays to model inputs by name, else by position; checks shapes.

    Raises:
        ShapeError: wrong count of inputs or an array of the wrong rank/size.
    """
    names = graph.input_names
    if isinstance(feeds, Mapping):
        if set(names) <= set(feeds):
            arrays = [feeds[n] for n in names]
        else:
            arrays = list(feeds.values())
    else:
        arrays = list(feeds)
    if len(arrays) != len(names):
        raise ShapeError(f"the model takes {len(names)} input(s) {names}, got {len(arrays)} array(s)",
                         hint="give one array per model input, named after it or in order")
    bound = {}
    for spec, arr in zip(graph.inputs, arrays):
        arr = np.asarray(arr)
        if arr.ndim != len(spec.shape) or any(d is not None and d != a for d, a in zip(spec.shape, arr.shape)):
            raise ShapeError(f"input '{spec.name}' expects shape {_fmt(spec.shape)}, got {arr.shape}",
                             hint="reshape the array to the model's input shape")
        if spec.dtype.startswith("float") and arr.dtype != np.dtype(spec.dtype):
            arr = arr.astype(spec.dtype)
        bound[spec.name] = arr
    return bound


def _fmt(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
