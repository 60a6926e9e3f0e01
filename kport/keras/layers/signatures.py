"""Keras constructor signatures: positional argument order and every keyword some Keras accepted.

Op dataclasses order their fields for kport, not for Keras, so positional
arguments (`Conv2D(32, 3)`, `Dropout(0.5)`) are mapped through the Keras 2
signatures written here; Keras 1 class names (`Convolution2D(32, 3, 3)`) use
their own. Kinds not listed take keywords only, beyond the op's first field.
"""
from __future__ import annotations

_CONV = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation", "use_bias",
         "kernel_initializer", "bias_initializer")
_CONV_T = ("filters", "kernel_size", "strides", "padding", "output_padding", "data_format", "dilation_rate",
           "activation", "use_bias", "kernel_initializer", "bias_initializer")
_SEPARABLE = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "depth_multiplier",
              "activation", "use_bias")
_DEPTHWISE = ("kernel_size", "strides", "padding", "depth_multiplier", "data_format", "activation", "use_bias")
_POOL = ("pool_size", "strides", "padding", "data_format")
_RNN = ("units", "activation", "use_bias")
_GATED = ("units", "activation", "recurrent_activation", "use_bias")

POSITIONAL: dict[str, tuple[str, ...]] = {
    "Dense": ("units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
              "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"),
    "Activation": ("activation",),
    "Dropout": ("rate", "noise_shape", "seed"),
    "AlphaDropout": ("rate", "noise_shape", "seed"),
    "SpatialDropout1D": ("rate",),
    "SpatialDropout2D": ("rate", "data_format"),
    "SpatialDropout3D": ("rate", "data_format"),
    "GaussianNoise": ("stddev",),
    "GaussianDropout": ("rate",),
    "ActivityRegularization": ("l1", "l2"),
    "Conv1D": _CONV, "Conv2D": _CONV, "Conv3D": _CONV,
    "Conv1DTranspose": _CONV_T, "Conv2DTranspose": _CONV_T, "Conv3DTranspose": _CONV_T,
    "SeparableConv1D": _SEPARABLE, "SeparableConv2D": _SEPARABLE,
    "DepthwiseConv1D": _DEPTHWISE, "DepthwiseConv2D": _DEPTHWISE,
    "MaxPooling1D": _POOL, "MaxPooling2D": _POOL, "MaxPooling3D": _POOL,
    "AveragePooling1D": _POOL, "AveragePooling2D": _POOL, "AveragePooling3D": _POOL,
    "GlobalMaxPooling1D": ("data_format",), "GlobalMaxPooling2D": ("data_format",),
    "GlobalMaxPooling3D": ("data_format",), "GlobalAveragePooling1D": ("data_format",),
    "GlobalAveragePooling2D": ("data_format",), "GlobalAveragePooling3D": ("data_format",),
    "Flatten": ("data_format",),
    "Reshape": ("target_shape",),
    "Permute": ("dims",),
    "RepeatVector": ("n",),
    "Embedding": ("input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer",
                  "activity_regularizer", "embeddings_constraint", "mask_zero", "input_length"),
    "SimpleRNN": _RNN, "LSTM": _GATED, "GRU": _GATED,
    "BatchNormalization": ("axis", "momentum", "epsilon", "center", "scale"),
    "LayerNormalization": ("axis", "epsilon", "center", "scale"),
    "Concatenate": ("axis",),
    "Dot": ("axes", "normalize"),
    "ZeroPadding1D": ("padding",), "ZeroPadding2D": ("padding", "data_format"),
    "ZeroPadding3D": ("padding", "data_format"),
    "Cropping1D": ("cropping",), "Cropping2D": ("cropping", "data_format"), "Cropping3D": ("cropping", "data_format"),
    "UpSampling1D": ("size",), "UpSampling2D": ("size", "data_format", "interpolation"),
    "UpSampling3D": ("size", "data_format"),
    "LeakyReLU": ("alpha",), "ELU": ("alpha",), "ThresholdedReLU": ("theta",),
    "ReLU": ("max_value", "negative_slope", "threshold"), "Softmax": ("axis",),
    "PReLU": ("alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"),
    "Masking": ("mask_value",),
    "Rescaling": ("scale", "offset"),
    "Bidirectional": ("layer", "merge_mode", "weights", "backward_layer"),
    "Merge": ("layers", "mode", "concat_axis", "dot_axes"),  # Keras 1
    "TimeDistributed": ("layer",),
    # Keras 1 names
    "Convolution1D": ("nb_filter", "filter_length", "init", "activation"),
    "Convolution2D": ("nb_filter", "nb_row", "nb_col", "init", "activation"),
    "Convolution3D": ("nb_filter", "kernel_dim1", "kernel_dim2", "kernel_dim3", "init", "activation"),
    "AtrousConvolution2D": ("nb_filter", "nb_row", "nb_col", "init", "activation"),
    "Deconvolution2D": ("nb_filter", "nb_row", "nb_col", "output_shape", "init", "activation"),
}

# keywords Keras 1/2 layers accepted whose meaning the engine keeps elsewhere (weights, penalties)
ENGINE_KEYWORDS = {"activity_regularizer", "alpha", "p", "sigma", "length", "init", "inner_init",
                   "forget_bias_init", "output_dim", "nb_filter", "nb_row", "nb_col", "filter_length",
                   "kernel_dim1", "kernel_dim2", "kernel_dim3", "border_mode", "subsample", "dim_ordering",
                   "W_regularizer", "b_regularizer", "U_regularizer", "W_constraint", "b_constraint",
                   "U_constraint", "bias", "atrous_rate", "subsample_length", "pool_length", "stride",
                   "beta_init", "gamma_init", "consume_less", "dropout_W", "dropout_U", "unroll", "stateful",
                   "go_backwards", "implementation", "recurrent_dropout", "dropout", "reset_after",
                   "unit_forget_bias", "time_major", "zero_output_for_mask", "output_padding", "depth_multiplier",
                   # Keras 2.x/3 settings with no effect on the forward computation kport runs
                   "synchronized", "quantization_config", "renorm", "renorm_clipping", "renorm_momentum",
                   "virtual_batch_size", "adjustment", "fused", "lora_rank", "lora_alpha", "sparse", "ragged",
                   "seed", "embeddings_constraint", "activity_regularizer", "input_dim", "input_length",
                   "layer", "backward_layer", "layers", "output_shape", "output_mask", "node_indices",
                   "tensor_indices", "arguments"}


def positional_names(class_name: str, kind: str, fields: list[str]) -> tuple[str, ...]:
    """The keyword each positional argument stands for in this Keras class."""
    return POSITIONAL.get(class_name) or POSITIONAL.get(kind) or tuple(fields[:1])


def known_keywords() -> set[str]:
    """Every constructor keyword some registered op or Keras era understands (typos are refused)."""
    import dataclasses

    from kport.importers.keras1_legacy import CLASS_RENAMES, COMMON_RENAMES
    from kport.ops.registry import all_ops

    known = set(ENGINE_KEYWORDS) | set(COMMON_RENAMES) | {k for r in CLASS_RENAMES.values() for k in r}
    for op_cls in all_ops().values():
        known.update(f.name for f in dataclasses.fields(op_cls))
    for names in POSITIONAL.values():
        known.update(names)
    return known
