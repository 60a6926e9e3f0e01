"""Xception (Keras's `keras.applications.Xception`), with Keras's layer names and weight order.

The residual 1x1 convolutions and their batch norms are unnamed in Keras (automatic
names): build it in a fresh session for the names to match a Keras model's.
"""
from __future__ import annotations

from kport.keras import layers
from kport.keras.applications import _common


def _sep_bn(x, filters: int, name: str):
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=-1, name=name + "_bn")(x)


def _residual(x, filters: int):
    r = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return layers.BatchNormalization(axis=-1)(r)


def _entry_block(x, filters: tuple, block: int, first_relu: bool = True):
    """A downsampling block: two separable convs, max pooling, plus a strided 1x1 residual."""
    residual = _residual(x, filters[1])
    if first_relu:
        x = layers.Activation("relu", name=f"block{block}_sepconv1_act")(x)
    x = _sep_bn(x, filters[0], f"block{block}_sepconv1")
    x = layers.Activation("relu", name=f"block{block}_sepconv2_act")(x)
    x = _sep_bn(x, filters[1], f"block{block}_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


def Xception(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax"):
    """Xception (Chollet 2016) as Keras builds it.

    Args:
        include_top: end with global average pooling and a `classes`-way Dense.
        weights: None (random) or the path of a local Keras weights `.h5`.
        input_tensor: an optional `Input` tensor to build on.
        input_shape: `(rows, cols, 3)`, at least 71x71 (default 299x299 with the top).
        pooling: None, 'avg' or 'max' when `include_top` is False.
        classes: size of the classifier.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        A functional `Model` named 'xception'.
    """
    img_input, _ = _common.start(weights, include_top, pooling, input_shape, input_tensor, 299, 71)
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=-1, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=-1, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    x = _entry_block(x, (128, 128), 2, first_relu=False)
    x = _entry_block(x, (256, 256), 3)
    x = _entry_block(x, (728, 728), 4)
    for block in range(5, 13):  # middle flow
        residual = x
        for i in (1, 2, 3):
            x = layers.Activation("relu", name=f"block{block}_sepconv{i}_act")(x)
            x = _sep_bn(x, 728, f"block{block}_sepconv{i}")
        x = layers.add([x, residual])
    x = _entry_block(x, (728, 1024), 13)
    x = _sep_bn(x, 1536, "block14_sepconv1")
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sep_bn(x, 2048, "block14_sepconv2")
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool(x, pooling)
    return _common.finish(img_input, x, "xception", weights)
