"""Keras-1-only layers as exact constructions of layers both Keras 3 and tf.keras have.

Each function takes (op, flavor, input shapes, IR weights) and returns the steps of
constructions.py: (kind, attributes, weights, inputs), where inputs name the layer's
input ("x") or an earlier step (its index); the last step gives the layer's output.
The IR weights are only read: every step gets new float32 arrays.

Per-position parameters (SReLU, ParametricSoftplus, Theano average pooling's divisor)
use a per-channel affine map x * a + b (DepthwiseConv1D, kernel size 1: one multiply and
one add per element) over the input reshaped to (batch, steps, M), M the positions
the parameters differ over. Keras 1 BatchNormalization modes 1/2 divide by statistics no
layer computes at inference (std + eps; the batch's own): they are TF operations, which
tf.keras records as TFOpLambda layers and Keras 3 as `keras.ops` operations.
"""
from __future__ import annotations

import numpy as np

from kport.errors import ExportError
from kport.ops.merge import KERAS1_EPSILON

X = "x"


class _Steps:
    """Collects construction steps; `add` returns the step's index for later inputs."""

    def __init__(self):
        self.steps: list[tuple] = []

    def add(self, kind: str, attrs: dict | None = None, weights: dict | None = None, inputs=None) -> int:
        if inputs is None:
            inputs = (len(self.steps) - 1,) if self.steps else (X,)
        weights = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in (weights or {}).items()}
        self.steps.append((kind, dict(attrs or {}), weights, tuple(inputs)))
        return len(self.steps) - 1

    def affine(self, source, scale: np.ndarray, bias: np.ndarray | None) -> int:
        """x * scale + bias per channel of a (batch, steps, M) tensor."""
        weights = {"depthwise_kernel": np.reshape(scale, (1, -1, 1))}
        if bias is not None:
            weights["bias"] = bias
        return self.add("DepthwiseConv1D", {"kernel_size": (1,), "use_bias": bias is not None}, weights, (source,))


def highway(op, flavor: str, shapes: list, w: dict) -> list:
    """y = t * act(x W + b) + (1 - t) * x, t = sigmoid(x W_carry + b_carry): two Dense, 1 - t by Rescaling."""
    n = shapes[0][-1]
    b = _Steps()
    dense = {"units": n, "use_bias": op.use_bias}
    h = b.add("Dense", {**dense, "activation": op.activation},
              {"kernel": w["kernel"], **({"bias": w["bias"]} if op.use_bias else {})}, (X,))
    t = b.add("Dense", {**dense, "activation": "sigmoid"},
              {"kernel": w["carry_kernel"], **({"bias": w["carry_bias"]} if op.use_bias else {})}, (X,))
    ht = b.add("Multiply", inputs=(h, t))
    carry = b.add("Rescaling", {"scale": -1.0, "offset": 1.0}, inputs=(t,))  # -t + 1 rounds as 1 - t
    cx = b.add("Multiply", inputs=(carry, X))
    b.add("Add", inputs=(ht, cx))
    return b.steps


def maxout_dense(op, flavor: str, shapes: list, w: dict) -> list:
    """max over pieces of x W_k + b_k: one Dense with the pieces side by side, Reshape, GlobalMaxPooling1D."""
    kernel = w["kernel"]
    f, n_in, units = kernel.shape
    b = _Steps()
    weights = {"kernel": np.transpose(kernel, (1, 0, 2)).reshape(n_in, f * units)}
    if op.use_bias:
        weights["bias"] = np.reshape(w["bias"], (f * units,))
    b.add("Dense", {"units": f * units, "use_bias": op.use_bias}, weights)
    b.add("Reshape", {"target_shape": (f, units)})
    b.add("GlobalMaxPooling1D")
    return b.steps


def _positions(in_shape: tuple, param: np.ndarray, kind: str) -> int:
    """The first axis k of the (batch, steps, M) view: axes before it shared, axes from it of known size."""
    dims = in_shape[1:]
    for k in range(len(dims) + 1):
        lead, rest = dims[:k], dims[k:]
        if all(p == 1 for p in np.shape(param)[:k]) and None not in rest and sum(d is None for d in lead) <= 1:
            return k
    raise ExportError(f"{kind} over input {tuple(in_shape)} has no Keras construction: its parameters vary "
                      "along an axis of unknown size", hint="give the model a fixed input size")


def _flat(param: np.ndarray, in_shape: tuple, k: int) -> np.ndarray:
    dims = in_shape[1:]
    return np.broadcast_to(np.asarray(param, np.float32)[(0,) * k], dims[k:]).reshape(-1)


def _per_position(in_shape: tuple, params: dict, kind: str, body, b: _Steps | None = None, source=X) -> list:
    """Reshape `source` to (batch, steps, M), `body(steps, flat input, flat params)`, Reshape back."""
    k = _positions(in_shape, next(iter(params.values())), kind)
    m = int(np.prod(in_shape[1 + k:], dtype=np.int64))
    b = b or _Steps()
    flat = b.add("Reshape", {"target_shape": (-1, m)}, inputs=(source,))
    body(b, flat, {name: _flat(p, in_shape, k) for name, p in params.items()})
    b.add("Reshape", {"target_shape": tuple(-1 if d is None else d for d in in_shape[1:])})
    return b.steps


def srelu(op, flavor: str, shapes: list, w: dict) -> list:
    """t_l + min(leaky(x - t_l, a_l), t_r - t_l) + a_r relu(x - t_r), t_r = t_l + |t_right|.

    leaky is PReLU (a * v exactly where v < 0); the bound t_r - t_l is made a tensor as
    x * 0 + bound so a Minimum layer can take it.
    """
    t_left = np.asarray(w["t_left"], np.float32)
    t_right = (t_left + np.abs(np.asarray(w["t_right"], np.float32))).astype(np.float32)
    params = {"t_left": t_left, "a_left": w["a_left"], "t_right": t_right, "width": t_right - t_left,
              "a_right": w["a_right"]}

    def body(b: _Steps, x: int, p: dict) -> None:
        ones = np.ones_like(p["t_left"])
        v = b.affine(x, ones, -p["t_left"])
        leaky = b.add("PReLU", {"shared_axes": (1,)}, {"alpha": p["a_left"].reshape(1, -1)}, (v,))
        bound = b.affine(x, np.zeros_like(ones), p["width"])
        low = b.add("Minimum", inputs=(leaky, bound))
        left = b.affine(low, ones, p["t_left"])
        over = b.add("ReLU", inputs=(b.affine(x, ones, -p["t_right"]),))
        right = b.affine(over, p["a_right"], None)
        b.add("Add", inputs=(left, right))

    return _per_position(shapes[0], params, "SReLU", body)


def parametric_softplus(op, flavor: str, shapes: list, w: dict) -> list:
    """alphas * softplus(betas * x): per-position scale, Activation('softplus'), per-position scale."""
    def body(b: _Steps, x: int, p: dict) -> None:
        scaled = b.affine(x, p["betas"], None)
        b.add("Activation", {"activation": "softplus"}, inputs=(scaled,))
        b.affine(len(b.steps) - 1, p["alphas"], None)

    return _per_position(shapes[0], {"alphas": w["alphas"], "betas": w["betas"]}, "ParametricSoftplus", body)


def theano_pooling(op, flavor: str, shapes: list, w: dict) -> list:
    """Theano 'same' pooling (pads ignored, first ceil(n/s) windows) with built-in 'valid' pooling.

    Worked channels_last. Negative end pads crop first. Max: each pad repeats the edge
    row (Cropping + UpSampling + Concatenate); every window holds a real value, which
    an edge copy never beats. Average: zero pads, then each output is scaled by
    k / (real values in its window), a per-position constant.
    """
    in_shape = shapes[0]
    r = len(op.pool_size)
    cf = op.data_format == "channels_first"
    spatial = list(in_shape[2:] if cf else in_shape[1:-1])
    channels = in_shape[1] if cf else in_shape[-1]
    if any(n is None for n in spatial) or channels is None:
        raise ExportError("Theano 'same' pooling needs known spatial sizes and channels to place its windows",
                          hint="give the model a fixed input size")
    ends = op._end_pads(spatial)
    outs = [-(-n // s) for n, s in zip(spatial, op.strides)]
    b = _Steps()
    if cf:
        b.add("Permute", {"dims": (*range(2, r + 2), 1)})
    if any(e < 0 for e in ends):
        b.add(f"Cropping{r}D", {"cropping": tuple((0, -min(e, 0)) for e in ends)})
        spatial = [n + min(e, 0) for n, e in zip(spatial, ends)]
    pads = [(p, max(e, 0)) for p, e in zip(op.pads, ends)]
    pool = {"pool_size": op.pool_size, "strides": op.strides, "padding": "valid"}
    if op.mode == "max":
        for d, (before, after) in enumerate(pads):
            _repeat_edges(b, r, d, spatial[d], before, after)
        b.add(f"MaxPooling{r}D", pool)
    else:
        if any(before or after for before, after in pads):
            b.add(f"ZeroPadding{r}D", {"padding": tuple(pads)})
        b.add(f"AveragePooling{r}D", pool)
        scale = _average_scale(op, spatial, outs)
        if np.any(scale != 1):
            b.add("Reshape", {"target_shape": (1, -1)})
            b.affine(len(b.steps) - 1, np.repeat(scale.reshape(-1), channels), None)
            b.add("Reshape", {"target_shape": (*outs, channels)})
    if cf:
        b.add("Permute", {"dims": (r + 1, *range(1, r + 1))})
    return b.steps


def _repeat_edges(b: _Steps, r: int, d: int, n: int, before: int, after: int) -> None:
    """Pads spatial axis d with `before` copies of its first row and `after` copies of its last."""
    if not before and not after:
        return
    source = len(b.steps) - 1 if b.steps else X
    parts = []
    for count, crop in ((before, (0, n - 1)), (after, (n - 1, 0))):
        if count:
            cropping = tuple(crop if i == d else (0, 0) for i in range(r))
            edge = b.add(f"Cropping{r}D", {"cropping": cropping}, inputs=(source,))
            if count > 1:
                edge = b.add(f"UpSampling{r}D", {"size": tuple(count if i == d else 1 for i in range(r))})
            parts.append(edge)
        if crop == (0, n - 1):
            parts.append(source)
    b.add("Concatenate", {"axis": d + 1}, inputs=tuple(parts))


def _average_scale(op, spatial: list[int], outs: list[int]) -> np.ndarray:
    """k / (real values in each output window) over the output positions; `spatial`: sizes after cropping."""
    scale = np.ones((), np.float64)
    for n, k, s, p, n_out in zip(spatial, op.pool_size, op.strides, op.pads, outs):
        starts = np.arange(n_out) * s - p
        real = np.minimum(starts + k, n) - np.maximum(starts, 0)
        scale = np.multiply.outer(scale, k / real)
    return scale.astype(np.float32)


def keras1_batch_normalization(op, flavor: str, shapes: list, w: dict) -> list:
    """Keras 1 BatchNormalization mode 1 / 2 with the statistics of the data itself, as TF operations.

    mode 1: over the last axis of each sample, (x - m) / (sqrt(var + eps) + eps); mode 2: over
    every axis but `axis`, batch included, (x - m) / sqrt(var + eps). No layer divides by a
    computed std + eps or reduces over the batch at inference, so the statistics are
    reduce_mean / subtract / sqrt / truediv operations (tf.keras TFOpLambda, Keras 3 ops);
    gamma and beta are a per-position affine map.
    """
    shape = shapes[0]
    rank = len(shape)
    axis = op.axis % rank
    axes = (rank - 1,) if op.mode == 1 else tuple(a for a in range(rank) if a != axis)
    mean = {"function": "math.reduce_mean", "axis": axes if len(axes) > 1 else axes[0], "keepdims": True}
    b = _Steps()
    m = b.add("TFReduce", mean, inputs=(X,))
    d = b.add("TFBinary", {"function": "math.subtract"}, inputs=(X, m))
    var = b.add("TFReduce", mean, inputs=(b.add("TFBinary", {"function": "math.multiply"}, inputs=(d, d)),))
    shifted = b.add("TFBinary", {"function": "math.add", "y": float(op.epsilon)}, inputs=(var,))
    std = b.add("TFUnary", {"function": "math.sqrt"}, inputs=(shifted,))
    if op.mode == 1:
        std = b.add("TFBinary", {"function": "math.add", "y": float(op.epsilon)}, inputs=(std,))
    normed = b.add("TFBinary", {"function": "math.truediv"}, inputs=(d, std))
    along = [shape[axis] if a == axis else 1 for a in range(1, rank)]
    params = {name: np.reshape(w[name], along) for name in ("gamma", "beta")}

    def body(b: _Steps, x: int, p: dict) -> None:
        b.affine(x, p["gamma"], p["beta"])

    return _per_position(shape, params, "BatchNormalization", body, b, normed)


def merge_cos(op, flavor: str, shapes: list, w: dict) -> list | None:
    """Keras 1 cos of two (batch, n): <a,b> / max(sqrt(<a,a><b,b>), 1e-7), shaped (batch, 1, 1) as Theano gave it.

    Dot(normalize=True) floors each norm on its own, elsewhere than Keras 1, so the formula is
    spelled as Keras 1 computed it: three Dot layers, then multiply / sqrt / maximum / truediv
    TF operations. Other modes and input ranks: None (modes have layers; other ranks a refusal).
    """
    if op.mode != "cos" or any(len(shape) != 2 for shape in shapes):
        return None
    b = _Steps()
    dot = {"axes": (1, 1)}
    num = b.add("Dot", dot, inputs=(X, "x1"))
    aa = b.add("Dot", dot, inputs=(X, X))
    bb = b.add("Dot", dot, inputs=("x1", "x1"))
    norms = b.add("TFUnary", {"function": "math.sqrt"}, inputs=(b.add("TFBinary", {"function": "math.multiply"},
                                                                     inputs=(aa, bb)),))
    floor = b.add("TFBinary", {"function": "math.maximum", "y": KERAS1_EPSILON}, inputs=(norms,))
    b.add("TFBinary", {"function": "math.truediv"}, inputs=(num, floor))
    b.add("Reshape", {"target_shape": (1, 1)})
    return b.steps


LEGACY = {"Highway": highway, "MaxoutDense": maxout_dense, "SReLU": srelu,
          "ParametricSoftplus": parametric_softplus, "TheanoPooling": theano_pooling, "Merge": merge_cos,
          "Keras1BatchNormalization": keras1_batch_normalization}


def legacy_construction(op):
    """The construction function of a Keras-1-only op (called as f(flavor, shapes, weights)), or None."""
    build = LEGACY.get(op.kind)
    if build is None:
        return None
    return lambda flavor, shapes, weights: build(op, flavor, shapes, weights)
