"""`keras.activations`: the built-in activations as torch functions, named as Keras names them.

Layers given one of these functions (`Dense(activation=activations.relu)`)
record its name, so the op and every exporter see the built-in activation.
"""
from __future__ import annotations

from kport.keras import backend as K


def linear(x):
    return x


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    return K.relu(x, alpha, max_value, threshold)


def sigmoid(x):
    return K.sigmoid(x)


def hard_sigmoid(x):
    return K.hard_sigmoid(x)


def tanh(x):
    return K.tanh(x)


def softmax(x, axis=-1):
    return K.softmax(x, axis)


def softplus(x):
    return K.softplus(x)


def softsign(x):
    return K.softsign(x)


def elu(x, alpha=1.0):
    return K.elu(x, alpha)


def selu(x):
    import torch

    return torch.selu(K.as_tensor(x))


def exponential(x):
    return K.exp(x)


def swish(x):
    import torch

    return torch.nn.functional.silu(K.as_tensor(x))


def get(identifier):
    """Resolves an activation function from a name or a function."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    fn = globals().get(identifier)
    if fn is None or not callable(fn):
        raise ValueError(f"unknown activation {identifier!r}")
    return fn
