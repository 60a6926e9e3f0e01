"""Model files with custom layers and `Lambda`s: written and read by the engine itself.

kport's importers and writers know registered ops only. A user's layer class is
the user's own Python, trusted by the engine as Keras trusts it, so:
- writing: each custom layer (and Lambda) enters the IR graph that the Keras
  writers (tf.keras `.h5`, Keras 3 `.keras`) read as an `EngineLayerOp`, which only spells
  the layer's Keras config (its class name and `get_config()`, as Keras writes it; Keras 3's
  entry fields from `keras3_custom.py`) and its weights;
- reading: a file whose config names a class from `custom_objects` (or a Lambda)
  is rebuilt here from its config, layer by layer (`from_config`, as Keras does),
  and the weights bound by layer name, in each layer's weight order.
The graph such a writer sees cannot be run or converted: `model.to_ir()` still
refuses custom layers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from kport.ops.base import Op

MODEL_CLASSES = ("Sequential", "Functional", "Model")


@dataclass
class EngineLayerOp(Op):
    """A custom layer's Keras config and weight names, for the Keras writers only (never registered or run)."""

    kind: ClassVar[str] = "EngineCustomLayer"
    no_hook: ClassVar[dict[str, str]] = {
        "onnx": "a user's Python layer", "torch": "a user's Python layer", "tf": "a user's Python layer"}

    class_name: str = ""
    config: dict = field(default_factory=dict)
    weight_names: tuple = ()
    out_shapes: tuple = ()
    keras3_entry: dict = field(default_factory=dict)  # `module`, `registered_name` (keras3_custom.py)
    keras3_config: dict | None = None  # a Lambda's config in Keras 3's spelling (keras3_custom.py)

    @property
    def keras_class(self) -> str:
        return self.class_name

    def keras_config(self, flavor: str = "keras3") -> dict[str, Any]:
        config = self.keras3_config if flavor == "keras3" and self.keras3_config is not None else self.config
        return {k: v for k, v in config.items() if k not in ("name", "trainable", "dtype")}

    def keras_weight_names(self, layer_name: str) -> list[str]:
        return list(self.weight_names)

    def output_shapes(self, in_shapes):
        return [tuple(s) for s in self.out_shapes]


def ir_layer(layer, node, trainable: bool, scope: tuple):
    """The IR layer standing for a custom layer in a graph written to a Keras file.

    Raises:
        ExportError: `get_config()` gives something JSON cannot hold.
    """
    from kport.errors import ExportError
    from kport.ir.graph import Layer as IRLayer
    from kport.keras.engine.keras3_custom import entry_fields, lambda_config
    from kport.keras.layers import Lambda

    config = layer.get_config()
    try:
        json.dumps(config)
    except TypeError as err:
        raise ExportError(f"the config of custom layer {type(layer).__name__} cannot be written as JSON: {err}",
                          layer=layer.name, hint="make get_config() return plain values (numbers, strings, lists, "
                                                 "dicts)") from err
    arrays = layer.get_weights()
    names, weights = [], {}
    for i, (p, value) in enumerate(zip(layer.weights, arrays)):
        short = str(getattr(p, "keras_name", f"weight_{i}")).split("/")[-1]
        key = short if short not in weights else f"{short}_{i}"
        weights[key] = np.asarray(value)
        names.append(f"{layer.name}/{key}:0")
    op = EngineLayerOp(class_name=type(layer).__name__, config=config, weight_names=tuple(names),
                       out_shapes=tuple(tuple(t.shape) for t in node.outputs), keras3_entry=entry_fields(layer),
                       keras3_config=lambda_config(layer, config) if isinstance(layer, Lambda) and "function" in config
                       else None)
    return IRLayer(layer.name, op, weights, bool(trainable and layer.trainable), scope)


# ---- reading -------------------------------------------------------------------------------------
def stored_model_config(path: str) -> dict | None:
    """The `model_config` of a Keras HDF5 file, or None (another format, or none stored)."""
    import h5py

    if not h5py.is_hdf5(path):
        return None
    with h5py.File(path, "r") as f:
        raw = f.attrs.get("model_config")
    return None if raw is None else json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def needs_engine(config, custom_objects: dict) -> bool:
    """Whether a model config names a class only the engine can build (custom objects, Lambda).

    Other unknown names go to kport's importers, which know every era's legacy class names.
    """
    for entry in _layer_entries(config):
        name = entry.get("class_name")
        if name in MODEL_CLASSES:
            if needs_engine(entry, custom_objects):
                return True
        elif name in custom_objects or name == "Lambda":
            return True
    return False


def _layer_entries(config) -> list[dict]:
    inner = config.get("config", config) if isinstance(config, dict) else config
    if isinstance(inner, list):  # Keras 2.0-2.1 Sequential: a bare layer list
        return inner
    return list(inner.get("layers", [])) if isinstance(inner, dict) else []


def load(path: str, config: dict, custom_objects: dict, safe_mode: bool):
    """Builds the model from its config (custom classes from `custom_objects`) and binds the file's weights."""
    model = build(config, custom_objects, safe_mode)
    _bind_weights(model, path)
    return model


def build(config: dict, custom_objects: dict, safe_mode: bool = True):
    """A freshly initialized engine model from a tf.keras `{class_name, config}` model config.

    Raises:
        ValueError: an unknown layer class (say which and how to provide it), or a graph that cannot be wired.
    """
    name = config.get("class_name")
    inner = config.get("config", {})
    if name == "Sequential":
        from kport.keras.engine.sequential import Sequential

        layers = inner if isinstance(inner, list) else inner.get("layers", [])
        model = Sequential(name=None if isinstance(inner, list) else inner.get("name"))
        for entry in layers:
            model.add(_layer(entry, custom_objects, safe_mode))
        return model
    if name not in ("Functional", "Model"):
        raise ValueError(f"not a model config: class_name {name!r}")
    return _functional(inner, custom_objects, safe_mode)


def _layer(entry: dict, custom_objects: dict, safe_mode: bool):
    from kport.keras.engine.input_layer import InputLayer
    from kport.keras.layers import Lambda, layer_classes

    name = entry.get("class_name")
    config = dict(entry.get("config", {}))
    if name in MODEL_CLASSES:
        return build(entry, custom_objects, safe_mode)
    if name in custom_objects:
        cls = custom_objects[name]
        if isinstance(cls, type) and issubclass(cls, Lambda):
            return cls.from_config(config, custom_objects=custom_objects, safe_mode=safe_mode)
        return cls.from_config(config)
    if name == "Lambda":
        return Lambda.from_config(config, custom_objects=custom_objects, safe_mode=safe_mode)
    if name == "InputLayer":
        config.pop("sparse", None), config.pop("ragged", None)
        return InputLayer(**config)
    cls = layer_classes().get(name)
    if cls is None:
        raise ValueError(f"Unknown layer: {name!r} (layer '{config.get('name')}'). A custom layer class must be "
                         f"passed to load_model: custom_objects={{{name!r}: {name}}}")
    return cls.from_config(config)


def _functional(config: dict, custom_objects: dict, safe_mode: bool):
    from kport.keras.engine.input_layer import InputLayer
    from kport.keras.engine.training import Model

    outputs: dict[tuple[str, int], list] = {}
    pending = []
    for entry in config.get("layers", []):
        layer = _layer(entry, custom_objects, safe_mode)
        if isinstance(layer, InputLayer):
            outputs[(layer.name, 0)] = [layer._inbound_nodes[0].outputs[0]]
        # a nested model built on its own Input has that call as node 0: the config counts calls from 1
        first = 1 if getattr(layer, "_is_graph_network", False) else 0
        for k, node in enumerate(entry.get("inbound_nodes", [])):
            pending.append((layer, entry.get("name", layer.name), first + k, node))
    while pending:
        progressed = []
        for item in pending:
            layer, name, k, node = item
            refs = [(r[0], int(r[1]), int(r[2])) for r in node]
            if not all((r[0], r[1]) in outputs for r in refs):
                continue
            xs = [outputs[(r[0], r[1])][r[2]] for r in refs]
            kwargs = node[0][3] if node and len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
            out = layer(xs if len(xs) > 1 else xs[0], **kwargs)
            outputs[(name, k)] = out if isinstance(out, list) else [out]
            progressed.append(item)
        if not progressed:
            stuck = sorted({name for _, name, _, _ in pending})
            raise ValueError(f"the model config cannot be wired: layers {stuck} wait for inputs that never appear")
        pending = [item for item in pending if item not in progressed]

    def tensors(spec):
        return [outputs[(s[0], int(s[1]))][int(s[2])] for s in spec]

    ins, outs = tensors(config["input_layers"]), tensors(config["output_layers"])
    return Model(ins if len(ins) > 1 else ins[0], outs if len(outs) > 1 else outs[0], name=config.get("name"))


def _bind_weights(model, path: str) -> None:
    """The file's weights, by layer name, in each layer's own order.

    A nested model is one group in the file; its weight names (`<inner layer>/<weight>:0`) say which
    inner layer each array belongs to.
    """
    import h5py

    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        stored: dict[str, list[tuple[str, np.ndarray]]] = {}
        for raw in group.attrs.get("layer_names", []):
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            wnames = [w.decode() if isinstance(w, bytes) else str(w) for w in group[name].attrs.get("weight_names", [])]
            stored[name] = [(w, np.asarray(group[name][w])) for w in wnames]
    _bind(model, stored)


def _bind(model, stored: dict) -> None:
    from kport.keras.engine.input_layer import InputLayer

    for layer in model._weight_owners():
        if isinstance(layer, InputLayer):
            continue
        entries = stored.get(layer.name, [])
        if getattr(layer, "_is_graph_network", False):
            by_inner: dict[str, list] = {}
            for wname, array in entries:
                parts = wname.split("/")
                by_inner.setdefault(parts[-2] if len(parts) > 1 else layer.name, []).append((wname, array))
            _bind(layer, by_inner)
            continue
        if layer.weights and not entries:
            raise ValueError(f"layer '{layer.name}' has {len(layer.weights)} weights but the file stores none for it")
        if entries:
            layer.set_weights([array for _, array in entries])
