"""Keras 0.x/1.x files: legacy spellings -> Keras 2 spellings, and the hooks that install the rest.

`register()` plugs three hooks into `keras_config`:
- `normalize_layer` (CONFIG_NORMALIZERS, here): legacy class and argument names become
  Keras 2/3 ones, so ops never see `output_dim`, `border_mode`, `th`, ...;
- `keras1_models.normalize_model` (MODEL_NORMALIZERS): whole-config rewrites (Merge-headed
  and nested Sequentials, lost `dim_ordering`, Theano 'same' padding and pooling);
- `keras1_weights.convert_weights` (WEIGHT_NORMALIZERS): Keras 1 kernel layouts, the Theano
  kernel flip, BatchNormalization `running_std`, Keras 1 LSTM/GRU/ConvLSTM2D arrays.

Facts checked against the Keras 1.0.x, 1.2.2 and 2.2.4 sources (keras/legacy/interfaces.py,
keras/engine/saving.py `preprocess_weights_for_loading`) and real Theano outputs.
"""
from __future__ import annotations

from kport.errors import UnsafeContentError, UnsupportedLayerError
from kport.importers.keras1_weights import _EARLY_BATCHNORMS, read_keras0_weights, split_by_layer_prefix
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


def normalize_layer(class_name: str, cfg: dict, ctx: ImportContext) -> tuple[str, dict]:
    """Rewrites one layer config from Keras 0.x/1.x spelling into Keras 2 spelling.

    Keras 2/3 configs pass through unchanged (every rename needs the legacy key present).

    Raises:
        UnsafeContentError: a Lambda or a Merge with a Python-function mode.
        UnsupportedLayerError: a legacy setting with no modern equivalent.
    """
    if class_name == "Lambda":  # top-level and TimeDistributed calls are traced by lambda_trace; others are not
        from kport.importers.lambda_trace import REFUSAL_HINT, trusted

        if trusted():
            raise UnsupportedLayerError("a Lambda inside a wrapper layer other than TimeDistributed (e.g. "
                                        "Bidirectional, which needs an RNN) cannot be traced", path=ctx.path,
                                        layer=ctx.layer, hint="apply the Lambda outside the wrapper")
        raise UnsafeContentError(
            "Lambda layer holds marshalled Python bytecode; kport does not run code from model files unless asked",
            path=ctx.path, layer=ctx.layer, hint=REFUSAL_HINT)
    if class_name == "Merge":
        _check_merge(cfg, ctx)
    if class_name == "BatchNormalization" and ctx.keras_major <= 1 and "gamma_regularizer" not in cfg:
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
    if class_name == "BatchNormalization" and ctx.keras_major <= 1 and out.get("mode", 0) in (1, 2):
        return "Keras1BatchNormalization", out  # statistics of the data itself, not the stored ones
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
    if class_name == "Embedding":
        cfg.pop("dropout", None)  # Keras 1 Embedding dropout acts in training only


def _check_merge(cfg: dict, ctx: ImportContext) -> None:
    from kport.importers.lambda_trace import trusted

    # a function mode is traced by lambda_trace; with trust, kport infers output shapes and masks itself
    for key in ("mode_type", "output_shape_type", "output_mask_type"):
        if cfg.get(key) in ("lambda", "function") and not trusted():
            raise UnsafeContentError(
                f"Merge layer's {key.replace('_type', '')} is a Python function stored as bytecode; kport does "
                "not run code from model files unless asked", path=ctx.path, layer=ctx.layer,
                hint="use a built-in merge mode (sum, mul, concat, ave, max, dot, cos) and save again, or pass "
                     "--trust-lambda (trust_lambda=True) to evaluate its code symbolically if you trust the file")


# ---- what wrote a file ------------------------------------------------------------
KERAS1_KEYS = {"output_dim", "nb_filter", "border_mode", "dim_ordering", "init", "inner_init", "W_regularizer",
               "subsample", "subsample_length", "filter_length", "pool_length", "input_dtype", "consume_less"}
KERAS1_CLASSES = set(CLASS_ALIASES) | {"Merge", "Highway", "MaxoutDense", "SReLU", "ParametricSoftplus"}


def config_dicts(node):
    """Every dict nested in a config (lists and dicts walked depth first, the node itself included)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from config_dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from config_dicts(value)


def looks_like_keras1(model: dict) -> bool:
    """Whether a model config uses Keras 0.x/1.x spellings (for files that record no version)."""
    return any(d.get("class_name") in KERAS1_CLASSES or KERAS1_KEYS & set(d) for d in config_dicts(model.get("config")))


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


def register() -> None:
    """Installs the hooks into `keras_config` (idempotent)."""
    from kport.importers import keras_config
    from kport.importers.keras1_models import normalize_model
    from kport.importers.keras1_weights import convert_weights

    if normalize_layer not in keras_config.CONFIG_NORMALIZERS:
        keras_config.CONFIG_NORMALIZERS.insert(0, normalize_layer)
    if normalize_model not in keras_config.MODEL_NORMALIZERS:
        keras_config.MODEL_NORMALIZERS.insert(0, normalize_model)
    if convert_weights not in keras_config.WEIGHT_NORMALIZERS:
        keras_config.WEIGHT_NORMALIZERS.insert(0, convert_weights)
    from kport.importers.lambda_trace import expand_call  # Lambda / function-mode Merge: traced with trust

    keras_config.CALL_EXPANDERS.setdefault("Lambda", expand_call)
    keras_config.CALL_EXPANDERS.setdefault("Merge", expand_call)
    from kport.importers.lambda_time_distributed import expand_time_distributed  # TimeDistributed(Lambda)

    keras_config.CALL_EXPANDERS.setdefault("TimeDistributed", expand_time_distributed)


__all__ = ["normalize_layer", "looks_like_keras1", "guess_keras1_backend", "register", "read_keras0_weights",
           "split_by_layer_prefix"]
