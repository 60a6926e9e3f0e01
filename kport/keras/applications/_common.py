"""Shared pieces of `keras.applications`: argument checks, the input shape, the top, weight loading."""
from __future__ import annotations

import os

from kport.keras import layers


def start(weights, include_top: bool, pooling, input_shape, input_tensor, default_size: int, min_size: int):
    """Every application's first steps: check the arguments, settle the input shape, make the input.

    Returns:
        (the model's input tensor, the input shape it was built for).
    """
    check_weights(weights)
    check_top(include_top, pooling)
    shape = input_shape_for(input_shape, default_size, min_size, include_top)
    return image_input(shape, input_tensor), shape


def check_weights(weights) -> None:
    """Accepts `None` or the path of an existing local weights file; kport never downloads.

    Raises:
        ValueError: `weights` is 'imagenet' or a string that is not an existing file.
    """
    if weights is None:
        return
    if weights == "imagenet":
        raise ValueError("weights='imagenet' needs a download, which kport never does: fetch the Keras .h5 "
                         "weights file yourself and pass its path as weights='/path/to/file.h5'")
    if not isinstance(weights, (str, os.PathLike)) or not os.path.isfile(weights):
        raise ValueError(f"The `weights` argument should be None or the path of an existing weights file; "
                         f"{weights!r} is not a file")


def input_shape_for(input_shape, default_size: int, min_size: int, include_top: bool) -> tuple:
    """Keras's `obtain_input_shape` for channels_last without ImageNet weights.

    Args:
        input_shape: the user's `(rows, cols, channels)` or None.
        default_size: the architecture's default square size.
        min_size: the smallest rows/cols the architecture accepts.
        include_top: a classifier top needs fully known sizes.

    Returns:
        The input shape to build the model with.
    """
    if input_shape is None:
        shape = (default_size, default_size, 3) if include_top else (None, None, 3)
    else:
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(f"`input_shape` must be a tuple of three integers (rows, cols, channels); got {shape}")
        for size in shape[:2]:
            if size is not None and size < min_size:
                raise ValueError(f"Input size must be at least {min_size}x{min_size}; got `input_shape={shape}`")
    if include_top and None in shape:
        raise ValueError(f"With include_top=True, `input_shape` must be fully known; got {shape}")
    return shape


def check_top(include_top: bool, pooling) -> None:
    """Refuses a `pooling` other than None, 'avg' or 'max' (Keras would silently build no pooling)."""
    if not include_top and pooling not in (None, "avg", "max"):
        raise ValueError(f"`pooling` must be None, 'avg' or 'max'; got {pooling!r}")


def pool(x, pooling, avg_name: str | None = None, max_name: str | None = None):
    """The `include_top=False` head: global average / max pooling or nothing, named as Keras names them."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def finish(inputs, outputs, name: str, weights):
    """Builds the Model and loads the local weights file, if any."""
    from kport.keras.models import Model

    model = Model(inputs, outputs, name=name)
    if weights is not None:
        model.load_weights(os.fspath(weights))
    return model


def image_input(shape: tuple, input_tensor=None):
    """The model's input: `input_tensor` or a new Input named as a fresh tf.keras session names it."""
    if input_tensor is not None:
        return input_tensor
    return layers.Input(shape=shape, name="input_1")  # tf.keras 2's first automatic Input name
