"""Shared base of the TensorFlow-function layers tf.keras records (`TFOpLambda`, `SlicingOpLambda`).

A tf.keras 2.4+ functional model that calls `tf.*` on Keras tensors saves each
call as one layer naming the function (`math.add`), with the call's arguments
in its inbound node (see kport/importers/tf_op_nodes.py). Each such layer is
called once, so the importer hands the call record to `bind_call`, which turns
the arguments into typed attributes; `keras_node` writes them back the way
tf.keras spells them, so tf_keras reloads kport's file.

Ops claim `TFOpLambda:<function>` class names (`tf_classes`), one op per
function family. Keras 3 cannot call TensorFlow functions: ops without a Keras 3
form refuse that writer with an ExportError.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from kport.errors import ExportError, UnsupportedLayerError
from kport.ops.base import Op

CONSTANT = "_CONSTANT_VALUE"


class Tensor:
    """Marks where a tensor goes in an argument written back to tf.keras."""


TENSOR = Tensor()


def tf_classes(*functions: str) -> tuple[str, ...]:
    """The registry class names of the TF functions an op implements."""
    return tuple(f"TFOpLambda:{f}" for f in functions)


def frozen(value: Any) -> Any:
    """A JSON constant as nested tuples (hashable, comparable dataclass attributes)."""
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    """Nested tuples back to the JSON lists Keras writes."""
    if isinstance(value, tuple):
        return [thawed(v) for v in value]
    return value


class TFCall:
    """One TFOpLambda call record, read argument by argument.

    The node's inputs are the first argument's tensors, then each tensor keyword
    argument's, in the order the file lists them.
    """

    IGNORED = {"name", "positional"}

    def __init__(self, function: str, call: dict, n_inputs: int):
        self.function = function
        self.call = call
        self.tensor_kwargs = {k[len("tensor:"):]: v for k, v in call.items() if k.startswith("tensor:")}
        n_keyword = sum(p is not None for v in self.tensor_kwargs.values() for p in v)
        self.n_first = n_inputs - n_keyword
        positional = call.get("positional")
        if positional and self.n_first == 0:  # a constant first argument (an array constant is a list too)
            self.first = frozen(positional[0])
        elif positional:  # a list of tensors (None) and constants
            self.first = list(positional[0])
        else:  # None: one tensor; a list of None: a list of tensors
            self.first = None if self.n_first == 1 else [None] * self.n_first
        self.used: set[str] = set()

    def refuse(self, what: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"tf.{self.function} {what}",
                                     hint="pass constants there, or replace the call by a Keras layer")

    def constant(self, name: str, default: Any = None) -> Any:
        """A keyword argument that must be a constant (axis, shape, perm, ...)."""
        self.used.add(name)
        if name in self.tensor_kwargs:
            raise self.refuse(f"takes a tensor as '{name}'; kport converts only constant values there")
        return frozen(self.call.get(name, default))

    def operand(self, name: str) -> Any:
        """A keyword operand: None when a tensor went there, else the constant."""
        self.used.add(name)
        if name in self.tensor_kwargs:
            if len(self.tensor_kwargs[name]) != 1:
                raise self.refuse(f"takes a structure of tensors as '{name}'")
            return None
        if name not in self.call:
            raise self.refuse(f"is missing its '{name}' argument")
        return frozen(self.call[name])

    def first_list(self) -> tuple:
        """The first argument as a list: None where a tensor went."""
        first = self.first if isinstance(self.first, list) else [self.first]
        return frozen(first)

    def check_all_read(self) -> None:
        """Refuses keyword arguments the op did not read (they would change the result)."""
        extra = sorted(k for k in set(self.call) | set(self.tensor_kwargs)
                       if not k.startswith("tensor:") and k not in self.IGNORED and k not in self.used)
        if extra:
            raise self.refuse(f"has argument(s) {extra} that kport does not convert")


@dataclass
class TFFunctionOp(Op):
    """A TensorFlow function called on Keras tensors: `function` is its TF API name."""

    tf_keras_class: ClassVar[str] = "TFOpLambda"
    # why Keras 3 cannot express the op (it has no TensorFlow functions); None where it can
    keras3_refusal: ClassVar[str | None] = "Keras 3 models cannot call TensorFlow functions"

    # TF function -> (Keras 3 module, operation class, {Keras 3 config key: attribute}): the Keras 3
    # operations the Keras 3 writer spells these functions as; the importer reads them back
    keras3_ops: ClassVar[dict[str, tuple[str, str, dict[str, str]]]] = {}
    # Keras 3 operation classes whose args are one list of tensors (Concatenate)
    keras3_list_args: ClassVar[tuple[str, ...]] = ()

    function: str = ""

    @property
    def keras_class(self) -> str:
        return self.tf_keras_class

    @classmethod
    def from_keras(cls, config: dict, ctx) -> "TFFunctionOp":
        op = cls(function=str(config.get("function", "")))
        keras3 = config.get("keras3_attributes")
        if keras3 is not None:  # a Keras 3 operation: its attributes are in its config, its call is bare
            op = dataclasses.replace(op, **{k: frozen(v) for k, v in keras3.items() if v is not None})
            op._from_keras3_config = True
        return op

    def bind_call(self, call: dict, n_inputs: int) -> "TFFunctionOp":
        """Returns the op with the call's arguments as attributes."""
        if getattr(self, "_from_keras3_config", False):
            return self
        args = TFCall(self.function, call or {}, n_inputs)
        values = self.read_call(args)
        args.check_all_read()
        return dataclasses.replace(self, **values)

    def read_call(self, args: TFCall) -> dict[str, Any]:
        """The attributes a call sets; subclasses read their arguments."""
        return {}

    def tf_call(self, n_inputs: int) -> tuple[Any, dict[str, Any]]:
        """(first argument, keyword arguments) as tf.keras writes them, TENSOR where one of the `n_inputs` tensors goes."""
        return TENSOR, {}

    def keras_config(self, flavor: str = "keras3") -> dict[str, Any]:
        return {"function": self.function}

    def keras_node(self, flavor: str, refs: list, node) -> dict | None:
        """The inbound node of one call in a Keras writer's spelling (see layer_config.functional_config)."""
        if flavor != "tf.keras":
            return self.keras3_node(refs, node)
        first, kwargs = self.tf_call(len(refs))
        pending = iter(refs)

        def fill(value):
            if value is TENSOR:
                return list(next(pending))
            if isinstance(value, list):
                return [fill(v) for v in value]
            return thawed(value)

        entries = [fill(v) for v in first] if isinstance(first, list) else fill(first)
        kwargs = {k: fill(v) for k, v in kwargs.items()}

        def entry(value):
            if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
                return value + [kwargs]
            return [CONSTANT, -1, value, kwargs]

        if isinstance(first, list):
            return {"inbound": [entry(e) for e in entries]}
        return {"inbound": entry(entries)}

    def keras3_node(self, refs: list, node) -> dict:
        """The Keras 3 operation call this function is written as, or an ExportError."""
        spelled = self.keras3_ops.get(self.function)
        if spelled is None:
            raise ExportError(f"tf.{self.function} has no Keras 3 form: {self.keras3_refusal}", layer=node.layer,
                              hint="write a tf.keras file (--to h5), ONNX or PyTorch instead")
        module, class_name, keys = spelled
        config = {key: thawed(getattr(self, attr)) for key, attr in keys.items()}
        args = [list(refs)] if class_name in self.keras3_list_args else self.keras3_args(refs)
        return {"module": module, "class_name": class_name, "config": config, "omit": ("build_config",),
                "inbound": {"args": args, "kwargs": {}}}

    def keras3_args(self, refs: list) -> list:
        """The Keras 3 operation's positional args: the tensors, with constants where the op has them."""
        return list(refs)


def keras3_constant(value: Any) -> Any:
    """A constant as Keras 3 saves an operation's argument: a number, or a `__numpy__` array."""
    if not isinstance(value, tuple):
        return value
    return {"class_name": "__numpy__", "config": {"value": thawed(value), "dtype": "float32"}}


def keras3_operands(call: dict, count: int) -> list:
    """A Keras 3 operation call's operands: None where a tensor went, else the constant (as nested tuples)."""
    positional = (call or {}).get("positional")
    if not positional:
        return [None] * count
    if len(positional) != count:
        raise UnsupportedLayerError(f"the Keras 3 operation has {len(positional)} arguments, kport expects {count}",
                                    hint="call the operation with its tensor arguments only")
    out = []
    for p in positional:
        if isinstance(p, dict) and p.get("class_name") == "__numpy__":
            p = p.get("config", {}).get("value")
        out.append(None if p is None else frozen(p))
    return out


def keras3_index() -> dict[str, tuple[str, dict[str, str]]]:
    """Keras 3 operation class -> (TF function, {config key: attribute}) over every TF function op."""
    from kport.ops.registry import all_ops

    index: dict[str, tuple[str, dict[str, str]]] = {}
    for op_cls in all_ops().values():
        for function, (_, class_name, keys) in getattr(op_cls, "keras3_ops", {}).items():
            index.setdefault(class_name, (function, keys))
    return index


def first_tensor_rank(in_shapes) -> int:
    """The rank of the node's first input."""
    return len(in_shapes[0])


def as_float32(value: Any) -> np.ndarray:
    """A recorded constant as a float32 array."""
    return np.asarray(thawed(value), dtype=np.float32)
