"""InceptionV3 (Keras's `keras.applications.InceptionV3`), with Keras's layer names and weight order.

Keras leaves most layers unnamed, so they take automatic names (`conv2d_12`,
`batch_normalization_12`, ...): build it in a fresh session
(`keras.backend.clear_session()`) for the names to match a Keras model's.
"""
from __future__ import annotations

from kport.keras import layers
from kport.keras.applications import _common


def _conv_bn(x, filters: int, rows: int, cols: int, padding: str = "same", strides=(1, 1)):
    """Conv (no bias) + BatchNormalization (no scale) + relu, Keras's `conv2d_bn`."""
    x = layers.Conv2D(filters, (rows, cols), strides=strides, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization(axis=3, scale=False)(x)
    return layers.Activation("relu")(x)


def _avg_branch(x, filters: int):
    x = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return _conv_bn(x, filters, 1, 1)


def _block_35(x, pool_filters: int, name: str):
    """The 35x35 Inception blocks mixed0-2."""
    branch1x1 = _conv_bn(x, 64, 1, 1)
    branch5x5 = _conv_bn(_conv_bn(x, 48, 1, 1), 64, 5, 5)
    branch3x3dbl = _conv_bn(_conv_bn(_conv_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
    branch_pool = _avg_branch(x, pool_filters)
    return layers.concatenate([branch1x1, branch5x5, branch3x3dbl, branch_pool], axis=3, name=name)


def _block_17(x, mid: int, name: str):
    """The 17x17 Inception blocks mixed4-7 with factorized 7x7 convolutions of `mid` filters."""
    branch1x1 = _conv_bn(x, 192, 1, 1)
    branch7x7 = _conv_bn(x, mid, 1, 1)
    branch7x7 = _conv_bn(branch7x7, mid, 1, 7)
    branch7x7 = _conv_bn(branch7x7, 192, 7, 1)
    branch7x7dbl = _conv_bn(x, mid, 1, 1)
    branch7x7dbl = _conv_bn(branch7x7dbl, mid, 7, 1)
    branch7x7dbl = _conv_bn(branch7x7dbl, mid, 1, 7)
    branch7x7dbl = _conv_bn(branch7x7dbl, mid, 7, 1)
    branch7x7dbl = _conv_bn(branch7x7dbl, 192, 1, 7)
    branch_pool = _avg_branch(x, 192)
    return layers.concatenate([branch1x1, branch7x7, branch7x7dbl, branch_pool], axis=3, name=name)


def _block_8(x, i: int):
    """The 8x8 Inception blocks mixed9 and mixed10."""
    branch1x1 = _conv_bn(x, 320, 1, 1)
    branch3x3 = _conv_bn(x, 384, 1, 1)
    branch3x3 = layers.concatenate([_conv_bn(branch3x3, 384, 1, 3), _conv_bn(branch3x3, 384, 3, 1)], axis=3,
                                   name=f"mixed9_{i}")
    branch3x3dbl = _conv_bn(_conv_bn(x, 448, 1, 1), 384, 3, 3)
    branch3x3dbl = layers.concatenate([_conv_bn(branch3x3dbl, 384, 1, 3), _conv_bn(branch3x3dbl, 384, 3, 1)],
                                      axis=3)
    branch_pool = _avg_branch(x, 192)
    return layers.concatenate([branch1x1, branch3x3, branch3x3dbl, branch_pool], axis=3, name=f"mixed{9 + i}")


def InceptionV3(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax"):
    """InceptionV3 (Szegedy et al. 2015) as Keras builds it.

    Args:
        include_top: end with global average pooling and a `classes`-way Dense.
        weights: None (random) or the path of a local Keras weights `.h5`.
        input_tensor: an optional `Input` tensor to build on.
        input_shape: `(rows, cols, 3)`, at least 75x75 (default 299x299 with the top).
        pooling: None, 'avg' or 'max' when `include_top` is False.
        classes: size of the classifier.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        A functional `Model` named 'inception_v3'.
    """
    img_input, _ = _common.start(weights, include_top, pooling, input_shape, input_tensor, 299, 75)
    x = _conv_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = _conv_bn(x, 32, 3, 3, padding="valid")
    x = _conv_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = _conv_bn(x, 80, 1, 1, padding="valid")
    x = _conv_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    for i, pool_filters in enumerate((32, 64, 64)):
        x = _block_35(x, pool_filters, f"mixed{i}")
    # mixed3: reduction to 17x17
    branch3x3 = _conv_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = _conv_bn(_conv_bn(x, 64, 1, 1), 96, 3, 3)
    branch3x3dbl = _conv_bn(branch3x3dbl, 96, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([branch3x3, branch3x3dbl, branch_pool], axis=3, name="mixed3")
    for i, mid in enumerate((128, 160, 160, 192)):
        x = _block_17(x, mid, f"mixed{4 + i}")
    # mixed8: reduction to 8x8
    branch3x3 = _conv_bn(_conv_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = _conv_bn(x, 192, 1, 1)
    branch7x7x3 = _conv_bn(branch7x7x3, 192, 1, 7)
    branch7x7x3 = _conv_bn(branch7x7x3, 192, 7, 1)
    branch7x7x3 = _conv_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([branch3x3, branch7x7x3, branch_pool], axis=3, name="mixed8")
    for i in range(2):
        x = _block_8(x, i)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool(x, pooling)
    return _common.finish(img_input, x, "inception_v3", weights)
