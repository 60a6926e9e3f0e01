"""Keras 3 layer configs from IR layers, and the functional model config around them."""
from __future__ import annotations

import re

from kport.errors import ExportError
from kport.ir.graph import Graph, Layer
from kport.ops import activation_fns

ACTIVATION_KEYS = ("activation", "recurrent_activation")


def layer_class_and_config(layer: Layer, graph: Graph, flavor: str = "keras3") -> tuple[str, dict]:
    """Returns (Keras class name, layer config) for one IR layer in Keras 3 or tf.keras spelling.

    Ops may refine their config with `keras_config()`; activation names are
    turned back into Keras spellings here (nested layers' by the same table). An
    activation the flavor would misread or lacks (Keras 1/2 `hard_sigmoid` for
    Keras 3, `hard_silu` for tf.keras) is refused, naming the layer: the caller lowers
    what it can first.
    """
    op = layer.op
    try:
        cfg = op.keras_config(flavor)
    except ExportError as err:  # a nested layer's refusal (an activation inside Bidirectional): name ours
        raise ExportError(err.message, path=err.path or graph.source.path, layer=err.layer or layer.name,
                          hint=err.hint) from None
    for key in ACTIVATION_KEYS:
        if key in cfg:
            cfg[key] = activation_name(cfg[key], flavor, graph, layer)
    class_name = getattr(op, "keras_class", None) or op.kind
    dtype = _dtype_policy("float32") if flavor == "keras3" else "float32"
    base = {"name": layer.name, "trainable": layer.trainable, "dtype": dtype}
    base.update(cfg)
    # base keys a Keras class refuses (Keras 3 SpatialDropout* take no `trainable`)
    for key in getattr(op, "keras_base_omit", {}).get(flavor, ()):
        base.pop(key, None)
    return class_name, base


def activation_name(name: str, flavor: str, graph: Graph, layer: Layer) -> str:
    """The Keras spelling of a canonical activation, refusing ones the flavor would misread or lack.

    The table (`activation_fns.KERAS_UNSPELLABLE`) is shared with nested layers' configs
    (`rnn_common.spell_activation`); lowering.py writes most of it as exact constructions first.
    """
    try:
        return activation_fns.keras_spelling(name, flavor)
    except ExportError as err:
        raise ExportError(err.message, path=graph.source.path, layer=layer.name, hint=err.hint) from None


def _dtype_policy(name: str) -> dict:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}


def keras_tensor(graph: Graph, tensor: str, history: tuple[str, int, int]) -> dict:
    """A Keras 3 `__keras_tensor__` reference to a layer call's output."""
    spec = graph.tensors[tensor]
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(spec.shape), "dtype": spec.dtype, "keras_history": list(history)}}


def snake_case(name: str) -> str:
    """Keras's object-path name for a class (`BatchNormalization` -> `batch_normalization`)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _mask_only_nodes(graph: Graph) -> set[int]:
    """ids of the nodes that only compute masks (read as 'tensor:mask' inputs, not model outputs)."""
    uses: dict[str, list[tuple[object, bool]]] = {}
    for node in graph.nodes:
        masks = {p for p in node.call.get("tensor:mask", []) if p is not None}
        for i, t in enumerate(node.inputs):
            uses.setdefault(t, []).append((node, i in masks))
    only: set[int] = set()
    for node in reversed(graph.nodes):
        outs = node.outputs
        if any(t in graph.outputs for t in outs) or not any(uses.get(t) for t in outs):
            continue
        if all(as_mask or id(user) in only for t in outs for user, as_mask in uses.get(t, [])):
            only.add(id(node))
    return only


def functional_config(graph: Graph, flavor: str = "keras3") -> tuple[dict, list[tuple[str, str, Layer | None]]]:
    """Builds the Functional config of a (flattened) graph in Keras 3 or tf.keras spelling.

    Returns:
        (config dict, layers in config order as (class name, layer name, IR layer or None for inputs)).
    """
    history: dict[str, tuple[str, int, int]] = {}
    layers_cfg = []
    order: list[tuple[str, str, Layer | None]] = []
    for spec in graph.inputs:
        history[spec.name] = (spec.name, 0, 0)
        shape_key = "batch_shape" if flavor == "keras3" else "batch_input_shape"
        layers_cfg.append({
            "module": "keras.layers", "class_name": "InputLayer",
            "config": {shape_key: list(spec.shape), "dtype": spec.dtype, "sparse": False, "ragged": False,
                       "name": spec.name},
            "registered_name": None, "name": spec.name, "inbound_nodes": []})
        order.append(("InputLayer", spec.name, None))
    entries: dict[str, dict] = {}
    mask_only = _mask_only_nodes(graph)
    for node in graph.nodes:
        layer = graph.layers[node.layer]
        if getattr(layer.op, "internal", False) or id(node) in mask_only:
            continue  # masks: Keras derives them again on load (docs/DEVELOPING.md "Masks")
        if node.layer not in entries:
            class_name, cfg = layer_class_and_config(layer, graph, flavor)
            entry = {"module": "keras.layers", "class_name": class_name, "config": cfg,
                     "registered_name": None, "name": layer.name, "inbound_nodes": []}
            masks = {p for p in node.call.get("tensor:mask", []) if p is not None}  # Keras derives them
            in_shape = [list(graph.tensors[t].shape) for i, t in enumerate(node.inputs) if i not in masks]
            entry["build_config"] = {"input_shape": in_shape[0] if len(in_shape) == 1 else in_shape}
            entries[node.layer] = entry
            layers_cfg.append(entry)
            order.append((class_name, layer.name, layer))
        entry = entries[node.layer]
        k = len(entry["inbound_nodes"])
        # op calls with constant operands (Keras 3 ops, tf.keras TFOpLambda) spell their own node
        written = getattr(layer.op, "keras_node", None)
        spec = written(flavor, [None if t not in history else
                                keras_tensor(graph, t, history[t]) if flavor == "keras3" else history[t]
                                for t in node.inputs], node) if written else None
        if spec is not None:
            entry["inbound_nodes"].append(spec["inbound"])
            if "module" in spec:
                entry["module"] = spec["module"]
            if "config" in spec:
                entry["config"] = {"name": layer.name, **spec["config"]}
            entry["class_name"] = spec.get("class_name", entry["class_name"])
            for key in spec.get("omit", ()):  # Keras 3 operations have no build_config
                entry.pop(key, None)
        elif flavor == "keras3":
            args = [keras_tensor(graph, t, history[t]) for t in node.inputs if t in history]
            many = getattr(layer.op, "takes_list", len(args) > 1)
            entry["inbound_nodes"].append({"args": [args] if many else args, "kwargs": {}})
        else:
            entry["inbound_nodes"].append([list(history[t]) + [{}] for t in node.inputs if t in history])
        for j, t in enumerate(node.outputs):
            history[t] = (node.layer, k, j)
    outs = [list(history[t]) for t in graph.outputs]
    ins = [list(history[s.name]) for s in graph.inputs]
    if flavor == "keras3":
        config = {"name": graph.name, "trainable": True, "layers": layers_cfg,
                  "input_layers": ins if len(ins) > 1 else ins[0],
                  "output_layers": outs if len(outs) > 1 else outs[0]}
    else:
        for entry in layers_cfg:
            for key in ("module", "registered_name", "build_config"):
                entry.pop(key, None)
        config = {"name": graph.name, "trainable": True, "layers": layers_cfg, "input_layers": ins,
                  "output_layers": outs}
    return config, order
