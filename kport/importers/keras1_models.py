"""Keras 0.x/1.x whole-config rewrites, run before the graph is built (MODEL_NORMALIZERS).

- a Sequential whose first layer is a `Merge` of Sequential branches becomes a functional
  config with the branches inlined (their weights were saved per inner layer);
- nested Sequentials saved as bare lists are spliced in (or named, inside a functional model);
- ZeroPadding/Cropping/UpSampling layers that lost `dim_ordering` take the model's;
- on Theano, 'same' convolutions become ZeroPadding + 'valid' and 'same' pooling becomes
  `TheanoPooling` wherever TF 'same' would place the windows differently.
"""
from __future__ import annotations

import json

from kport.errors import UnsupportedLayerError
from kport.importers.keras1_legacy import DIM_ORDERING, config_dicts
from kport.ops.base import ImportContext

def normalize_model(model: dict, ctx: ImportContext) -> dict:
    """Applies the model-level legacy rewrites (Merge-headed Sequentials, Theano 'same' padding)."""
    model = merge_sequential_to_functional(model)
    if ctx.keras_major <= 1:
        model = _map_layers(model, _splice_nested_sequentials)
        model = fill_dim_ordering(model)
    if ctx.backend == "theano" or (ctx.backend is None and ctx.keras_major <= 1 and _uses_th_ordering(model)):
        # a Keras 1 architecture alone (JSON) does not name its backend; `th` ordering was Theano's own
        model = _map_layers(model, _theano_same_layers)
    return model


def _uses_th_ordering(model: dict) -> bool:
    return '"dim_ordering": "th"' in json.dumps(model.get("config"))


# Keras 1.2.2 forgot `dim_ordering` in these classes' get_config
NO_SAVED_ORDERING = {"ZeroPadding2D", "ZeroPadding3D", "Cropping2D", "Cropping3D", "UpSampling2D", "UpSampling3D"}


def fill_dim_ordering(model: dict) -> dict:
    """Gives spatial layers whose Keras 1 config lost `dim_ordering` the ordering the model uses.

    Keras 1.2.2 did not save it for ZeroPadding/Cropping/UpSampling 2D/3D, so
    Keras itself reloaded them with whatever keras.json said. When every layer
    that recorded an ordering agrees, that ordering is the one the model was built with.
    """
    orderings = {d["dim_ordering"] for d in config_dicts(model.get("config")) if d.get("dim_ordering") in ("th", "tf")}
    if len(orderings) != 1:
        return model
    ordering = orderings.pop()

    def fill(layers: list[dict], functional: bool) -> list[dict]:
        out = []
        for lc in layers:
            cfg = lc.get("config")
            if lc.get("class_name") in NO_SAVED_ORDERING and isinstance(cfg, dict) and "dim_ordering" not in cfg \
                    and "data_format" not in cfg:
                lc = {**lc, "config": {**cfg, "dim_ordering": ordering}}
            out.append(lc)
        return out

    return _map_layers(model, fill)


def _map_layers(model: dict, rewrite) -> dict:
    """Applies `rewrite(layers, functional) -> layers` to a model config and its nested models."""
    config = model.get("config")
    if isinstance(config, list):
        return {**model, "config": rewrite([_nested_map(lc, rewrite) for lc in config], False)}
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        functional = "input_layers" in config
        layers = [_nested_map(lc, rewrite) for lc in config["layers"]]
        return {**model, "config": {**config, "layers": rewrite(layers, functional)}}
    return model


def _nested_map(layer_cfg: dict, rewrite) -> dict:
    if layer_cfg.get("class_name") in ("Sequential", "Model", "Functional"):
        return _map_layers(layer_cfg, rewrite)
    cfg = layer_cfg.get("config")
    if layer_cfg.get("class_name") == "Merge" and isinstance(cfg, dict) and isinstance(cfg.get("layers"), list):
        return {**layer_cfg, "config": {**cfg, "layers": [_map_layers(b, rewrite) for b in cfg["layers"]]}}
    return layer_cfg


def _splice_nested_sequentials(layers: list[dict], functional: bool) -> list[dict]:
    """Keras 1 nested Sequentials are bare lists: inline them in a Sequential, name them in a functional model."""
    out = []
    for lc in layers:
        cfg = lc.get("config")
        if lc.get("class_name") == "Sequential" and isinstance(cfg, list):
            if functional:
                lc = {**lc, "config": {"name": lc.get("name"), "layers": cfg}}
            else:
                out.extend(_splice_nested_sequentials(cfg, False))
                continue
        out.append(lc)
    return out


def _theano_same_layers(layers: list[dict], functional: bool) -> list[dict]:
    for lc in layers:
        _refuse_theano_same_recurrent_conv(lc)
    return [_theano_pooling(lc) for lc in _pad_layers(layers, functional)]


def _refuse_theano_same_recurrent_conv(layer_cfg: dict) -> None:
    """ConvLSTM2D convolves inside its recurrence, where no ZeroPadding can be inserted."""
    if layer_cfg.get("class_name") != "ConvLSTM2D":
        return
    cfg = layer_cfg.get("config") or {}
    if (cfg.get("border_mode") or cfg.get("padding")) != "same":
        return
    kernel = [cfg["nb_row"], cfg["nb_col"]] if "nb_row" in cfg else cfg.get("kernel_size", [1, 1])
    strides = cfg.get("subsample", cfg.get("strides", [1, 1]))
    kernel = [kernel] * 2 if isinstance(kernel, int) else list(kernel)
    strides = [strides] * 2 if isinstance(strides, int) else list(strides)
    if any(k % 2 == 0 for k in kernel) or any(st > 1 for st in strides):
        raise UnsupportedLayerError(
            "Theano 'same' ConvLSTM2D with an even kernel or stride > 1 pads differently from every other "
            "framework", layer=cfg.get("name"), hint="only odd kernels with stride 1 convert exactly")


def merge_sequential_to_functional(model: dict) -> dict:
    """Turns a Keras 1 Sequential starting with a `Merge` of branches into a functional config.

    Keras 1 saved such a model as a list whose first layer holds the branch
    Sequentials under `config['layers']`; its weights are saved per inner layer, so
    the branch layers are inlined (not nested) to keep their weight names.
    """
    if model.get("class_name") != "Sequential":
        return model
    config = model.get("config")
    layers = config if isinstance(config, list) else (config or {}).get("layers")
    if not layers or layers[0].get("class_name") != "Merge" or "layers" not in layers[0].get("config", {}):
        return model
    name = config.get("name", "sequential") if isinstance(config, dict) else "sequential"
    out_layers: list[dict] = []
    inputs: list[list] = []
    last = _inline_sequential(layers, out_layers, inputs)
    return {"class_name": "Model", "config": {"name": name, "layers": out_layers, "input_layers": inputs,
                                              "output_layers": [[last, 0, 0]]}}


def _inline_sequential(layers: list[dict], out: list[dict], inputs: list[list]) -> str:
    """Appends a (possibly Merge-headed) Sequential's layers to `out`; returns its last layer name."""
    first = layers[0]
    if first.get("class_name") == "Merge" and "layers" in first.get("config", {}):
        branch_outputs = []
        for branch in first["config"]["layers"]:
            bcfg = branch.get("config")
            blayers = bcfg if isinstance(bcfg, list) else bcfg["layers"]
            branch_outputs.append(_inline_sequential(blayers, out, inputs))
        merge_cfg = {k: v for k, v in first["config"].items() if k != "layers"}
        out.append({"name": merge_cfg["name"], "class_name": "Merge", "config": merge_cfg,
                    "inbound_nodes": [[[b, 0, 0] for b in branch_outputs]]})
        prev = merge_cfg["name"]
        rest = layers[1:]
    else:
        cfg = first.get("config", {})
        if first.get("class_name") == "InputLayer":
            prev = cfg["name"]
            out.append({"name": prev, "class_name": "InputLayer", "config": cfg, "inbound_nodes": []})
            rest = layers[1:]
        else:
            prev = cfg["name"] + "_input"
            shape = cfg.get("batch_input_shape")
            if shape is None and cfg.get("input_dim") is not None:
                shape = [None, cfg["input_dim"]]
            out.append({"name": prev, "class_name": "InputLayer",
                        "config": {"name": prev, "batch_input_shape": shape,
                                   "dtype": cfg.get("input_dtype", "float32")}, "inbound_nodes": []})
            rest = layers
        inputs.append([prev, 0, 0])
    for layer in rest:
        lname = layer.get("config", {}).get("name") or layer.get("name")
        out.append({"name": lname, "class_name": layer["class_name"], "config": layer["config"],
                    "inbound_nodes": [[[prev, 0, 0]]]})
        prev = lname
    return prev


CONV_CLASSES = {"Convolution1D": 1, "AtrousConvolution1D": 1, "Conv1D": 1, "Convolution2D": 2,
                "AtrousConvolution2D": 2, "Conv2D": 2, "Convolution3D": 3, "Conv3D": 3}


def _pad_layers(layers: list[dict], functional: bool) -> list[dict]:
    out = []
    for lc in layers:
        pads = _theano_same_pads(lc)
        if pads is None:
            out.append(lc)
            continue
        cfg = dict(lc["config"])
        name = cfg["name"]
        rank = len(pads)
        pad_name = f"{name}_theano_same_pad"
        data_format = DIM_ORDERING.get(cfg.get("dim_ordering"), cfg.get("data_format") or "channels_last")
        padding = pads[0] if rank == 1 else [list(p) for p in pads]
        pad_cfg = {"name": pad_name, "padding": padding, "trainable": False}
        if rank > 1:
            pad_cfg["data_format"] = data_format
        for key in ("batch_input_shape", "input_dtype", "dtype"):
            if key in cfg:
                pad_cfg[key] = cfg.pop(key)
        cfg.pop("input_shape", None)
        cfg.pop("input_dim", None)
        cfg["border_mode" if "border_mode" in cfg else "padding"] = "valid"
        pad_layer = {"class_name": f"ZeroPadding{rank}D", "config": pad_cfg}
        conv_layer = {**lc, "config": cfg}
        if functional:
            pad_layer.update(name=pad_name, inbound_nodes=lc.get("inbound_nodes", []))
            conv_layer["inbound_nodes"] = [[[pad_name, k, 0]] for k in range(len(lc.get("inbound_nodes") or []))]
        out.extend([pad_layer, conv_layer])
    return out


def _theano_same_pads(layer_cfg: dict) -> list[tuple[int, int]] | None:
    rank = CONV_CLASSES.get(layer_cfg.get("class_name"))
    cfg = layer_cfg.get("config") or {}
    if rank is None or (cfg.get("border_mode") or cfg.get("padding")) != "same":
        return None
    if "nb_row" in cfg:
        kernel = [cfg["nb_row"], cfg["nb_col"]]
    elif "kernel_dim1" in cfg:
        kernel = [cfg["kernel_dim1"], cfg["kernel_dim2"], cfg["kernel_dim3"]]
    else:
        kernel = cfg.get("kernel_size", cfg.get("filter_length"))
    kernel = [kernel] * rank if isinstance(kernel, int) else list(kernel)
    strides = cfg.get("strides", cfg.get("subsample", cfg.get("subsample_length", 1)))
    strides = [strides] * rank if isinstance(strides, int) else list(strides)
    dilation = cfg.get("dilation_rate", cfg.get("atrous_rate", 1))
    dilation = [dilation] * rank if isinstance(dilation, int) else list(dilation)
    k_eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if all(k % 2 == 1 for k in k_eff) and all(s == 1 for s in strides):
        return None  # the same as TF 'same'
    return [(k // 2, k - 1 - k // 2) for k in k_eff]


POOL_CLASSES = {"MaxPooling1D": (1, "max"), "AveragePooling1D": (1, "avg"), "MaxPooling2D": (2, "max"),
                "AveragePooling2D": (2, "avg"), "MaxPooling3D": (3, "max"), "AveragePooling3D": (3, "avg")}


def _theano_pooling(layer_cfg: dict) -> dict:
    """A Theano-saved 'same' pooling layer that TF 'same' would compute differently -> TheanoPooling."""
    from kport.ops.theano_pooling import theano_same_pad

    kind = POOL_CLASSES.get(layer_cfg.get("class_name"))
    cfg = layer_cfg.get("config") or {}
    if kind is None or (cfg.get("border_mode") or cfg.get("padding")) != "same":
        return layer_cfg
    rank, mode = kind
    size = cfg.get("pool_size", cfg.get("pool_length"))
    size = [size] * rank if isinstance(size, int) else list(size)[:rank]
    strides = cfg.get("strides", cfg.get("stride"))
    strides = size if strides is None else ([strides] * rank if isinstance(strides, int) else list(strides)[:rank])
    pads = [theano_same_pad(k, 3 if rank == 3 else 2) for k in size]
    if all(s == 1 for s in strides) and all(p == (k - 1) // 2 for p, k in zip(pads, size)):
        return layer_cfg  # the same windows as TF 'same'
    data_format = DIM_ORDERING.get(cfg.get("dim_ordering"), cfg.get("data_format") or "channels_last")
    new_cfg = {"name": cfg.get("name"), "mode": mode, "pool_size": size, "strides": strides, "pads": pads,
               "data_format": data_format if rank > 1 else "channels_last"}
    for key in ("batch_input_shape", "input_dtype", "dtype", "trainable"):
        if key in cfg:
            new_cfg[key] = cfg[key]
    return {**layer_cfg, "class_name": "TheanoPooling", "config": new_cfg}




# ---- Keras 0.x architectures --------------------------------------------------------------
def keras0_model(value) -> dict | None:
    """Turns a Keras 0.x `to_json()` Sequential into the Keras 1 `{class_name, config}` form.

    Keras 0.x wrote `{"name": "Sequential", "layers": [...]}` with each layer's class in
    its `name` and its arguments beside it; layers had no names of their own, so they are
    numbered per class (`dense_1`, ...). Returns None for anything else.
    """
    if not isinstance(value, dict) or "class_name" in value or value.get("name") != "Sequential" \
            or not isinstance(value.get("layers"), list):
        return None
    counters: dict[str, int] = {}
    return {"class_name": "Sequential", "keras_version": "0",
            "config": [_keras0_layer(layer, counters) for layer in value["layers"]]}


def _keras0_layer(layer: dict, counters: dict[str, int]) -> dict:
    class_name = layer.get("name")
    if class_name == "Sequential":
        return {"class_name": "Sequential", "config": [_keras0_layer(x, counters) for x in layer.get("layers", [])]}
    cfg = {k: v for k, v in layer.items() if k not in ("name", "cache_enabled", "custom_name")}
    counters[class_name] = counters.get(class_name, 0) + 1
    cfg["name"] = layer.get("custom_name") or f"{str(class_name).lower()}_{counters[class_name]}"
    if class_name == "Merge" and isinstance(cfg.get("layers"), list):
        cfg["layers"] = [_keras0_layer(x, counters) for x in cfg["layers"]]
    return {"class_name": class_name, "config": cfg}
