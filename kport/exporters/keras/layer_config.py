"""Keras 3 layer configs from IR layers, and the functional model config around them."""
from __future__ import annotations

import re

from kport.errors import ExportError
from kport.ir.graph import Graph, Layer
from kport.ops import activation_fns

ACTIVATION_KEYS = ("activation", "recurrent_activation")


def layer_class_and_config(layer: Layer, graph: Graph) -> tuple[str, dict]:
    """Returns (Keras class name, Keras 3 config) for one IR layer.

    Ops may refine their config with `keras_config()`; activation names are
    turned back into Keras spellings here. A semantic Keras 3 cannot express
    (Keras 1/2 `hard_sigmoid`) is refused: the caller lowers it first.
    """
    op = layer.op
    cfg = op.keras_config()
    for key in ACTIVATION_KEYS:
        if key in cfg:
            if cfg[key] == "hard_sigmoid":
                raise ExportError("Keras 1/2 hard_sigmoid (clip(0.2x+0.5)) has no Keras 3 spelling",
                                  path=graph.source.path, layer=layer.name,
                                  hint="kport lowers it to Rescaling + ReLU before writing; report this bug")
            cfg[key] = activation_fns.keras_name(cfg[key])
    class_name = getattr(op, "keras_class", None) or op.kind
    base = {"name": layer.name, "trainable": layer.trainable, "dtype": _dtype_policy("float32")}
    base.update(cfg)
    return class_name, base


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


def functional_config(graph: Graph) -> tuple[dict, list[tuple[str, str, Layer | None]]]:
    """Builds the Keras 3 Functional config of a (flattened) graph.

    Returns:
        (config dict, layers in config order as (class name, layer name, IR layer or None for inputs)).
    """
    history: dict[str, tuple[str, int, int]] = {}
    layers_cfg = []
    order: list[tuple[str, str, Layer | None]] = []
    for spec in graph.inputs:
        history[spec.name] = (spec.name, 0, 0)
        layers_cfg.append({
            "module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": list(spec.shape), "dtype": spec.dtype, "sparse": False, "ragged": False,
                       "name": spec.name, "optional": False},
            "registered_name": None, "name": spec.name, "inbound_nodes": []})
        order.append(("InputLayer", spec.name, None))
    entries: dict[str, dict] = {}
    for node in graph.nodes:
        layer = graph.layers[node.layer]
        if node.layer not in entries:
            class_name, cfg = layer_class_and_config(layer, graph)
            entry = {"module": "keras.layers", "class_name": class_name, "config": cfg,
                     "registered_name": None, "name": layer.name, "inbound_nodes": []}
            in_shape = [list(graph.tensors[t].shape) for t in node.inputs]
            entry["build_config"] = {"input_shape": in_shape[0] if len(in_shape) == 1 else in_shape}
            entries[node.layer] = entry
            layers_cfg.append(entry)
            order.append((class_name, layer.name, layer))
        entry = entries[node.layer]
        k = len(entry["inbound_nodes"])
        args = [keras_tensor(graph, t, history[t]) for t in node.inputs]
        many = getattr(layer.op, "takes_list", len(node.inputs) > 1)
        entry["inbound_nodes"].append({"args": [args] if many else args, "kwargs": {}})
        for j, t in enumerate(node.outputs):
            history[t] = (node.layer, k, j)
    outs = [list(history[t]) for t in graph.outputs]
    ins = [list(history[s.name]) for s in graph.inputs]
    config = {"name": graph.name, "trainable": True, "layers": layers_cfg,
              "input_layers": ins if len(ins) > 1 else ins[0],
              "output_layers": outs if len(outs) > 1 else outs[0]}
    return config, order
