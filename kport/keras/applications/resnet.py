"""ResNet50 (Keras's `keras.applications.ResNet50`), with Keras's layer names and weight order."""
from __future__ import annotations

from kport.keras import layers
from kport.keras.applications import _common

_EPS = 1.001e-5  # Keras's ResNet batch-norm epsilon


def _block(x, filters: int, name: str, stride: int = 1, conv_shortcut: bool = True):
    """Bottleneck residual block (Keras's `block1`)."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=name + "_1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_1_bn")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=name + "_2_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_2_bn")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name=name + "_3_bn")(x)
    x = layers.Add(name=name + "_add")([shortcut, x])
    return layers.Activation("relu", name=name + "_out")(x)


def _stack(x, filters: int, blocks: int, name: str, stride1: int = 2):
    x = _block(x, filters, name + "_block1", stride=stride1)
    for i in range(2, blocks + 1):
        x = _block(x, filters, f"{name}_block{i}", conv_shortcut=False)
    return x


def ResNet50(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax"):
    """ResNet50 (He et al. 2015) as Keras builds it.

    Args:
        include_top: end with global average pooling and a `classes`-way Dense.
        weights: None (random) or the path of a local Keras weights `.h5`.
        input_tensor: an optional `Input` tensor to build on.
        input_shape: `(rows, cols, 3)`, at least 32x32 (default 224x224 with the top).
        pooling: None, 'avg' or 'max' when `include_top` is False.
        classes: size of the classifier.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        A functional `Model` named 'resnet50'.
    """
    img_input, _ = _common.start(weights, include_top, pooling, input_shape, input_tensor, 224, 32)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_EPS, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = _stack(x, 64, 3, "conv2", stride1=1)
    x = _stack(x, 128, 4, "conv3")
    x = _stack(x, 256, 6, "conv4")
    x = _stack(x, 512, 3, "conv5")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool(x, pooling, "avg_pool", "max_pool")
    return _common.finish(img_input, x, "resnet50", weights)
