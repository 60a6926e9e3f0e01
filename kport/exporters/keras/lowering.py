"""Rewrites a graph so a Keras flavor can express it exactly, before a writer spells it.

Keras 3 reads `hard_sigmoid` as relu6(x+3)/6, so a Keras 1/2 layer whose
activation is clip(0.2x+0.5, 0, 1) is written as the same layer with a linear
activation followed by Rescaling(0.2, 0.5) and ReLU(max_value=1): the same
arithmetic, in layers Keras 3 knows.
"""
from __future__ import annotations

import copy
import dataclasses

from kport.ir.graph import Graph, Layer, Node, TensorSpec
from kport.ops.registry import op_for_kind


def lower_for_keras3(graph: Graph) -> Graph:
    """Returns a graph with every Keras 1/2 `hard_sigmoid` layer activation made explicit."""
    targets = {name for name, layer in graph.layers.items()
               if getattr(layer.op, "activation", None) == "hard_sigmoid"}
    if not targets:
        return graph
    out = copy.copy(graph)
    out.layers, out.tensors, out.nodes = {}, dict(graph.tensors), []
    added: dict[str, tuple[str, str]] = {}  # target layer -> (rescaling layer, relu layer)
    for name, layer in graph.layers.items():
        if name in targets and layer.op.kind != "Activation":
            layer = Layer(name, dataclasses.replace(layer.op, activation="linear"), layer.weights,
                          layer.trainable, layer.scope)
        if name not in targets or layer.op.kind != "Activation":
            out.layers[name] = layer
        if name in targets:
            added[name] = (_add_layer(out, f"{name}_hard_sigmoid_scale", op_for_kind("Rescaling")(scale=0.2, offset=0.5),
                                      layer),
                           _add_layer(out, f"{name}_hard_sigmoid_clip", op_for_kind("ReLU")(max_value=1.0), layer))
    for node in graph.nodes:
        if node.layer not in targets:
            out.nodes.append(node)
            continue
        result = node.outputs[0]
        shape = graph.tensors[result].shape
        if graph.layers[node.layer].op.kind == "Activation":
            source = node.inputs[0]
        else:
            source = f"{result}/linear"
            out.tensors[source] = TensorSpec(source, shape)
            out.nodes.append(Node(node.layer, list(node.inputs), [source] + node.outputs[1:], dict(node.call)))
        scaled = f"{result}/scaled"
        out.tensors[scaled] = TensorSpec(scaled, shape)
        scale_layer, clip_layer = added[node.layer]
        out.nodes.append(Node(scale_layer, [source], [scaled]))
        out.nodes.append(Node(clip_layer, [scaled], [result]))
    return out


def _add_layer(graph: Graph, name: str, op, like: Layer) -> str:
    base, n = name, 1
    while name in graph.layers:
        name = f"{base}_{n}"
        n += 1
    graph.layers[name] = Layer(name, op, {}, like.trainable, like.scope)
    return name
