"""VGG16 and VGG19 (Keras's `keras.applications.VGG16/VGG19`), with Keras's layer names."""
from __future__ import annotations

from kport.keras import layers
from kport.keras.applications import _common


def _vgg(convs_per_block, name, include_top, weights, input_tensor, input_shape, pooling, classes,
         classifier_activation):
    img_input, _ = _common.start(weights, include_top, pooling, input_shape, input_tensor, 224, 32)
    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block), start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool(x, pooling)  # unnamed in Keras: automatic names
    return _common.finish(img_input, x, name, weights)


def VGG16(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax"):
    """VGG16 (Simonyan & Zisserman 2014) as Keras builds it.

    Args:
        include_top: end with Flatten and the three Dense layers fc1, fc2, predictions.
        weights: None (random) or the path of a local Keras weights `.h5`.
        input_tensor: an optional `Input` tensor to build on.
        input_shape: `(rows, cols, 3)`, at least 32x32 (default 224x224 with the top).
        pooling: None, 'avg' or 'max' when `include_top` is False.
        classes: size of the classifier.
        classifier_activation: activation of the classifier (None for logits).

    Returns:
        A functional `Model` named 'vgg16'.
    """
    return _vgg((2, 2, 3, 3, 3), "vgg16", include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation)


def VGG19(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax"):
    """VGG19 as Keras builds it; arguments as `VGG16`.

    Returns:
        A functional `Model` named 'vgg19'.
    """
    return _vgg((2, 2, 4, 4, 4), "vgg19", include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation)
