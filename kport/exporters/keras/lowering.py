"""Rewrites a graph so a Keras flavor can express it exactly, before a writer spells it.

Some activations mean something else, or do not exist, in the Keras that will
read the file: Keras 3 reads `hard_sigmoid` as relu6(x+3)/6, while Keras 1/2
meant clip(0.2x+0.5, 0, 1); tf.keras has no Keras 3 `hard_silu` or
`log_softmax`. Such a layer is written with a linear activation followed by
plain layers doing the same arithmetic (Rescaling, ReLU, Multiply, ...; a
TFOpLambda where tf.keras has the function), so the file is the same model to
the Keras that reads it instead of a silently different one. Recurrent layers,
whose activations act inside the cell, are rewritten by rescaling their weights
(recurrent_gates.py).
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Callable

from kport.exporters.keras.constructions import free_tensor_name
from kport.exporters.keras.recurrent_gates import is_recurrent, lower_recurrent_gates
from kport.importers.masks import KEEPS_MASK, may_carry_mask
from kport.ir.graph import Graph, Layer, Node, TensorSpec
from kport.ops.registry import op_for_kind

X = "x"  # a step input: the pre-activation tensor; an int i: the output of step i


def _step(kind: str, attrs: dict | None = None, inputs: tuple = ()) -> tuple[str, dict | None, tuple]:
    """One layer of a construction; `inputs` default to the previous step's output (X for the first)."""
    return kind, attrs, inputs


def _rescale(scale: float, offset: float = 0.0, inputs: tuple = ()) -> tuple:
    return _step("Rescaling", {"scale": scale, "offset": offset}, inputs)


def _activation(name: str, inputs: tuple = ()) -> tuple:
    return _step("Activation", {"activation": name}, inputs)


_HARD_SIGMOID_V2 = [_rescale(0.2, 0.5), _step("ReLU", {"max_value": 1.0})]
_HARD_SIGMOID_V3 = [_rescale(1.0 / 6.0, 0.5), _step("ReLU", {"max_value": 1.0})]
# 0.5x + 0.5 equals 0.5(x + 1) in float32 too: halving is exact and commutes with rounding
_SPARSE_SIGMOID = [_rescale(0.5, 0.5), _step("ReLU", {"max_value": 1.0})]


def _glu(size: int | None) -> list | None:
    """glu halves the last axis: x[..., :n] * sigmoid(x[..., n:]) with n = size / 2 (a known size only)."""
    if size is None:
        return None
    n = size // 2
    half = [_step("TFSlice", {"spec": (("ellipsis",), ("slice", None, n, None))}, (X,)),
            _step("TFSlice", {"spec": (("ellipsis",), ("slice", n, None, None))}, (X,))]
    return half + [_activation("sigmoid"), _step("Multiply", None, (0, 2))]


# flavor -> activation -> the steps computing it (Keras 3 defaults: shrink threshold 0.5, squareplus b 4)
RULES: dict[str, dict[str, list | Callable[[int | None], list | None]]] = {
    "keras3": {"hard_sigmoid": _HARD_SIGMOID_V2},
    "tf.keras": {
        "hard_sigmoid_v3": _HARD_SIGMOID_V3,
        "hard_silu": _HARD_SIGMOID_V3 + [_step("Multiply", None, (1, X))],
        "hard_tanh": [_rescale(1.0, 1.0), _step("ReLU", {"max_value": 2.0}), _rescale(1.0, -1.0)],
        "log_softmax": [_step("TFUnary", {"function": "nn.log_softmax", "axis": -1})],
        "gelu_tanh": [_step("TFUnary", {"function": "nn.gelu", "approximate": True})],
        "celu": [_activation("elu")],  # celu with Keras's alpha = 1 is elu with alpha = 1
        "log_sigmoid": [_rescale(-1.0), _activation("softplus"), _rescale(-1.0)],  # -softplus(-x)
        "tanh_shrink": [_activation("tanh"), _step("Subtract", None, (X, 0))],
        # x where |x| > 0.5: ThresholdedReLU(x) - ThresholdedReLU(-x)
        "hard_shrink": [_step("ThresholdedReLU", {"theta": 0.5}), _rescale(-1.0, 0.0, (X,)),
                        _step("ThresholdedReLU", {"theta": 0.5}), _step("Subtract", None, (0, 2))],
        # relu(x - 0.5) - relu(-x - 0.5)
        "soft_shrink": [_rescale(1.0, -0.5), _step("ReLU"), _rescale(-1.0, -0.5, (X,)), _step("ReLU"),
                        _step("Subtract", None, (1, 3))],
        # (x + sqrt(x*x + 4)) / 2
        "squareplus": [_step("Multiply", None, (X, X)), _rescale(1.0, 4.0), _step("TFUnary", {"function": "math.sqrt"}),
                       _step("Add", None, (X, 2)), _rescale(0.5)],
        "sparse_sigmoid": _SPARSE_SIGMOID,
        # s*s + relu(x - 1) with s = clip((x + 1) / 2, 0, 1)
        "sparse_plus": _SPARSE_SIGMOID + [_step("Multiply", None, (1, 1)), _rescale(1.0, -1.0, (X,)),
                                          _step("ReLU"), _step("Add", None, (2, 4))],
        "glu": _glu,  # needs the pre-activation size
    },
}


def lower_for_keras(graph: Graph, flavor: str) -> Graph:
    """Every rewrite a Keras writer needs, in order; the source graph is never changed.

    Recurrent layers first (their rescaled weights keep the layer), then activations
    (wrapped ones too, before constructions.py checks every config), then layers the
    flavor lacks (constructions.py), then the activations their steps carry.
    """
    from kport.exporters.keras.constructions import build_constructions

    graph = lower_activations(lower_recurrent_gates(stop_masks(graph, flavor), flavor), flavor)
    return lower_activations(build_constructions(graph, flavor), flavor)


# Keras 3 layer classes that pass an incoming mask on (supports_masking, compute_mask left alone);
# Masking makes a new mask whatever its flag says (importers/masks.py), so no stop follows it
KERAS3_PASSES_MASK = (KEEPS_MASK | {"Rescaling", "Normalization"}) - {"Masking"}


def stop_masks(graph: Graph, flavor: str) -> Graph:
    """Stops masks in a Keras 3 file where kport's layer drops them but Keras 3's class passes them on.

    A tf.keras / Keras 2 Identity, Rescaling or Normalization drops an incoming mask (so
    does every layer a Lambda's body made); the Keras 3 classes pass it on, and the recurrent
    layer after them would see a mask the source model never gave it. Where a mask can
    arrive (masks.may_carry_mask), the call's output goes through an identity transpose,
    a Keras 3 operation (keras.ops.transpose with axes 0..rank-1): bit-identical values, and
    an operation sets no mask on its new tensor (a Permute or Reshape layer would do the
    same but warns that it destroys the mask). An Identity called once is replaced by it.
    Other flavors and graphs without such a call are returned as they are.
    """
    if flavor != "keras3":
        return graph
    candidates = [n for n in graph.nodes if n.inputs and _drops_but_keras3_passes(graph.layers[n.layer].op)]
    if not candidates:
        return graph
    carried = may_carry_mask(graph)
    stops = {id(n) for n in candidates if n.inputs[0] in carried}
    if not stops:
        return graph
    out = copy.copy(graph)
    out.layers, out.tensors, out.nodes = dict(graph.layers), dict(graph.tensors), []
    for node in graph.nodes:
        if id(node) not in stops:
            out.nodes.append(node)
            continue
        like = graph.layers[node.layer]
        result = node.outputs[0]
        rank = len(graph.tensors[result].shape)
        identity = op_for_kind("TFTranspose")(function="transpose", perm=tuple(range(rank)))
        if like.op.kind == "Identity" and sum(n.layer == node.layer for n in graph.nodes) == 1:
            out.layers[node.layer] = Layer(node.layer, identity, {}, like.trainable, like.scope)
            out.nodes.append(Node(node.layer, [node.inputs[0]], [result]))
            continue
        kept = free_tensor_name(out, f"{result}/mask_kept")  # the layer's output, mask still on it in Keras 3
        out.tensors[kept] = TensorSpec(kept, tuple(graph.tensors[result].shape), graph.tensors[result].dtype)
        out.nodes.append(Node(node.layer, list(node.inputs), [kept] + node.outputs[1:], dict(node.call)))
        name, k = f"{node.layer}_stop_mask", 1
        while name in out.layers:
            name, k = f"{node.layer}_stop_mask_{k}", k + 1
        out.layers[name] = Layer(name, identity, {}, like.trainable, like.scope)
        out.nodes.append(Node(name, [kept], [result]))
    return out


def _drops_but_keras3_passes(op) -> bool:
    """kport's op drops an incoming mask (its importer said so) where the Keras 3 class passes it on."""
    return vars(op).get("propagates_mask") is False and op.kind in KERAS3_PASSES_MASK


def lower_activations(graph: Graph, flavor: str) -> Graph:
    """Returns a graph whose layer activations the Keras `flavor` reads exactly.

    Layers with an activation in RULES[flavor] get a linear activation and the
    rule's layers after them; an Activation layer is replaced by those layers.
    Recurrent layers are left to lower_recurrent_gates. The source graph is never
    changed; it is returned as is when nothing needs lowering.
    """
    rules = RULES[flavor]
    targets = {}
    for name, layer in graph.layers.items():
        rule = rules.get(_output_activation(layer.op))
        if callable(rule):  # a rule that needs the pre-activation's last size
            first = next((n for n in graph.nodes if n.layer == name), None)
            rule = rule(None if first is None else _pre_activation_shape(graph, first)[-1])
        if rule:
            targets[name] = rule
    if not targets:
        return graph
    out = copy.copy(graph)
    out.layers, out.tensors, out.nodes = {}, dict(graph.tensors), []
    step_layers: dict[str, list[str]] = {}
    for name, layer in graph.layers.items():
        if name in targets and layer.op.kind == "Activation":
            pass  # replaced by the steps
        elif name in targets:
            out.layers[name] = Layer(name, _linear(layer.op), layer.weights,
                                     layer.trainable, layer.scope)
        else:
            out.layers[name] = layer
        if name in targets:
            step_layers[name] = [_add_layer(out, f"{name}_{kind.lower()}_{i}", kind, attrs, layer)
                                 for i, (kind, attrs, _) in enumerate(targets[name])]
    for node in graph.nodes:
        if node.layer not in targets:
            out.nodes.append(node)
            continue
        result = node.outputs[0]
        spec = graph.tensors[result]
        shape = tuple(spec.shape)
        if _output_activation(graph.layers[node.layer].op) == "glu":  # halves the last axis
            pre = tuple(_pre_activation_shape(graph, node))
            shape = pre[:-1] + (pre[-1] // 2,)
        if graph.layers[node.layer].op.kind == "Activation":
            source = node.inputs[0]
        else:
            source = f"{result}/linear"
            out.tensors[source] = TensorSpec(source, tuple(_pre_activation_shape(graph, node)), spec.dtype)
            out.nodes.append(Node(node.layer, list(node.inputs), [source] + node.outputs[1:], dict(node.call)))
        made: list[str] = []
        steps = step_layers[node.layer]
        for i, (step, (_, _, inputs)) in enumerate(zip(steps, targets[node.layer])):
            target = result if i == len(steps) - 1 else f"{result}/step{i}"
            out.tensors[target] = TensorSpec(target, shape, spec.dtype)
            refs = inputs or ((i - 1,) if i else (X,))
            out.nodes.append(Node(step, [source if r == X else made[r] for r in refs], [target]))
            made.append(target)
    return out


def _pre_activation_shape(graph: Graph, node: Node) -> tuple:
    """The shape of a node's output before its layer's activation."""
    op = graph.layers[node.layer].op
    if op.kind == "Activation":
        return graph.tensors[node.inputs[0]].shape
    if _output_activation(op) != "glu":  # element-wise: the output's own shape
        return graph.tensors[node.outputs[0]].shape
    return _linear(op).output_shapes([graph.tensors[t].shape for t in node.inputs])[0]


def _output_activation(op) -> str | None:
    """The activation an op applies last, element-wise on its output (through TimeDistributed); else None."""
    if op.kind == "TimeDistributed" and op.layer is not None:
        return _output_activation(op.layer)
    # recurrent layers apply theirs inside the cell; Highway mixes its output with the input
    if is_recurrent(op) or op.kind == "Highway":
        return None
    return getattr(op, "activation", None)


def _linear(op):
    """The op with its output activation made linear (the construction's layers follow it)."""
    if op.kind == "TimeDistributed":
        return dataclasses.replace(op, layer=_linear(op.layer))
    return dataclasses.replace(op, activation="linear")


def _add_layer(graph: Graph, name: str, kind: str, attrs: dict | None, like: Layer) -> str:
    base, n = name, 1
    while name in graph.layers:
        name = f"{base}_{n}"
        n += 1
    graph.layers[name] = Layer(name, op_for_kind(kind)(**(attrs or {})), {}, like.trainable, like.scope)
    return name
