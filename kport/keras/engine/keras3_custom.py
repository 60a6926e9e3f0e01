"""Custom layers and `Lambda`s in Keras 3 `.keras` files, written and read as Keras 3 spells them.

Writing: `custom_saving.EngineLayerOp` gives the Keras 3 writer a custom layer's entry as Keras 3's
`serialize_keras_object` does (`module` = the class's module, `registered_name` = its class name),
and a Lambda's function as `{'class_name': '__lambda__', 'config': {code, defaults, closure}}` (base64
marshalled bytecode, which Keras 3 loads only with `safe_mode=False`).

Reading: a `.keras` file whose config names a class from `custom_objects` (or a Lambda) is turned into
the tf.keras spelling `custom_saving.build` reads (inbound nodes, dtype policies, function configs),
rebuilt layer by layer, and its weights bound from `model.weights.h5` (`layers/<snake_case class>[_n]/vars/<i>`,
numbered in Keras's layer order).
"""
from __future__ import annotations

import json
import zipfile

import numpy as np

LAMBDA = "__lambda__"


# ---- writing -------------------------------------------------------------------------------------
def entry_fields(layer) -> dict:
    """`module` and `registered_name` of a layer's Keras 3 config entry, as Keras 3 writes them."""
    from kport.keras.layers import Lambda

    if isinstance(layer, Lambda) and type(layer) is Lambda:
        return {"module": "keras.layers", "registered_name": None}
    cls = type(layer)
    return {"module": cls.__module__, "registered_name": cls.__name__}


def lambda_config(layer, config: dict) -> dict:
    """A Lambda's Keras 3 config: its tf.keras-spelled `config` with the functions as Keras 3 writes them.

    As Keras 3's `Lambda.get_config`: a Python `lambda` is its bytecode (`__lambda__`), any other
    callable its name (`{'module': 'builtins', 'class_name': 'function', 'config': name}`), found on
    loading through `custom_objects`.
    """
    out = {k: v for k, v in config.items() if not k.startswith(("function", "output_shape", "module", "mask"))}
    out["function"] = _function_to_keras3(layer.function, config["function"])
    if config.get("output_shape") is not None:
        shape = layer._output_shape
        out["output_shape"] = _function_to_keras3(shape, config["output_shape"]) if callable(shape) else \
            config["output_shape"]
    return out


def _function_to_keras3(function, dumped):
    if getattr(function, "__name__", None) == "<lambda>":
        code, defaults, closure = (list(dumped) + [None, None])[:3]
        return {"class_name": LAMBDA, "config": {"code": code, "defaults": defaults, "closure": closure}}
    name = getattr(function, "__name__", None)
    if name is None:
        raise ValueError(f"a Lambda function must be a Python function to be written, got {type(function).__name__}")
    return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}


# ---- reading -------------------------------------------------------------------------------------
def stored_config(path: str) -> dict | None:
    """The `config.json` of a Keras 3 `.keras` zip, or None (another format)."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as z:
        if "config.json" not in z.namelist():
            return None
        return json.loads(z.read("config.json"))


def load(path: str, document: dict, custom_objects: dict, safe_mode: bool):
    """Builds the engine model of a Keras 3 config and binds the zip's weights.

    Raises:
        ValueError: a nested model (not read here yet), or weights that do not fit the layers.
    """
    from kport.keras.engine import custom_saving

    sequential = document.get("class_name") == "Sequential"
    entries = document.get("config", {}).get("layers", [])
    if any(e.get("class_name") in custom_saving.MODEL_CLASSES for e in entries):
        raise ValueError("a .keras file with nested models and custom layers or Lambdas cannot be loaded by "
                         "kport.keras yet; save it as .h5 (tf.keras) instead")
    model = custom_saving.build(to_tf_keras(document), custom_objects, safe_mode)
    custom_saving._bind(model, _stored_weights(path, document, sequential))
    return model


def to_tf_keras(document: dict) -> dict:
    """A Keras 3 model config in the tf.keras spelling `custom_saving.build` reads."""
    inner = dict(document.get("config", {}))
    inner["layers"] = [_entry(e) for e in inner.get("layers", [])]
    if document.get("class_name") != "Sequential":
        for key in ("input_layers", "output_layers"):
            refs = inner.get(key, [])
            inner[key] = [refs] if refs and isinstance(refs[0], str) else refs
    inner.pop("dtype", None), inner.pop("build_input_shape", None)
    return {"class_name": document.get("class_name"), "config": inner}


def _entry(entry: dict) -> dict:
    config = {k: _plain_dtype(v) if k == "dtype" else v for k, v in entry.get("config", {}).items()}
    if entry.get("class_name") == "InputLayer":
        config.pop("optional", None)
    if isinstance(config.get("function"), dict):  # Lambda and its subclasses
        config = _lambda_from_keras3(config)
    out = {"class_name": entry.get("class_name"), "config": config}
    if "name" in entry:
        out["name"] = entry["name"]
    if "inbound_nodes" in entry:
        out["inbound_nodes"] = [_node(n) for n in entry["inbound_nodes"]]
    return out


def _plain_dtype(value):
    if isinstance(value, dict) and value.get("class_name") in ("DTypePolicy", "Policy"):
        return value.get("config", {}).get("name", "float32")
    return value


def _lambda_from_keras3(config: dict) -> dict:
    out = dict(config)
    for key, type_key, module_key in (("function", "function_type", "module"),
                                      ("output_shape", "output_shape_type", "output_shape_module")):
        value = config.get(key)
        if isinstance(value, dict) and value.get("class_name") == LAMBDA:
            c = value.get("config", {})
            out[key], out[type_key], out[module_key] = [c.get("code"), c.get("defaults"), c.get("closure")], \
                "lambda", None
        elif isinstance(value, dict) and value.get("class_name") == "function":  # by name: custom_objects
            out[key], out[type_key], out[module_key] = value.get("config"), "function", value.get("module")
        elif value is not None:
            out[type_key] = "raw"
    return out


def _node(node) -> list:
    """A Keras 3 inbound node (`{'args', 'kwargs'}` of keras tensors) as tf.keras's `[[layer, k, j, kwargs]]`."""
    from kport.exporters.keras.layer_order import _histories

    if not isinstance(node, dict):
        return node
    kwargs = {k: v for k, v in node.get("kwargs", {}).items() if v is not None}
    refs = [list(h) for h in _histories({"args": node.get("args", []), "kwargs": {}})]
    return [r + [kwargs] for r in refs]


def _stored_weights(path: str, document: dict, sequential: bool) -> dict:
    """{layer name: [(weight path, array), ...]} from `model.weights.h5`, groups named in Keras's layer order."""
    import io

    import h5py

    from kport.exporters.keras.layer_config import snake_case
    from kport.exporters.keras.layer_order import keras_layer_order

    config = document.get("config", {})
    order = [(e.get("class_name"), e.get("name") or e.get("config", {}).get("name"), None)
             for e in config.get("layers", [])]
    if sequential:
        order = [o for o in order if o[0] != "InputLayer"]
    else:
        order = keras_layer_order(config, order)
    with zipfile.ZipFile(path) as z:
        raw = z.read("model.weights.h5")
    stored: dict[str, list] = {}
    seen: dict[str, int] = {}
    with h5py.File(io.BytesIO(raw), "r") as f:
        for class_name, name, _ in order:
            base = snake_case(class_name)
            n = seen.get(base, 0)
            seen[base] = n + 1
            group = f.get(f"layers/{base if n == 0 else f'{base}_{n}'}/vars")
            if group is None:
                continue
            keys = sorted(group.keys(), key=int)
            stored[name] = [(f"{name}/{k}", np.asarray(group[k])) for k in keys]
    return stored
