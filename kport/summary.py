"""A plain-data summary of a graph (what `kport inspect` prints)."""
from __future__ import annotations

import dataclasses

import numpy as np

from kport.ir.graph import Graph


def summarize(graph: Graph) -> dict:
    """Returns layers with kinds, output shapes and parameter counts, plus totals and provenance.

    Parameter counts come from the bound weights, or from the ops' weight
    shapes when the graph was loaded without weights.
    """
    layers = []
    total = trainable = 0
    for layer in graph.layers.values():
        nodes = graph.nodes_of(layer.name)
        counts = _weight_sizes(graph, layer, nodes)
        params = sum(counts.values())
        total += params
        if layer.trainable:
            trainable += sum(n for w, n in counts.items() if w not in layer.op.non_trainable_weights)
        layers.append({
            "name": layer.name, "kind": layer.op.kind, "params": params,
            "output_shapes": [list(graph.tensors[t].shape) for n in nodes[:1] for t in n.outputs],
            "inputs": list(dict.fromkeys(t for n in nodes for t in n.inputs)),
            "calls": len(nodes),
            "scope": list(layer.scope),
        })
    return {
        "name": graph.name, "kind": graph.kind, "source": dataclasses.asdict(graph.source),
        "inputs": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype} for t in graph.inputs],
        "outputs": [{"name": t, "shape": list(graph.tensors[t].shape)} for t in graph.outputs],
        "layers": layers,
        "params": {"total": total, "trainable": trainable, "non_trainable": total - trainable},
    }


def _weight_sizes(graph: Graph, layer, nodes) -> dict[str, int]:
    if layer.weights:
        return {k: int(np.prod(v.shape)) for k, v in layer.weights.items()}
    if not nodes:
        return {}
    shapes = layer.op.weight_shapes([graph.tensors[t].shape for t in nodes[0].inputs])
    return {k: int(np.prod([d or 0 for d in s])) for k, s in shapes.items()}
