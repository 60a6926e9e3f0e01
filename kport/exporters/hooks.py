"""The walk every exporter shares: call each node's backend hook in graph order."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from kport.errors import ExportError, KportError
from kport.ir.graph import Graph

BACKEND_NAMES = {"onnx": "ONNX", "torch": "PyTorch"}


@dataclass
class NodeContext:
    """What an op hook knows about the layer call it exports.

    Attributes:
        layer: the Keras layer name (used to name weights and nodes).
        in_shapes: input shapes (None = unknown size).
        out_shapes: output shapes.
        call: the IR node's call record (`Node.call`): which inputs are keyword
            tensors such as `initial_state` or `mask` ('tensor:<kw>' -> positions).
        in_dtypes: input dtype names ('float32', 'int32', 'uint8', ...); empty when unknown.
    """

    layer: str
    in_shapes: list = field(default_factory=list)
    out_shapes: list = field(default_factory=list)
    call: dict = field(default_factory=dict)
    in_dtypes: list = field(default_factory=list)


def emit_nodes(graph: Graph, backend: str, builder: Any, names: dict[str, str],
               enter_layer: Callable[[str], None]) -> dict[str, str]:
    """Calls `op.to_<backend>(builder, inputs, weights, ctx)` for every node, in order.

    Args:
        graph: the IR model.
        backend: 'onnx' or 'torch'.
        builder: what the hooks emit into.
        names: IR tensor name -> backend name, filled in as nodes are emitted
            (holds the graph inputs on entry).
        enter_layer: told the layer name before its hook runs (for naming).

    Returns:
        `names`, now covering every tensor.

    Raises:
        ExportError: an op has no hook for the backend (with its written reason).
    """
    for node in graph.nodes:
        layer = graph.layers[node.layer]
        hook = getattr(layer.op, f"to_{backend}", None)
        if hook is None:
            reason = layer.op.no_hook.get(backend, f"no {BACKEND_NAMES[backend]} form yet")
            raise ExportError(f"{layer.op.kind} cannot be exported to {BACKEND_NAMES[backend]}: {reason}",
                              path=graph.source.path, layer=layer.name)
        ctx = NodeContext(layer.name, [graph.tensors[t].shape for t in node.inputs],
                          [graph.tensors[t].shape for t in node.outputs], call=dict(node.call),
                          in_dtypes=[graph.tensors[t].dtype for t in node.inputs])
        enter_layer(layer.name)
        try:
            outs = hook(builder, [names[t] for t in node.inputs], layer.weights, ctx)
        except KportError as err:
            raise err.with_context(layer=layer.name, path=graph.source.path)
        names.update(zip(node.outputs, outs))
    return names
