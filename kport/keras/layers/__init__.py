"""`keras.layers`: one class per kport op, generated from the op registry, plus Layer, Input, Lambda.

Every op file in `kport/ops/` becomes a layer class named after its kind
(`Dense`, `Conv2D`, ...), with its legacy Keras aliases (`Convolution2D`)
as subclasses. Constructors take Keras arguments of any era (`units` or
`output_dim`, `input_dim`, `input_shape`, `kernel_initializer` or `init`).
"""
from __future__ import annotations

from kport.keras.engine.base_layer import Layer
from kport.keras.engine.input_layer import Input, InputLayer
from kport.keras.engine.op_layer import OpLayer
from kport.keras.layers.lambda_layer import Lambda
from kport.ops.registry import all_ops


def _generate() -> dict[str, type]:
    classes: dict[str, type] = {}
    for kind, op_cls in sorted(all_ops().items()):
        doc = (op_cls.__module__ and __import__(op_cls.__module__, fromlist=["_"]).__doc__ or kind).strip()
        base = type(kind, (OpLayer,), {"op_class": op_cls, "keras_class": kind, "__module__": __name__,
                                       "__doc__": f"{doc}\n\nA kport op layer (kport.ops: {kind})."})
        classes[kind] = base
        for alias in op_cls.keras_classes:
            if alias != kind and alias not in classes:
                classes[alias] = type(alias, (base,), {"keras_class": alias, "__module__": __name__})
    return classes


_CLASSES = _generate()
globals().update(_CLASSES)


def _merge(kind: str):
    def merge(inputs, **kwargs):
        return _CLASSES[kind](**kwargs)(inputs)

    merge.__name__ = kind.lower()
    merge.__doc__ = f"Functional form of the {kind} layer: `{kind.lower()}([a, b], **kwargs)`."
    return merge


# Keras 2's functional merge helpers
add, subtract, multiply, average, maximum, minimum, concatenate, dot = (
    _merge(k) for k in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"))


def merge(inputs, mode: str = "sum", concat_axis: int = -1, dot_axes=-1, name: str | None = None, **kwargs):
    """Keras 1's functional `merge([a, b], mode='concat')`."""
    return _CLASSES["Merge"](mode=mode, concat_axis=concat_axis, dot_axes=dot_axes, name=name, **kwargs)(inputs)


def class_for_op(op) -> type:
    """The layer class of an op instance (by its kind)."""
    return _CLASSES[op.kind]


def layer_classes() -> dict[str, type]:
    """Every generated layer class by Keras class name (kinds and aliases)."""
    return dict(_CLASSES)


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """A layer from `{class_name, config}`."""
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name) or {"InputLayer": InputLayer}.get(name)
    if cls is None:
        raise ValueError(f"Unknown layer: {name}")
    return cls.from_config(config.get("config", {}))


def serialize(layer: Layer) -> dict:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


__all__ = ["Layer", "Input", "InputLayer", "OpLayer", "Lambda", "class_for_op", "layer_classes", "deserialize",
           "serialize", "merge", "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot",
           *_CLASSES]
