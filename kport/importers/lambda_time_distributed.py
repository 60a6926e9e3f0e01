"""Trusted `TimeDistributed(Lambda(f))` -> reshape, the traced ops of `f`, reshape back.

Keras applies a wrapped Lambda to its input folded to `(batch*time, ...)` and unfolds the
result to `(batch, time, ...)`. kport emits exactly that with existing op kinds: a tf
`reshape` to `[-1, *step_shape]`, the Lambda's function traced on that tensor (as
lambda_trace does for a plain Lambda), and a `reshape` to `[-1, time, *out_step_shape]`
per output, so every runtime and writer handles the result. Other wrappers around a
Lambda (Bidirectional needs an RNN) stay refused by the config normalizer.
"""
from __future__ import annotations

import dataclasses
import warnings

from kport.errors import KportError, UnsafeContentError, UnsupportedLayerError


def _known(shape, path: str, name: str, what: str) -> list[int]:
    """`shape[2:]` (`shape[1:]` for outputs) as ints; an unknown size cannot be folded with constants."""
    if any(d is None for d in shape):
        raise UnsupportedLayerError(f"TimeDistributed(Lambda) {what} has an unknown size {tuple(shape)}; kport "
                                    "folds time into the batch with constant shapes", path=path, layer=name,
                                    hint="give the model input a fixed number of time steps and step shape")
    return [int(d) for d in shape]


def _trace(builder, name: str, scope: tuple, x: str, function, arguments: dict, call_index: int) -> list[str]:
    """Emits reshape -> traced function -> reshape for one call; returns its output tensor names."""
    from kport.importers.lambda_trace import Proxy, Tracer

    tracer = Tracer(builder, name, scope, builder.ctx)
    path = builder.source.path
    proxy = tracer.proxy(x)
    shape = proxy.shape
    if len(shape) < 3:
        raise UnsupportedLayerError(f"TimeDistributed needs an input with a time axis, got shape {tuple(shape)}",
                                    path=path, layer=name)
    steps, *step_shape = _known(shape[1:], path, name, "input")
    flat = tracer.call("reshape", proxy, shape=[-1] + step_shape)
    result = function(tracer, flat, dict(arguments or {}))
    outs = list(result) if isinstance(result, (list, tuple)) else [result]
    if not outs or not all(isinstance(o, Proxy) for o in outs):
        raise UnsupportedLayerError("Lambda returns something other than tensors", path=path, layer=name,
                                    hint="return tensors computed from the inputs")
    unfolded = [tracer.call("reshape", o, shape=[-1, steps] + _known(o.shape[1:], path, name, "output"))
                for o in outs]
    return tracer.finish(unfolded if isinstance(result, (list, tuple)) else unfolded[0], call_index)


def expand_time_distributed(builder, layer_cfg: dict, scope: tuple, xs: list[str], call: dict):
    """The builder hook for TimeDistributed: traces a wrapped Lambda; None for any other inner layer."""
    from kport.importers import lambda_code
    from kport.importers.lambda_trace import REFUSAL_HINT, LambdaTrustWarning, trusted

    cfg = layer_cfg.get("config") or {}
    inner = cfg.get("layer")
    if not isinstance(inner, dict) or inner.get("class_name") != "Lambda":
        return None
    name = layer_cfg.get("name") or cfg.get("name")
    path = builder.source.path
    if not trusted():
        raise UnsafeContentError("TimeDistributed wraps a Lambda layer, which holds marshalled Python code; kport "
                                 "does not run code from model files unless asked", path=path, layer=name,
                                 hint=REFUSAL_HINT)
    if len(xs) != 1:
        raise UnsupportedLayerError(f"TimeDistributed(Lambda) called on {len(xs)} tensors; Keras takes one",
                                    path=path, layer=name)
    warnings.warn_explicit(f"{path}: evaluating the Python code of layer '{name}' (a Lambda in TimeDistributed) "
                           "from the file (--trust-lambda); only do this for files you trust", LambdaTrustWarning,
                           filename="kport", lineno=0)
    inner_cfg = inner.get("config") or {}
    ctx = dataclasses.replace(builder.ctx, layer=name)
    function = lambda_code.load(inner_cfg.get("function"), inner_cfg.get("function_type"),
                                inner_cfg.get("module"), ctx)
    count = builder._calls.get(name, 0)
    builder._calls[name] = count + 1
    try:
        return _trace(builder, name, tuple(scope), xs[0], function, inner_cfg.get("arguments") or {}, count)
    except KportError as err:
        raise err.with_context(path=path, layer=name)
    except (TypeError, ValueError, IndexError, ZeroDivisionError, AttributeError, NameError) as err:
        raise UnsupportedLayerError(f"tracing the Lambda in TimeDistributed failed: {type(err).__name__}: {err}",
                                    path=path, layer=name, hint="rewrite the Lambda with Keras layers") from None


__all__ = ["expand_time_distributed"]
