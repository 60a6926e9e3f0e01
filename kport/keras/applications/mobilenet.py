"""MobileNet (Keras's `keras.applications.MobileNet`), with Keras's layer names and weight order."""
from __future__ import annotations

from kport.keras import layers
from kport.keras.applications import _common

# (pointwise filters, strides) of the 13 depthwise-separable blocks
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
           (512, 1), (1024, 2), (1024, 1))


def _depthwise_block(x, filters: int, depth_multiplier: int, stride: int, block_id: int):
    if stride != 1:
        # Keras pads bottom/right only, then a 'valid' strided depthwise conv
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if stride == 1 else "valid", depth_multiplier=depth_multiplier,
                               strides=(stride, stride), use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(max_value=6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(filters, (1, 1), padding="same", use_bias=False, name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(max_value=6.0, name=f"conv_pw_{block_id}_relu")(x)


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True, weights=None,
              input_tensor=None, pooling=None, classes=1000, classifier_activation="softmax"):
    """MobileNet v1 (Howard et al. 2017) as Keras builds it.

    Args:
        input_shape: `(rows, cols, 3)`, at least 32x32 (default 224x224 with the top).
        alpha: width multiplier of every layer's filters.
        depth_multiplier: depthwise channel multiplier.
        dropout: dropout rate before the classifier.
        include_top: end with pooling, dropout, a 1x1 conv classifier, reshape and activation.
        weights: None (random) or the path of a local Keras weights `.h5`.
        input_tensor: an optional `Input` tensor to build on.
        pooling: None, 'avg' or 'max' when `include_top` is False.
        classes: size of the classifier.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        A functional `Model` named like Keras's, e.g. 'mobilenet_1.00_224'.
    """
    img_input, shape = _common.start(weights, include_top, pooling, input_shape, input_tensor, 224, 32)
    x = layers.Conv2D(int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2), name="conv1")(img_input)
    x = layers.BatchNormalization(axis=-1, name="conv1_bn")(x)
    x = layers.ReLU(max_value=6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _depthwise_block(x, int(filters * alpha), depth_multiplier, stride, block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    else:
        x = _common.pool(x, pooling)
    return _common.finish(img_input, x, f"mobilenet_{alpha:0.2f}_{shape[0]}", weights)
