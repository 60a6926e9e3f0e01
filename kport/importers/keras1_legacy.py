"""Keras 0.x/1.x spellings and Theano-era weight layouts -> Keras 2 spellings and canonical weights.

Three hooks plug into `keras_config`:
- `normalize_layer` (a CONFIG_NORMALIZER): legacy class names and argument names
  become Keras 2/3 ones, so ops never see `output_dim`, `border_mode`, `th`, ...
- `normalize_model`: a Keras 1 Sequential whose first layer is a `Merge` of
  Sequential branches becomes a functional config with the branches inlined.
- `convert_weights` (a WEIGHT_NORMALIZER): Keras 1 kernel layouts (`th`
  `(out, in, h, w)`, Conv1D `(len, 1, in, out)`), the Theano kernel flip (Theano
  convolves, everything else cross-correlates), Keras 1.0 BatchNormalization
  `running_std`, and Keras 1 LSTM/GRU/SimpleRNN arrays become the Keras 2 / TF layout.

Facts checked against Keras 1.2.2 and 2.2.4 sources (keras/legacy/interfaces.py,
keras/engine/saving.py `preprocess_weights_for_loading`) and real Theano outputs.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from kport.errors import UnsafeContentError, UnsupportedLayerError
from kport.ops.base import ImportContext

# Keras 1 class name -> Keras 2 class name (the op registry knows the Keras 2 names)
CLASS_ALIASES = {
    "Convolution1D": "Conv1D",
    "AtrousConvolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "AtrousConvolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "Deconvolution2D": "Conv2DTranspose",
    "SeparableConvolution2D": "SeparableConv2D",
    "TimeDistributedDense": "Dense",  # Dense applies to the last axis of any rank
}

# argument renames valid for every layer class (keras/legacy/interfaces.py)
COMMON_RENAMES = {
    "init": "kernel_initializer",
    "inner_init": "recurrent_initializer",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "U_regularizer": "recurrent_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "U_constraint": "recurrent_constraint",
    "bias": "use_bias",
    "nb_filter": "filters",
    "border_mode": "padding",
    "subsample": "strides",
    "subsample_length": "strides",
    "filter_length": "kernel_size",
    "dim_ordering": "data_format",
    "inner_activation": "recurrent_activation",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
    "input_dtype": "dtype",
    "consume_less": "implementation",
    "atrous_rate": "dilation_rate",
    "pool_length": "pool_size",
    "stride": "strides",
}

# per-class renames that would be wrong for other classes (Embedding keeps `output_dim`)
CLASS_RENAMES = {
    "Embedding": {"init": "embeddings_initializer", "W_regularizer": "embeddings_regularizer",
                  "W_constraint": "embeddings_constraint"},
    "PReLU": {"init": "alpha_initializer"},
    "Dropout": {"p": "rate"},
    "SpatialDropout1D": {"p": "rate"},
    "SpatialDropout2D": {"p": "rate"},
    "SpatialDropout3D": {"p": "rate"},
    "GaussianDropout": {"p": "rate"},
    "GaussianNoise": {"sigma": "stddev"},
    "UpSampling1D": {"length": "size"},
    "BatchNormalization": {"beta_init": "beta_initializer", "gamma_init": "gamma_initializer"},
}

# classes whose Keras 1 `output_dim` is Keras 2 `units`
UNITS_CLASSES = {"Dense", "TimeDistributedDense", "LSTM", "GRU", "SimpleRNN", "MaxoutDense",
                 "LocallyConnected1D", "LocallyConnected2D"}

DIM_ORDERING = {"th": "channels_first", "tf": "channels_last"}
IMPLEMENTATION = {"cpu": 0, "mem": 1, "gpu": 2}
# kernels Theano applied as true convolutions; Keras 2's Theano backend pre-flipped depthwise kernels
# itself (so Depthwise/SeparableConv already cross-correlate), and Keras 1 separable convs were TF-only
FLIPPED_KINDS = {"Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose", "ConvLSTM2D"}


def normalize_layer(class_name: str, cfg: dict, ctx: ImportContext) -> tuple[str, dict]:
    """Rewrites one layer config from Keras 0.x/1.x spelling into Keras 2 spelling.

    Keras 2/3 configs pass through unchanged (every rename needs the legacy key present).

    Raises:
        UnsafeContentError: a Lambda or a Merge with a Python-function mode.
        UnsupportedLayerError: a legacy setting with no modern equivalent.
    """
    if class_name == "Lambda":  # every era marshals the function's bytecode
        raise UnsafeContentError(
            "Lambda layer holds marshalled Python bytecode; kport does not run code from model files",
            path=ctx.path, layer=ctx.layer,
            hint="replace the Lambda by built-in layers, or re-run with --trust-lambda if you trust this file "
                 "(it runs code from the file)")
    if class_name == "Merge":
        _check_merge(cfg, ctx)
    if class_name == "BatchNormalization" and ctx.keras_major == 1 and "gamma_regularizer" not in cfg:
        _EARLY_BATCHNORMS.add((ctx.path, ctx.layer))
    inner = cfg.get("layer")
    if isinstance(inner, dict) and isinstance(inner.get("config"), dict):  # TimeDistributed, Bidirectional
        inner_class, inner_cfg = normalize_layer(inner.get("class_name"), dict(inner["config"]), ctx)
        cfg = {**cfg, "layer": {**inner, "class_name": inner_class, "config": inner_cfg}}
    if class_name == "Deconvolution2D":
        cfg = _deconv_output_padding(cfg, ctx)
    renames = dict(COMMON_RENAMES)
    renames.update(CLASS_RENAMES.get(class_name, {}))
    if class_name in UNITS_CLASSES:
        renames["output_dim"] = "units"
    kernel_dims = _legacy_kernel_size(class_name, cfg)
    out = {}
    for key, value in cfg.items():
        new = renames.get(key, key)
        if new in out and new != key:
            continue  # the modern key is already there
        out[new] = value
    if kernel_dims is not None:
        out["kernel_size"] = kernel_dims
    _fix_values(class_name, out, ctx)
    if class_name in ("AtrousConvolution1D", "AtrousConvolution2D") and "dilation_rate" not in out:
        out["dilation_rate"] = 1
    return CLASS_ALIASES.get(class_name, class_name), out


def _deconv_output_padding(cfg: dict, ctx: ImportContext) -> dict:
    """Keras 1 Deconvolution2D named its output size; Keras 2 says it with `output_padding`.

    'valid': out = (in - 1) * s + k + p, and the input is floor((out - k) / s) + 1,
    so p = (out - k) mod s. 'same' (TensorFlow): in = ceil(out / s), p = out - (in - 1) * s - k % 2.
    Theano's 'same' ('half') crops k // 2 at the start, which TF 'same' matches only for
    odd kernels with stride 1.
    """
    cfg = dict(cfg)
    out = cfg.pop("output_shape", None)
    if not out or cfg.get("nb_row") is None:
        return cfg
    spatial = out[2:4] if cfg.get("dim_ordering") == "th" else out[1:3]
    kernel = (cfg["nb_row"], cfg["nb_col"])
    strides = tuple(cfg.get("subsample") or (1, 1))
    padding = cfg.get("border_mode", "valid")
    if None in spatial:
        return cfg
    if padding == "valid":
        cfg["output_padding"] = [(o - k) % st for o, k, st in zip(spatial, kernel, strides)]
    elif padding == "same":
        theano_like = ctx.backend == "theano" or (ctx.backend is None and cfg.get("dim_ordering") == "th")
        if theano_like and (any(st > 1 for st in strides) or any(k % 2 == 0 for k in kernel)):
            raise UnsupportedLayerError(
                "Theano 'same' Deconvolution2D with stride > 1 or an even kernel places its output differently "
                "from every other framework", path=ctx.path, layer=ctx.layer,
                hint="use border_mode='valid' (with output_shape) in the original model")
        cfg["output_padding"] = [o - (-(-o // st) - 1) * st - k % 2 for o, k, st in zip(spatial, kernel, strides)]
    return cfg


def _legacy_kernel_size(class_name: str, cfg: dict):
    if "nb_row" in cfg and "nb_col" in cfg:
        return [cfg.pop("nb_row"), cfg.pop("nb_col")]
    if "kernel_dim1" in cfg:
        return [cfg.pop("kernel_dim1"), cfg.pop("kernel_dim2"), cfg.pop("kernel_dim3")]
    return None


def _fix_values(class_name: str, cfg: dict, ctx: ImportContext) -> None:
    if cfg.get("data_format") in DIM_ORDERING:
        cfg["data_format"] = DIM_ORDERING[cfg["data_format"]]
    elif cfg.get("data_format") == "default":
        cfg["data_format"] = "channels_last"
    if isinstance(cfg.get("implementation"), str):
        cfg["implementation"] = IMPLEMENTATION.get(cfg["implementation"], 0)
    if "forget_bias_init" in cfg:
        cfg["unit_forget_bias"] = cfg.pop("forget_bias_init") == "one"
    if class_name in ("Conv1D", "Convolution1D", "AtrousConvolution1D") and isinstance(cfg.get("kernel_size"), int):
        cfg["kernel_size"] = [cfg["kernel_size"]]
    if class_name in ("MaxPooling1D", "AveragePooling1D") and "strides" in cfg and cfg["strides"] is None:
        cfg["strides"] = cfg.get("pool_size")
    if class_name == "ZeroPadding2D" and isinstance(cfg.get("padding"), (list, tuple)) and len(cfg["padding"]) == 4:
        t, b, lft, r = cfg["padding"]  # Keras 1.2 (top, bottom, left, right)
        cfg["padding"] = [[t, b], [lft, r]]
    if class_name == "ZeroPadding2D" and isinstance(cfg.get("padding"), dict):
        p = cfg["padding"]
        cfg["padding"] = [[p.get("top_pad", 0), p.get("bottom_pad", 0)],
                          [p.get("left_pad", 0), p.get("right_pad", 0)]]
    if class_name == "BatchNormalization" and ctx.keras_major == 1 and cfg.get("mode", 0) != 0:
        raise UnsupportedLayerError(
            f"BatchNormalization mode={cfg['mode']} normalizes with the statistics of each batch or sample, "
            "not with stored moving statistics", path=ctx.path, layer=ctx.layer,
            hint="only mode=0 (feature-wise, moving statistics at inference) converts")
    if class_name == "Embedding":
        cfg.pop("dropout", None)  # Keras 1 Embedding dropout acts in training only


def _check_merge(cfg: dict, ctx: ImportContext) -> None:
    for key in ("mode_type", "output_shape_type", "output_mask_type"):
        if cfg.get(key) in ("lambda", "function"):
            raise UnsafeContentError(
                f"Merge layer's {key.replace('_type', '')} is a Python function stored as bytecode; kport does "
                "not run code from model files", path=ctx.path, layer=ctx.layer,
                hint="use a built-in merge mode (sum, mul, concat, ave, max, dot, cos), or re-run with "
                     "--trust-lambda if you trust this file (it runs code from the file)")


# ---- model-level rewrites ---------------------------------------------------------
KERAS1_KEYS = {"output_dim", "nb_filter", "border_mode", "dim_ordering", "init", "inner_init", "W_regularizer",
               "subsample", "subsample_length", "filter_length", "pool_length", "input_dtype", "consume_less"}
KERAS1_CLASSES = set(CLASS_ALIASES) | {"Merge", "Highway", "MaxoutDense", "SReLU", "ParametricSoftplus"}


def looks_like_keras1(model: dict) -> bool:
    """Whether a model config uses Keras 0.x/1.x spellings (for files that record no version)."""
    found = False

    def visit(node):
        nonlocal found
        if found:
            return
        if isinstance(node, dict):
            if node.get("class_name") in KERAS1_CLASSES or KERAS1_KEYS & set(node):
                found = True
                return
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    visit(model.get("config"))
    return found


def guess_keras1_backend(weights_group) -> str | None:
    """Which backend saved a Keras 1 HDF5 file: TensorFlow names variables `...:0`, Theano does not.

    Returns None when the file has no weights to tell by.
    """
    from kport.importers.hdf5_attrs import read_str_list

    names = [w for lname in read_str_list(weights_group, "layer_names") if lname in weights_group
             for w in read_str_list(weights_group[lname], "weight_names")]
    if not names:
        return None
    return "tensorflow" if any(n.endswith(":0") for n in names) else "theano"


def normalize_model(model: dict, ctx: ImportContext) -> dict:
    """Applies the model-level legacy rewrites (Merge-headed Sequentials, Theano 'same' padding)."""
    model = merge_sequential_to_functional(model)
    if ctx.keras_major == 1:
        model = _map_layers(model, _splice_nested_sequentials)
        model = fill_dim_ordering(model)
    if ctx.backend == "theano" or (ctx.backend is None and ctx.keras_major == 1 and _uses_th_ordering(model)):
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
    orderings = set()

    def visit(node):
        if isinstance(node, dict):
            if node.get("dim_ordering") in ("th", "tf"):
                orderings.add(node["dim_ordering"])
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    visit(model.get("config"))
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
    return [_theano_pooling(lc) for lc in _pad_layers(layers, functional)]


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


# ---- weights ------------------------------------------------------------------------
def saved_by_theano(source, items: list[tuple[str, np.ndarray]]) -> bool:
    """Whether the saving backend convolved (Theano), from the file's attribute or its weight names.

    Keras 1 files carry no `backend`; TensorFlow variable names end in `:0`, Theano's do not.
    """
    if source.backend:
        return source.backend == "theano"
    if source.keras_major != 1 or not items:
        return False
    return not any(name.endswith(":0") for name, _ in items)


def convert_weights(graph, layer, items: list[tuple[str, Any]], in_shapes) -> list[tuple[str, Any]]:
    """Converts one layer's saved arrays from its era's layout to the canonical Keras 2 / TF layout.

    Args:
        graph: the IR (its `source` says which Keras and backend wrote the file).
        layer: the IR layer (its op has Keras 2 attributes already).
        items: `(saved name, array)` in file order.
        in_shapes: the layer's input shapes.

    Returns:
        The items in canonical layout (names kept where the array maps one to one).
    """
    if not items:
        return items
    return _convert(layer.op, items, graph.source, saved_by_theano(graph.source, items), layer.name.split("/")[-1])


def _convert(op, items, source, theano: bool, layer_name: str | None = None):
    # wrappers hold their inner layers' weights: Bidirectional forward then backward halves
    if op.kind == "Bidirectional" and getattr(op, "forward", None) is not None:
        half = len(items) // 2
        return (_convert(op.forward, items[:half], source, theano)
                + _convert(op.backward, items[half:], source, theano))
    if op.kind == "TimeDistributed" and getattr(op, "layer", None) is not None:
        return _convert(op.layer, items, source, theano)
    if source.keras_major == 1:
        items = _keras1_layout(op.kind, op, items, source, layer_name)
    if op.kind in FLIPPED_KINDS and theano:
        items = _flip_kernels(op.kind, items)
    return items


def _keras1_layout(kind: str, op, items, source, layer_name: str | None = None):
    arrays = [np.asarray(a) for _, a in items]
    names = [n for n, _ in items]
    first_cf = getattr(op, "data_format", "channels_last") == "channels_first"
    if kind == "Conv1D":
        w = arrays[0]
        ksize = tuple(getattr(op, "kernel_size", (w.shape[0],)))
        if w.ndim == 4 and not (w.shape[1] == 1 and w.shape[0] == ksize[0]):
            w = np.transpose(w, (2, 3, 1, 0))  # Keras 1.0: (filters, in, length, 1)
        if w.ndim == 4:
            w = w[:, 0, :, :]
        arrays[0] = w
    elif kind in ("Conv2D", "Conv3D") and first_cf:
        w = arrays[0]
        arrays[0] = np.transpose(w, tuple(range(2, w.ndim)) + (1, 0))
    elif kind == "Conv2DTranspose":
        arrays[0] = np.transpose(arrays[0], (2, 3, 0, 1) if first_cf else (0, 1, 3, 2))
    elif kind == "SeparableConv2D" and first_cf:
        arrays[0] = np.transpose(arrays[0], (2, 3, 1, 0))  # (mult, in, h, w) -> (h, w, in, mult)
        arrays[1] = np.transpose(arrays[1], (2, 3, 1, 0))  # (out, in*mult, 1, 1) -> (1, 1, in*mult, out)
    elif kind == "BatchNormalization" and len(arrays) == 4 and _std_meaning(
            source.keras_version, (source.path, layer_name) in _EARLY_BATCHNORMS):
        eps = float(getattr(op, "epsilon", 1e-6))
        std = arrays[3].astype(np.float64)
        arrays[3] = ((std + eps) ** 2 - eps).astype(arrays[3].dtype)  # (x-m)/(std+eps) == (x-m)/sqrt(v+eps)
        names[3] = names[3].replace("running_std", "moving_variance")
    elif kind == "ConvLSTM2D" and len(arrays) == 12:
        # per gate i, c, f, o: W (input kernel), U (recurrent kernel), b; `th` kernels (filters, in, rows, cols)
        def hwio(w):
            return np.transpose(w, (2, 3, 1, 0)) if first_cf else w

        i, c, f, o = (arrays[k:k + 3] for k in range(0, 12, 3))
        prefix = _prefix(names[0])
        return [(f"{prefix}kernel", np.concatenate([hwio(g[0]) for g in (i, f, c, o)], axis=-1)),
                (f"{prefix}recurrent_kernel", np.concatenate([hwio(g[1]) for g in (i, f, c, o)], axis=-1)),
                (f"{prefix}bias", np.concatenate([i[2], f[2], c[2], o[2]], axis=-1))]
    elif kind == "LSTM" and len(arrays) == 12:
        i, c, f, o = (arrays[k:k + 3] for k in range(0, 12, 3))  # Keras 1: (W, U, b) per gate i, c, f, o
        return [(f"{_prefix(names[0])}kernel", np.concatenate([i[0], f[0], c[0], o[0]], axis=-1)),
                (f"{_prefix(names[0])}recurrent_kernel", np.concatenate([i[1], f[1], c[1], o[1]], axis=-1)),
                (f"{_prefix(names[0])}bias", np.concatenate([i[2], f[2], c[2], o[2]], axis=-1))]
    elif kind == "GRU" and len(arrays) == 9:
        z, r, h = (arrays[k:k + 3] for k in range(0, 9, 3))
        return [(f"{_prefix(names[0])}kernel", np.concatenate([z[0], r[0], h[0]], axis=-1)),
                (f"{_prefix(names[0])}recurrent_kernel", np.concatenate([z[1], r[1], h[1]], axis=-1)),
                (f"{_prefix(names[0])}bias", np.concatenate([z[2], r[2], h[2]], axis=-1))]
    return list(zip(names, arrays))


def _prefix(name: str) -> str:
    return name.rsplit("/", 1)[0] + "/" if "/" in name else ""


# (file, layer) of BatchNormalization configs in the Keras <= 1.0.8 spelling (no gamma_regularizer)
_EARLY_BATCHNORMS: set[tuple[str | None, str | None]] = set()


def _std_meaning(version: str | None, early_config: bool) -> bool:
    """Whether `running_std` holds a standard deviation: Keras 1.0.0-1.0.5 only.

    Keras 1.0.6 switched to the variance; 1.0.7 was the first to save whole models
    with a `keras_version`, so a versioned file never has the old meaning. A file
    without a version (JSON + save_weights) whose BatchNormalization config lacks
    `gamma_regularizer` (added in 1.1) comes from 1.0.x: read as 1.0.0-1.0.5, the
    releases most such files came from.
    """
    parts = str(version or "").split(".")
    if len(parts) >= 3 and parts[:2] == ["1", "0"]:
        return parts[2].isdigit() and int(parts[2]) <= 5
    return len(parts) < 2 and early_config


def _flip_kernels(kind: str, items):
    """Reverses every spatial axis of the kernels (all axes but the last two): Theano convolved."""
    out = []
    for k, (name, arr) in enumerate(items):
        arr = np.asarray(arr)
        spatial = arr.ndim - 2
        # ConvLSTM2D's recurrent kernel is a Theano convolution too
        if (k == 0 or (k == 1 and kind == "ConvLSTM2D")) and spatial >= 1:
            arr = np.ascontiguousarray(arr[tuple([slice(None, None, -1)] * spatial)])
        out.append((name, arr))
    return out


def split_by_layer_prefix(items, layers, per_layer: dict) -> bool:
    """Shares a Keras 1 weight group out by name prefix (`dense_1_W` belongs to layer `dense_1`).

    Keras 1 saved a nested model's weights under the nested model's name, whose
    config (a bare list) did not record it. Adds to `per_layer` only when every
    weight finds its layer; returns whether it did.
    """
    owners = []
    for wname, _ in items:
        base = wname.split("/")[-1].split(":")[0]
        owner = max((n for n in layers if base.startswith(n.split("/")[-1] + "_")), key=len, default=None)
        if owner is None:
            return False
        owners.append(owner)
    for owner, item in zip(owners, items):
        per_layer.setdefault(owner, []).append(item)
    return True


# ---- Keras 0.x weights files ---------------------------------------------------------------
def read_keras0_weights(group, graph) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Reads a Keras 0.x weights file (`nb_layers`, `layer_{k}/param_{p}`) onto the graph's layers.

    Keras 0.x numbered every layer of the Sequential, weighted or not, in model order.
    """
    n_layers = int(group.attrs["nb_layers"])
    names = list(graph.layers)
    if n_layers != len(names):
        from kport.errors import WeightError

        raise WeightError(f"the Keras 0.x weights file has {n_layers} layers, the model {len(names)}",
                          path=graph.source.path, hint="the architecture and the weights come from different models")
    result = {}
    for k, lname in enumerate(names):
        g = group[f"layer_{k}"]
        result[lname] = [(f"{lname}/param_{p}", g[f"param_{p}"][()]) for p in range(int(g.attrs["nb_params"]))]
    return result


def register() -> None:
    """Installs the hooks into `keras_config` (idempotent)."""
    from kport.importers import keras_config

    if normalize_layer not in keras_config.CONFIG_NORMALIZERS:
        keras_config.CONFIG_NORMALIZERS.insert(0, normalize_layer)
    if normalize_model not in keras_config.MODEL_NORMALIZERS:
        keras_config.MODEL_NORMALIZERS.insert(0, normalize_model)
    if convert_weights not in keras_config.WEIGHT_NORMALIZERS:
        keras_config.WEIGHT_NORMALIZERS.insert(0, convert_weights)
