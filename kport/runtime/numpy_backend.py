"""The numpy reference runtime: runs each op's `reference` in graph order."""
from __future__ import annotations

import numpy as np

from kport.errors import KportError
from kport.ir.graph import Graph
from kport.runtime.base import Runtime


class NumpyRuntime(Runtime):
    """The oracle: every other backend is compared with it."""

    name = "numpy"

    def __init__(self, graph: Graph, device: str = "cpu"):
        super().__init__(graph, device)
        # how many reads each tensor still has, so values can be freed early
        self._reads: dict[str, int] = {}
        for node in graph.nodes:
            for t in node.inputs:
                self._reads[t] = self._reads.get(t, 0) + 1

    def _run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return run_nodes(self.graph, feeds, dict(self._reads))


def run_nodes(graph: Graph, feeds: dict[str, np.ndarray], reads: dict[str, int] | None = None,
              keep: set[str] | None = None) -> list[np.ndarray]:
    """Evaluates the graph node by node with the numpy references.

    Args:
        graph: the model.
        feeds: input arrays by input name.
        reads: remaining read counts per tensor (values are dropped at zero).
        keep: tensor names never dropped (defaults to the graph outputs).

    Returns:
        The graph outputs in order.
    """
    values = dict(feeds)
    keep = set(graph.outputs) | (keep or set())
    for node in graph.nodes:
        layer = graph.layers[node.layer]
        try:
            outs = layer.op.reference_node([values[t] for t in node.inputs], layer.weights, node.call)
        except KportError as err:
            raise err.with_context(layer=layer.name, path=graph.source.path)
        for name, value in zip(node.outputs, outs):
            values[name] = value
        if reads is not None:
            for t in node.inputs:
                reads[t] -= 1
                if reads[t] == 0 and t not in keep:
                    values.pop(t, None)
    return [values[name] for name in graph.outputs]
