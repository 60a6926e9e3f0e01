"""Rewrites a graph so a Keras flavor can express it exactly, before a writer spells it.

Some activations mean something else, or do not exist, in the Keras that will
read the file: Keras 3 reads `hard_sigmoid` as relu6(x+3)/6, while Keras 1/2
meant clip(0.2x+0.5, 0, 1); tf.keras has no Keras 3 `hard_silu`. Such a layer
is written with a linear activation followed by plain layers doing the same
arithmetic (Rescaling, ReLU with max_value, Multiply), so the file is the same
model to the Keras that reads it instead of a silently different one.
"""
from __future__ import annotations

import copy
import dataclasses

from kport.ir.graph import Graph, Layer, Node, TensorSpec
from kport.ops.registry import op_for_kind

# flavor -> activation -> steps; a step is (op kind, attributes) applied to the previous
# tensor, or ("Multiply", None): multiply the previous tensor by the pre-activation input
_HARD_SIGMOID_V2 = [("Rescaling", {"scale": 0.2, "offset": 0.5}), ("ReLU", {"max_value": 1.0})]
_HARD_SIGMOID_V3 = [("Rescaling", {"scale": 1.0 / 6.0, "offset": 0.5}), ("ReLU", {"max_value": 1.0})]
RULES: dict[str, dict[str, list]] = {
    "keras3": {"hard_sigmoid": _HARD_SIGMOID_V2},
    "tf.keras": {
        "hard_sigmoid_v3": _HARD_SIGMOID_V3,
        "hard_silu": _HARD_SIGMOID_V3 + [("Multiply", None)],
        "hard_tanh": [("Rescaling", {"scale": 1.0, "offset": 1.0}), ("ReLU", {"max_value": 2.0}),
                      ("Rescaling", {"scale": 1.0, "offset": -1.0})],
    },
}


def lower_activations(graph: Graph, flavor: str) -> Graph:
    """Returns a graph whose layer activations the Keras `flavor` reads exactly.

    Layers with an activation in RULES[flavor] get a linear activation and the
    rule's layers after them; an Activation layer is replaced by those layers.
    The graph is returned unchanged when nothing needs lowering.
    """
    rules = RULES[flavor]
    targets = {name: rules[layer.op.activation] for name, layer in graph.layers.items()
               if getattr(layer.op, "activation", None) in rules}
    if not targets:
        return graph
    out = copy.copy(graph)
    out.layers, out.tensors, out.nodes = {}, dict(graph.tensors), []
    step_layers: dict[str, list[str]] = {}
    for name, layer in graph.layers.items():
        if name in targets and layer.op.kind == "Activation":
            pass  # replaced by the steps
        elif name in targets:
            out.layers[name] = Layer(name, dataclasses.replace(layer.op, activation="linear"), layer.weights,
                                     layer.trainable, layer.scope)
        else:
            out.layers[name] = layer
        if name in targets:
            step_layers[name] = [_add_layer(out, f"{name}_{kind.lower()}_{i}", kind, attrs, layer)
                                 for i, (kind, attrs) in enumerate(targets[name])]
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
        current = source
        steps = step_layers[node.layer]
        for i, step in enumerate(steps):
            target = result if i == len(steps) - 1 else f"{result}/step{i}"
            out.tensors[target] = TensorSpec(target, shape)
            inputs = [current, source] if out.layers[step].op.kind == "Multiply" else [current]
            out.nodes.append(Node(step, inputs, [target]))
            current = target
    return out


def _add_layer(graph: Graph, name: str, kind: str, attrs: dict | None, like: Layer) -> str:
    base, n = name, 1
    while name in graph.layers:
        name = f"{base}_{n}"
        n += 1
    graph.layers[name] = Layer(name, op_for_kind(kind)(**(attrs or {})), {}, like.trainable, like.scope)
    return name
