"""MobileNetV2 (Keras's `keras.applications.MobileNetV2`), with Keras's layer names and weight order."""
from __future__ import annotations

from kport.keras import layers
from kport.keras.applications import _common

# (filters, stride, expansion) of the 17 inverted residual blocks
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6),
           (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6),
           (320, 1, 6))


def make_divisible(v: float, divisor: int = 8) -> int:
    """Rounds a channel count to a multiple of `divisor`, never more than 10% down (Keras's rule)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _bn(name: str):
    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def _correct_pad(size) -> tuple:
    """Keras's `correct_pad` for a 3x3 stride-2 conv: the odd pad goes to the bottom/right."""
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    return ((1 - adjust[0], 1), (1 - adjust[1], 1))


def _inverted_block(inputs, filters: int, alpha: float, stride: int, expansion: int, block_id: int):
    in_channels = inputs.shape[-1]
    pointwise_filters = make_divisible(int(filters * alpha), 8)
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    x = inputs
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False,
                          name=prefix + "expand")(x)
        x = _bn(prefix + "expand_BN")(x)
        x = layers.ReLU(max_value=6.0, name=prefix + "expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=_correct_pad(tuple(x.shape[1:3])), name=prefix + "pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, use_bias=False,
                               padding="same" if stride == 1 else "valid", name=prefix + "depthwise")(x)
    x = _bn(prefix + "depthwise_BN")(x)
    x = layers.ReLU(max_value=6.0, name=prefix + "depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False, name=prefix + "project")(x)
    x = _bn(prefix + "project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=prefix + "add")([inputs, x])
    return x


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights=None, input_tensor=None, pooling=None,
                classes=1000, classifier_activation="softmax"):
    """MobileNetV2 (Sandler et al. 2018) as Keras builds it.

    Args:
        input_shape: `(rows, cols, 3)`, at least 32x32 (default 224x224 with the top).
        alpha: width multiplier.
        include_top: end with global average pooling and a `classes`-way Dense.
        weights: None (random) or the path of a local Keras weights `.h5`.
        input_tensor: an optional `Input` tensor to build on.
        pooling: None, 'avg' or 'max' when `include_top` is False.
        classes: size of the classifier.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        A functional `Model` named like Keras's, e.g. 'mobilenetv2_1.00_224'.
    """
    img_input, shape = _common.start(weights, include_top, pooling, input_shape, input_tensor, 224, 32)
    x = layers.Conv2D(make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2), padding="same", use_bias=False,
                      name="Conv1")(img_input)
    x = _bn("bn_Conv1")(x)
    x = layers.ReLU(max_value=6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_block(x, filters, alpha, stride, expansion, block_id)
    last_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_filters, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = _bn("Conv_1_bn")(x)
    x = layers.ReLU(max_value=6.0, name="out_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool(x, pooling)
    return _common.finish(img_input, x, f"mobilenetv2_{alpha:0.2f}_{shape[0]}", weights)
