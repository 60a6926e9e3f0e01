"""Trusted Lambda layers -> ordinary IR nodes, by calling the function on symbolic tensors.

With `trust_lambda`, a Lambda's function (or a Keras 1 Merge's function mode) is
called once with `Proxy` tensors. Every operation it applies (`x / 127.5`,
`K.sum(x, axis=1)`, `x[:, 1:]`, `tf.concat(...)`) becomes an IR node with an
existing op kind (TFBinary, TFReduce, TFSlice, Activation, ...), so every runtime
and writer handles the result. Nothing here executes the file's code: the loader
(lambda_code.py) hands over a callable that only reaches the shim backend
(lambda_backend_shim.py) and the proxies.

Emitted layers are named `<lambda>_<function>`; the node producing the Lambda's
first output takes the Lambda's own name, so later layers and outputs still find it.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import warnings
from typing import Any

import numpy as np

from kport.errors import KportError, ShapeError, UnsafeContentError, UnsupportedLayerError
from kport.ir.graph import Layer, Node, TensorSpec

_TRUST = contextvars.ContextVar("kport_trust_lambda", default=False)


class LambdaTrustWarning(UserWarning):
    """Emitted when a trusted Lambda's code from the file is evaluated."""


@contextlib.contextmanager
def trusting(trust: bool):
    """Within the block, Lambda layers are traced (True) or refused (False)."""
    token = _TRUST.set(bool(trust))
    try:
        yield
    finally:
        _TRUST.reset(token)


def trusted() -> bool:
    """Whether the current load was asked to evaluate Lambda code."""
    return _TRUST.get()


REFUSAL_HINT = ("replace the Lambda by built-in layers and save again, or pass --trust-lambda "
                "(trust_lambda=True) to evaluate its code symbolically if you trust the file")


class Proxy:
    """A symbolic tensor standing for one IR tensor while a Lambda is traced."""

    __slots__ = ("_tracer", "name")

    def __init__(self, tracer: "Tracer", name: str):
        self._tracer = tracer
        self.name = name

    # ---- what a Lambda may ask about a tensor -----------------------------------
    @property
    def shape(self) -> tuple:
        return tuple(self._tracer.spec(self.name).shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def dtype(self) -> str:
        return self._tracer.spec(self.name).dtype

    @property
    def T(self) -> "Proxy":
        return self._tracer.call("transpose", self)

    def __len__(self):
        raise self._tracer.refuse("len() of a tensor", "the batch size is not known while converting")

    def __iter__(self):
        raise self._tracer.refuse("iterating over a tensor", "index it with constants instead")

    def __bool__(self):
        raise self._tracer.refuse("a tensor used as a condition", "data-dependent Python branches cannot be converted")

    # ---- operators ------------------------------------------------------------
    def _bin(self, function: str, other, reverse: bool = False) -> "Proxy":
        a, b = (other, self) if reverse else (self, other)
        return self._tracer.call(function, a, y=b)

    def __add__(self, o): return self._bin("math.add", o)
    def __radd__(self, o): return self._bin("math.add", o, True)
    def __sub__(self, o): return self._bin("math.subtract", o)
    def __rsub__(self, o): return self._bin("math.subtract", o, True)
    def __mul__(self, o): return self._bin("math.multiply", o)
    def __rmul__(self, o): return self._bin("math.multiply", o, True)
    def __truediv__(self, o): return self._bin("math.truediv", o)
    def __rtruediv__(self, o): return self._bin("math.truediv", o, True)
    def __pow__(self, o): return self._bin("math.pow", o)
    def __rpow__(self, o): return self._bin("math.pow", o, True)
    def __gt__(self, o): return self._bin("math.greater", o)
    def __ge__(self, o): return self._bin("math.greater_equal", o)
    def __lt__(self, o): return self._bin("math.less", o)
    def __le__(self, o): return self._bin("math.less_equal", o)
    def __matmul__(self, o): return self._tracer.call("linalg.matmul", self, b=o)
    def __neg__(self): return self._tracer.call("math.negative", self)
    def __pos__(self): return self
    def __abs__(self): return self._tracer.call("math.abs", self)

    def __getitem__(self, key) -> "Proxy":
        items = key if isinstance(key, tuple) else (key,)
        spec = []
        for item in items:
            if item is None:
                spec.append(None)
            elif item is Ellipsis:
                spec.append({"class_name": "__ellipsis__"})
            elif isinstance(item, slice):
                spec.append({"start": _index(item.start), "stop": _index(item.stop), "step": _index(item.step)})
            elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                spec.append(int(item))
            else:
                raise self._tracer.refuse(f"indexing with {type(item).__name__}",
                                          "index with constant ints, slices, None and ...")
        return self._tracer.call("__operators__.getitem", self, slice_spec=spec)


def _index(value):
    if value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool)):
        return None if value is None else int(value)
    raise UnsupportedLayerError(f"slice bound {value!r} is not a constant int")


def constant(value) -> Any:
    """A Python/numpy constant as the JSON value a TF call record holds."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float64).tolist() if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [constant(v) for v in value]
    if isinstance(value, list):
        return [constant(v) for v in value]
    if isinstance(value, dict):  # slice items as tf.keras records them
        return {k: constant(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise UnsupportedLayerError(f"a constant of type {type(value).__name__} cannot be converted")


class Tracer:
    """Emits the nodes of one Lambda call into the graph being built."""

    def __init__(self, builder, lambda_name: str, scope: tuple, ctx):
        self.graph = builder.graph
        self.path = builder.source.path
        self.lambda_name = lambda_name
        self.scope = tuple(scope)
        self.ctx = dataclasses.replace(ctx, layer=lambda_name)
        self.emitted: list[Node] = []

    # ---- errors ---------------------------------------------------------------
    def refuse(self, what: str, hint: str | None = None) -> UnsupportedLayerError:
        return UnsupportedLayerError(f"Lambda uses {what}, which kport cannot convert", path=self.path,
                                     layer=self.lambda_name, hint=hint or "rewrite the Lambda with Keras layers")

    # ---- tensors --------------------------------------------------------------
    def spec(self, name: str) -> TensorSpec:
        if name not in self.graph.tensors:
            self._infer_pending()
        return self.graph.tensors[name]

    def _infer_pending(self) -> None:
        """Shapes of the nodes built so far (the builder infers the rest after building)."""
        g = self.graph
        for node in g.nodes:
            if all(t in g.tensors for t in node.outputs):
                continue
            op = g.layers[node.layer].op
            in_shapes = [g.tensors[t].shape for t in node.inputs]
            try:
                shapes = op.output_shapes(in_shapes)
            except KportError as err:
                raise err.with_context(path=self.path, layer=node.layer)
            except (ValueError, IndexError, TypeError) as err:
                raise ShapeError(f"cannot infer the output shape from inputs {in_shapes}: {err}",
                                 path=self.path, layer=node.layer)
            dtype = getattr(op, "output_dtype", None) or (g.tensors[node.inputs[0]].dtype if node.inputs
                                                          else "float32")
            for t, s in zip(node.outputs, shapes):
                g.tensors[t] = TensorSpec(t, tuple(s), dtype)

    def proxy(self, name: str) -> Proxy:
        self.spec(name)
        return Proxy(self, name)

    # ---- emitting ---------------------------------------------------------------
    def call(self, function: str, first, **kwargs) -> Any:
        """Emits one TF-function node, spelled as tf.keras records `tf.<function>(first, **kwargs)`."""
        from kport.importers import tf_op_nodes
        from kport.ops.registry import op_for_keras_class

        inputs: list[str] = []
        call: dict[str, Any] = {}
        if isinstance(first, Proxy):
            inputs.append(first.name)
        elif isinstance(first, (list, tuple)) and any(isinstance(v, Proxy) for v in first):
            structure = []
            for v in first:
                if isinstance(v, Proxy):
                    inputs.append(v.name)
                    structure.append(None)
                else:
                    structure.append(constant(v))
            if any(s is not None for s in structure):
                call["positional"] = [structure]
        else:
            call["positional"] = [constant(first)]
        for key, value in kwargs.items():
            if isinstance(value, Proxy):
                call[f"tensor:{key}"] = [len(inputs)]
                inputs.append(value.name)
            elif value is not None:
                call[key] = constant(value)
        if not inputs:
            raise self.refuse(f"tf.{function} on constants only", "compute constants outside the model")
        op_cls = op_for_keras_class(f"TFOpLambda:{function}")
        if op_cls is None:
            raise self.refuse(f"tf.{function}")
        op = op_cls.from_keras({"function": function}, self.ctx)
        try:
            op = tf_op_nodes.bind_call(op, call, len(inputs), self.path, self.lambda_name)
        except KportError as err:
            err.message = f"in the Lambda: {err.message}"
            raise err.with_context(path=self.path, layer=self.lambda_name)
        short = function.rsplit(".", 1)[-1].strip("_")
        outs = self._emit(short, op, inputs, call)
        return outs[0] if len(outs) == 1 else outs

    def layer(self, class_name: str, config: dict, inputs: list[Proxy]) -> Proxy:
        """Emits one Keras layer (Activation, Flatten, Permute, ...) applied to `inputs`."""
        from kport.ops.registry import op_for_keras_class

        op = op_for_keras_class(class_name).from_keras(config, self.ctx)
        return self._emit(class_name.lower(), op, [p.name for p in inputs], {})[0]

    def _emit(self, short: str, op, inputs: list[str], call: dict) -> list[Proxy]:
        op.propagates_mask = False  # a Lambda's new tensors carry no mask (its compute_mask gives None)
        name = self._unique(f"{self.lambda_name}_{short}")
        self.graph.layers[name] = Layer(name, op, trainable=False, scope=self.scope)
        n_out = getattr(op, "num_outputs", lambda n: 1)(len(inputs))
        outs = [name if j == 0 else f"{name}:0:{j}" for j in range(n_out)]
        node = Node(name, list(inputs), outs, call)
        self.graph.nodes.append(node)
        self.emitted.append(node)
        self._infer_pending()
        return [Proxy(self, o) for o in outs]

    def _unique(self, base: str) -> str:
        name, k = base, 0
        while name in self.graph.layers or name in self.graph.tensors:
            k += 1
            name = f"{base}_{k}"
        return name

    # ---- the result -------------------------------------------------------------
    def finish(self, result, call_index: int) -> list[str]:
        """The Lambda call's output tensor names; its first output takes the Lambda's name."""
        from kport.importers.keras_config import tensor_name

        outs = list(result) if isinstance(result, (list, tuple)) else [result]
        if not outs or not all(isinstance(o, Proxy) for o in outs):
            raise UnsupportedLayerError("Lambda returns something other than tensors", path=self.path,
                                        layer=self.lambda_name, hint="return tensors computed from the inputs")
        names = [o.name for o in outs]
        mine = {n.outputs[0]: n for n in self.emitted}
        first = names[0]
        wanted = tensor_name(self.lambda_name, call_index, 0)
        layer_name = self.lambda_name if call_index == 0 else self._unique(f"{self.lambda_name}_call{call_index}")
        if first not in mine or names.count(first) > 1 or wanted in self.graph.tensors or \
                layer_name in self.graph.layers:
            # an input returned as it is, or a clash: an identity node carries the Lambda's name
            from kport.ops.identity import Identity

            if wanted in self.graph.tensors or layer_name in self.graph.layers:
                layer_name = self._unique(layer_name)
                wanted = layer_name
            identity = Identity()
            # tf.keras keeps the mask on a tensor a Lambda returns unchanged (it is already set on it)
            identity.propagates_mask = self.ctx.flavor in ("tf.keras", "keras3") and first not in mine
            self.graph.layers[layer_name] = Layer(layer_name, identity, trainable=False, scope=self.scope)
            self.graph.nodes.append(Node(layer_name, [first], [wanted], {}))
            self._infer_pending()
            return [wanted] + names[1:]
        node = mine[first]
        layer = self.graph.layers.pop(node.layer)
        layer.name = layer_name
        self.graph.layers[layer_name] = layer
        node.layer = layer_name
        spec = self.graph.tensors.pop(first)
        self.graph.tensors[wanted] = TensorSpec(wanted, spec.shape, spec.dtype)
        node.outputs[0] = wanted
        for other in self.emitted:
            other.inputs = [wanted if t == first else t for t in other.inputs]
        return [wanted if n == first else n for n in names]


def trace_call(builder, name: str, scope: tuple, xs: list[str], function, arguments: dict,
               call_index: int) -> list[str]:
    """Calls a loaded Lambda function on proxies of `xs` and returns the call's output tensors."""
    tracer = Tracer(builder, name, scope, builder.ctx)
    proxies = [tracer.proxy(x) for x in xs]
    inputs = proxies[0] if len(proxies) == 1 else proxies
    result = function(tracer, inputs, dict(arguments or {}))
    return tracer.finish(result, call_index)


def expand_call(builder, layer_cfg: dict, scope: tuple, xs: list[str], call: dict):
    """The builder hook for Lambda and function-mode Merge layers; None lets the builder go on."""
    from kport.importers import lambda_code

    class_name = layer_cfg.get("class_name")
    cfg = layer_cfg.get("config") or {}
    name = layer_cfg.get("name") or cfg.get("name")
    path = builder.source.path
    if class_name == "Merge":
        if cfg.get("mode_type") not in ("lambda", "function"):
            return None  # a built-in mode; an output_shape function is checked by the normalizer
        key, type_key = "mode", "mode_type"
    else:
        key, type_key = "function", "function_type"
    if not trusted():
        what = "Lambda layer" if class_name == "Lambda" else "Merge layer's mode"
        raise UnsafeContentError(f"{what} holds marshalled Python code; kport does not run code from model files "
                                 "unless asked", path=path, layer=name, hint=REFUSAL_HINT)
    # one line on stderr naming the file and layer (no source line of kport's own)
    warnings.warn_explicit(f"{path}: evaluating the Python code of layer '{name}' from the file (--trust-lambda); "
                           "only do this for files you trust", LambdaTrustWarning, filename="kport", lineno=0)
    ctx = dataclasses.replace(builder.ctx, layer=name)
    function = lambda_code.load(cfg.get(key), cfg.get(type_key), cfg.get("module"), ctx)
    count = builder._calls.get(name, 0)
    builder._calls[name] = count + 1
    try:
        return trace_call(builder, name, tuple(scope), xs, function, cfg.get("arguments") or {}, count)
    except KportError as err:
        raise err.with_context(path=path, layer=name)
    except (TypeError, ValueError, IndexError, ZeroDivisionError, AttributeError, NameError) as err:
        raise UnsupportedLayerError(f"tracing the Lambda failed: {type(err).__name__}: {err}", path=path,
                                    layer=name, hint="rewrite the Lambda with Keras layers") from None


__all__ = ["Proxy", "Tracer", "trusting", "trusted", "expand_call", "trace_call", "LambdaTrustWarning"]
