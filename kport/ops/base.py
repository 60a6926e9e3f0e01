"""The contract every layer kind follows, and the context importers pass in.

An op is a dataclass whose fields are the layer's normalized attributes, with
their defaults written once. It knows its Keras class names, its weights, its
output-shape rule and a numpy `reference`; backend hooks (`to_onnx`, ...) live
beside them in the same file. A backend hook that is deliberately missing is
listed in `no_hook` with the reason, so the support table can say why.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from kport.errors import ShapeError

if TYPE_CHECKING:
    from kport.ir.graph import Shape


@dataclass
class ImportContext:
    """What an op needs to know about the file it is read from.

    Attributes:
        path: the source file.
        layer: the Keras layer name being read.
        keras_major: major Keras version that wrote the file (1, 2 or 3).
        keras_version: the full version string, when known.
        backend: 'tensorflow', 'theano', 'cntk', or None when the file does not say.
        flavor: 'keras' (multi-backend Keras 1/2), 'tf.keras' or 'keras3'.
    """

    path: str | None = None
    layer: str | None = None
    keras_major: int = 2
    keras_version: str | None = None
    backend: str | None = None
    flavor: str = "keras"


@dataclass
class Op:
    """Base class of every layer kind; subclasses are dataclasses of attributes."""

    kind: ClassVar[str] = ""
    keras_classes: ClassVar[tuple[str, ...]] = ()
    # backend name -> why this op has no hook for it
    no_hook: ClassVar[dict[str, str]] = {}
    # weights Keras keeps out of training (moving statistics and the like)
    non_trainable_weights: ClassVar[tuple[str, ...]] = ()
    # whether an `activation` field acts last, on the output (Dense, convolutions, Activation); recurrent
    # layers and Highway apply theirs inside and say False. See `__init_subclass__`.
    activation_on_output: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs):
        # every output-shape rule gets the activation's effect (glu halves the last axis) here, once,
        # so no op can forget it
        super().__init_subclass__(**kwargs)
        rule = cls.__dict__.get("output_shapes")
        if rule is not None:
            cls.output_shapes = _with_activation_shape(rule)

    # ---- construction -------------------------------------------------
    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Op":
        """Builds the op from a normalized Keras layer config.

        The default takes every field present in `config`, coercing lists to
        tuples; ops with legacy spellings or derived values override it.
        """
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in config and config[f.name] is not None:
                kwargs[f.name] = _coerce(config[f.name], f.default)
        return cls(**kwargs)

    def attributes(self) -> dict[str, Any]:
        """Returns the typed attributes as a plain dict."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def keras_config(self, flavor: str = "keras3") -> dict[str, Any]:
        """Returns the attributes as a Keras layer config.

        Args:
            flavor: 'keras3' or 'tf.keras' (Keras 2 spelling); ops whose
                spelling differs between them override this.
        """
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.attributes().items()}

    # ---- weights and shapes --------------------------------------------
    def weight_shapes(self, in_shapes: list["Shape"]) -> dict[str, tuple]:
        """Returns the expected weights, in Keras order, with their shapes."""
        return {}

    def output_shapes(self, in_shapes: list["Shape"]) -> list["Shape"]:
        """Returns the output shapes for the given input shapes (None = unknown).

        Subclasses give the shape before an `activation` field; the base applies its effect."""
        return [in_shapes[0]]

    # ---- semantics -------------------------------------------------------
    def reference(self, xs: list[np.ndarray], w: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The numpy reference: the oracle every backend is compared with."""
        raise NotImplementedError(f"{self.kind} has no numpy reference")

    def reference_node(self, xs: list[np.ndarray], w: dict[str, np.ndarray], call: dict) -> list[np.ndarray]:
        """The numpy reference for one graph node; the runtime calls this.

        `call` is the node's call record (`Node.call`). Ops whose inputs have
        keyword roles (`'tensor:initial_state'`, `'tensor:mask'` -> positions)
        override it; the default ignores it.
        """
        return self.reference(xs, w)


def _with_activation_shape(rule):
    """Wraps an op's output-shape rule so the first output has the shape after its `activation`."""
    @functools.wraps(rule)
    def output_shapes(self, in_shapes):
        shapes = rule(self, in_shapes)
        activation = getattr(self, "activation", None)
        # only the rule the instance's class resolves to applies it (a super() call does not twice)
        if activation is None or not self.activation_on_output or type(self).output_shapes is not output_shapes:
            return shapes
        from kport.ops import activation_fns

        return [activation_fns.output_shape(activation, shapes[0])] + list(shapes[1:])

    return output_shapes


Op.output_shapes = _with_activation_shape(Op.__dict__["output_shapes"])  # the default rule too


def _coerce(value: Any, default: Any) -> Any:
    if isinstance(value, list):
        return tuple(_coerce(v, None) for v in value)
    if isinstance(default, bool):
        return bool(value)
    if isinstance(default, float) and isinstance(value, (int, float)):
        return float(value)
    return value


def as_tuple(value: Any, rank: int) -> tuple[int, ...]:
    """Expands an int or sequence attribute (kernel_size, strides, ...) to `rank` ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * rank
    value = tuple(int(v) for v in value)
    if len(value) == 1 and rank > 1:
        return value * rank
    return value


def reduction_axes(axis: Any, rank: int) -> list[int]:
    """The sorted non-negative axes a reduction over `axis` (None: every axis, an int or a tuple) covers."""
    if axis is None:
        return list(range(rank))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return sorted({int(a) % rank for a in axes})


def reduced_shape(shape: "Shape", axes: list[int], keepdims: bool) -> tuple:
    """The shape left after reducing `axes` (kept as size 1 with `keepdims`)."""
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def require_rank(shape: "Shape", rank: int, kind: str) -> None:
    """Raises a ShapeError when a tensor is not of the rank a layer needs."""
    if len(shape) != rank:
        raise ShapeError(f"{kind} expects a rank-{rank} input (batch included), got shape {shape}")
