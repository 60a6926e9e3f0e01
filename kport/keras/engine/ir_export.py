"""Engine models -> kport IR graphs (weights synced from torch), and IR graphs -> engine models."""
from __future__ import annotations

from kport.errors import ExportError

ENGINE_KERAS_VERSION = "2.21.0"  # the engine follows tf.keras 2 semantics (hard_sigmoid, defaults)


def to_graph(model, with_masks: bool = True, custom_layers: bool = False):
    """Returns the model as an IR graph: nested models flattened, layer names kept, current weights.

    Args:
        model: a functional or Sequential model.
        with_masks: make Keras's implicit masks explicit (ComputeMask nodes), as importing a file of
            this model would; Keras files do not record them, so the writers get the graph without.
        custom_layers: let custom layers and Lambdas in as config-only layers (`custom_saving.EngineLayerOp`),
            for the tf.keras file writer; such a graph cannot run or convert.

    Raises:
        ExportError: a subclassed model (no graph) or a custom layer without a kport op.
    """
    from kport.importers.keras_config import tensor_name
    from kport.importers.masks import add_implicit_masks
    from kport.ops.base import ImportContext
    from kport.ir.graph import Graph, SourceInfo, TensorSpec
    from kport.keras.engine.sequential import Sequential

    if not getattr(model, "_is_graph_network", False):
        raise ExportError(f"model '{model.name}' is a subclassed model without a layer graph; build it with the "
                          "functional API or Sequential to write it as a Keras file or convert it")
    graph = Graph(name=model.name, kind="Sequential" if isinstance(model, Sequential) else "Functional",
                  source=SourceInfo(format="kport.keras", keras_version=ENGINE_KERAS_VERSION, backend="torch"))
    names: dict[int, str] = {}
    from kport.keras.engine import stateful

    batch = stateful.fixed_batch(model)  # Keras loads a stateful model only with its batch size written
    for t in model.inputs:
        name = t.keras_history[0].name
        shape = tuple(t.shape)
        if batch is not None and shape and shape[0] is None:
            shape = (batch,) + shape[1:]
        spec = TensorSpec(name, shape, t.dtype)
        graph.inputs.append(spec)
        graph.tensors[name] = spec
        names[id(t)] = name
    _emit(model, graph, names, {}, (), tensor_name, model.trainable, custom_layers)
    graph.outputs = [names[id(t)] for t in model.outputs]
    # the implicit Keras masks, made explicit exactly as the importer does for a file of this model
    if with_masks:
        add_implicit_masks(graph, ImportContext(keras_major=2, keras_version=ENGINE_KERAS_VERSION,
                                                flavor="tf.keras"))
    return graph


def _emit(model, graph, names: dict, calls: dict, scope: tuple, tensor_name, trainable: bool,
          custom_layers: bool = False) -> None:
    from kport.ir.graph import Layer as IRLayer, Node, TensorSpec
    from kport.keras.engine.op_layer import OpLayer
    from kport.keras.engine.training import Model

    for node in model._nodes:
        layer = node.layer
        ins = [names[id(t)] for t in node.inputs]
        if isinstance(layer, Model) and layer._is_graph_network:
            inner = {id(t): n for t, n in zip(layer.inputs, ins)}
            _emit(layer, graph, inner, calls, scope + (layer.name,), tensor_name, trainable and layer.trainable,
                  custom_layers)
            for t, inner_t in zip(node.outputs, layer.outputs):
                names[id(t)] = inner[id(inner_t)]
            continue
        if not isinstance(layer, OpLayer) and custom_layers:  # a Keras writer spells its config (custom_saving.py)
            if layer.name not in graph.layers:
                from kport.keras.engine.custom_saving import ir_layer

                graph.layers[layer.name] = ir_layer(layer, node, trainable, scope)
        elif not isinstance(layer, OpLayer):
            raise ExportError(f"{type(layer).__name__} is a custom layer with no kport op",
                              layer=layer.name,
                              hint="save its weights with save_weights, or add an op for it in kport/ops/")
        if layer.name not in graph.layers:
            graph.layers[layer.name] = IRLayer(layer.name, layer.op, layer._weight_dict(),
                                               bool(trainable and layer.trainable), scope)
        k = calls.get(layer.name, 0)
        calls[layer.name] = k + 1
        outs = [tensor_name(layer.name, k, j) for j in range(len(node.outputs))]
        graph.nodes.append(Node(layer.name, ins, outs, node.call_record()))
        for t, out in zip(node.outputs, outs):
            names[id(t)] = out
            graph.tensors[out] = TensorSpec(out, tuple(t.shape), t.dtype)


def from_graph(graph, with_weights: bool = True):
    """Builds an engine model from an IR graph (a loaded file); weights copied when the graph has them."""
    from kport.keras.engine.input_layer import Input, InputLayer
    from kport.keras.engine.sequential import Sequential
    from kport.keras.engine.training import Model
    from kport.keras.layers import class_for_op

    graph = _without_implicit_masks(graph)
    made = {}
    for name, ir in graph.layers.items():
        made[name] = class_for_op(ir.op).from_op(ir.op, name=name, trainable=ir.trainable)
    if _is_chain(graph):
        model = Sequential(name=graph.name)
        spec = graph.inputs[0]
        model.add(InputLayer(batch_input_shape=spec.shape, name=spec.name, dtype=spec.dtype))
        for node in graph.nodes:
            model.add(made[node.layer])
    else:
        tensors = {spec.name: Input(batch_shape=spec.shape, name=spec.name, dtype=spec.dtype) for spec in graph.inputs}
        for node in graph.nodes:
            keyword = {k[len("tensor:"):]: [p for p in v if p is not None] for k, v in node.call.items()
                       if k.startswith("tensor:")}
            taken = {p for positions in keyword.values() for p in positions}
            xs = [tensors[t] for i, t in enumerate(node.inputs) if i not in taken]
            kwargs = {k: ([tensors[node.inputs[p]] for p in v] if k != "mask" else tensors[node.inputs[v[0]]])
                      for k, v in keyword.items() if v}
            many = len(xs) > 1 or getattr(graph.layers[node.layer].op, "takes_list", False)
            out = made[node.layer](xs if many else xs[0], **kwargs, **_call_kwargs(node.call))
            for name, t in zip(node.outputs, out if isinstance(out, list) else [out]):
                tensors[name] = t
        model = Model([tensors[s.name] for s in graph.inputs] if len(graph.inputs) > 1 else tensors[graph.inputs[0].name],
                      [tensors[o] for o in graph.outputs] if len(graph.outputs) > 1 else tensors[graph.outputs[0]],
                      name=graph.name)
    if with_weights and graph.has_weights:
        for name, layer in made.items():
            if graph.layers[name].weights:
                layer._set_weight_dict(dict(graph.layers[name].weights))
    return model


def _without_implicit_masks(graph):
    """Drops the IR-internal mask nodes and mask inputs: the engine propagates Keras masks itself."""
    import copy

    internal = {name for name, layer in graph.layers.items() if getattr(layer.op, "internal", False)}
    if not internal:
        return graph
    out = copy.copy(graph)
    out.layers = {name: layer for name, layer in graph.layers.items() if name not in internal}
    out.nodes = []
    for node in graph.nodes:
        if node.layer in internal:
            continue
        masks = {p for p in node.call.get("tensor:mask", []) if p is not None}
        if masks:
            call = {k: v for k, v in node.call.items() if k != "tensor:mask"}
            node = copy.copy(node)
            node.inputs = [t for i, t in enumerate(node.inputs) if i not in masks]
            node.call = call
        out.nodes.append(node)
    return out


def _is_chain(graph) -> bool:
    if graph.kind != "Sequential" or len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return False
    previous = graph.inputs[0].name
    seen = set()
    for node in graph.nodes:
        if node.inputs != [previous] or len(node.outputs) != 1 or node.layer in seen:
            return False
        seen.add(node.layer)
        previous = node.outputs[0]
    return previous == graph.outputs[0]


def _call_kwargs(call: dict) -> dict:
    return {k: v for k, v in (call or {}).items() if k == "training" and isinstance(v, bool)}
