"""Rewrites layers a Keras flavor lacks into exact constructions of its built-in layers.

An op that the target Keras has no class or setting for (Keras 3 dropped
LocallyConnected1D/2D; Keras 1 padding='full') may give
`keras_construction(flavor, in_shape, weights)`: a list of steps (op kind, attributes,
weights) applied one after another to its single input. The layer is replaced by those
layers, named after it (a step of the layer's own kind keeps its name, so its weights
keep their names), so the written file is the same model instead of a refusal.
A step may name its inputs as a fourth item: X (the layer's input), `f"x{i}"` (its
input i) or an int (an earlier step's output), so constructions may branch and merge;
the last step gives the layer's output. Keras-1-only layers, whose ops know nothing of
Keras writers, get theirs from constructions_legacy.py (several inputs allowed there).
Ops that no Keras writer can spell say why in `no_hook['keras']`: refused here, by name.
"""
from __future__ import annotations

import copy

from kport.errors import ExportError, KportError
from kport.exporters.keras.constructions_legacy import legacy_construction
from kport.ir.graph import Graph, Layer, Node, TensorSpec
from kport.ops.registry import op_for_kind

X = "x"  # a step input: the layer's (first) input


def build_constructions(graph: Graph, flavor: str) -> Graph:
    """Returns a graph whose layers all exist in the Keras `flavor`; unchanged when none needs it."""
    plans = {}
    for node in graph.nodes:
        layer = graph.layers[node.layer]
        if getattr(layer.op, "internal", False):
            continue  # IR-only nodes (masks): the writers leave them out
        hook = getattr(layer.op, "keras_construction", None)
        legacy = legacy_construction(layer.op)
        steps = None
        try:
            if hook is not None and len(node.inputs) == 1:
                steps = hook(flavor, graph.tensors[node.inputs[0]].shape, layer.weights)
            elif legacy is not None:
                steps = legacy(flavor, [graph.tensors[t].shape for t in node.inputs], layer.weights)
        except KportError as err:
            raise err.with_context(layer=layer.name, path=graph.source.path)
        if steps is not None:
            plans[id(node)] = steps
        elif "keras" in layer.op.no_hook:
            raise ExportError(f"{layer.op.kind} cannot be written as a {flavor} file: {layer.op.no_hook['keras']}",
                              path=graph.source.path, layer=layer.name)
        else:
            try:  # refusals inside an op's config get the file and layer named here
                layer.op.keras_config(flavor)
            except KportError as err:
                raise err.with_context(layer=layer.name, path=graph.source.path)
    if not plans:
        return graph
    out = copy.copy(graph)
    out.layers, out.tensors, out.nodes = dict(graph.layers), dict(graph.tensors), []
    for node in graph.nodes:
        steps = plans.get(id(node))
        if steps is None:
            out.nodes.append(node)
            continue
        like = graph.layers[node.layer]
        if sum(n.layer == node.layer for n in graph.nodes) == 1:
            del out.layers[node.layer]
        made: list[str] = []
        for i, (kind, attrs, weights, *refs) in enumerate(steps):
            own = kind == like.op.kind and node.layer not in out.layers
            name = node.layer if own else free_layer_name(out, f"{node.layer}_{kind.lower()}")
            op = op_for_kind(kind)(**attrs)
            out.layers[name] = Layer(name, op, dict(weights), like.trainable, like.scope)
            target = node.outputs[0] if i == len(steps) - 1 else free_tensor_name(out, f"{node.outputs[0]}/{name}")
            sources = [_source(node, made, r) for r in (refs[0] if refs else (i - 1 if i else X,))]
            shape = op.output_shapes([out.tensors[t].shape for t in sources])[0]
            out.tensors[target] = TensorSpec(target, tuple(shape), out.tensors[sources[0]].dtype)
            out.nodes.append(Node(name, sources, [target]))
            made.append(target)
    return out


def _source(node: Node, made: list[str], ref) -> str:
    """The tensor a step input names: an earlier step's output (int) or the layer's input i ('x<i>')."""
    if isinstance(ref, int):
        return made[ref]
    return node.inputs[int(ref[1:] or 0)]


def free_layer_name(graph: Graph, base: str) -> str:
    """`base`, or `base_<n>` with the first n no layer of `graph` has."""
    name, n = base, 1
    while name in graph.layers:
        name, n = f"{base}_{n}", n + 1
    return name


def free_tensor_name(graph: Graph, base: str) -> str:
    """`base`, or `base_<n>` with the first n no tensor of `graph` has."""
    name, n = base, 1
    while name in graph.tensors:
        name, n = f"{base}_{n}", n + 1
    return name
