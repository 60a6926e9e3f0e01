"""Keras 0.x/1.x and Theano weight layouts -> the canonical Keras 2 / TF layout (WEIGHT_NORMALIZERS).

Keras 1 kernel layouts (`th` `(out, in, h, w)`, Conv1D `(len, 1, in, out)`), the Theano kernel
flip (Theano convolves, everything else cross-correlates), BatchNormalization `running_std` of
Keras 1.0.0-1.0.5, Keras 1 LSTM/GRU/ConvLSTM2D per-gate arrays, through Bidirectional and
TimeDistributed; Keras 0.x `nb_layers` weights files; nested-model groups named by Keras 1 names.
"""
from __future__ import annotations

from typing import Any

import numpy as np

# kernels Theano applied as true convolutions; Keras 2's Theano backend pre-flipped depthwise kernels
# itself (so Depthwise/SeparableConv already cross-correlate), and Keras 1 separable convs were TF-only
FLIPPED_KINDS = {"Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose", "ConvLSTM2D"}

# (file, layer) of BatchNormalization configs in the Keras <= 1.0.8 spelling (no gamma_regularizer)
_EARLY_BATCHNORMS: set[tuple[str | None, str | None]] = set()


def saved_by_theano(source, items: list[tuple[str, np.ndarray]]) -> bool:
    """Whether the saving backend convolved (Theano), from the file's attribute or its weight names.

    Keras 1 files carry no `backend`; TensorFlow variable names end in `:0`, Theano's do not.
    """
    if source.backend:
        return source.backend == "theano"
    if source.keras_major > 1 or not items:
        return False
    return not any(name.endswith(":0") for name, _ in items)


def convert_weights(graph, layer, items: list[tuple[str, Any]], in_shapes) -> list[tuple[str, Any]]:
    """Converts one layer's saved arrays from its era's layout to the canonical Keras 2 / TF layout.

    Args:
        graph: the IR (its `source` says which Keras and backend wrote the file).
        layer: the IR layer (its op has Keras 2 attributes already).
        items: `(saved name, array)` in file order.
        in_shapes: the layer's input shapes.

    Returns:
        The items in canonical layout (names kept where the array maps one to one).
    """
    if not items:
        return items
    return _convert(layer.op, items, graph.source, saved_by_theano(graph.source, items), layer.name.split("/")[-1])


def _convert(op, items, source, theano: bool, layer_name: str | None = None):
    # wrappers hold their inner layers' weights: Bidirectional forward then backward halves
    if op.kind == "Bidirectional" and getattr(op, "forward", None) is not None:
        half = len(items) // 2
        return (_convert(op.forward, items[:half], source, theano)
                + _convert(op.backward, items[half:], source, theano))
    if op.kind == "TimeDistributed" and getattr(op, "layer", None) is not None:
        return _convert(op.layer, items, source, theano)
    if source.keras_major <= 1:  # Keras 0.x and 1.x
        items = _keras1_layout(op.kind, op, items, source, layer_name)
    if op.kind in FLIPPED_KINDS and theano:
        items = _flip_kernels(op.kind, items)
    return items


def _keras1_layout(kind: str, op, items, source, layer_name: str | None = None):
    arrays = [np.asarray(a) for _, a in items]
    names = [n for n, _ in items]
    first_cf = getattr(op, "data_format", "channels_last") == "channels_first"
    if kind == "Conv1D":
        w = arrays[0]
        ksize = tuple(getattr(op, "kernel_size", (w.shape[0],)))
        if w.ndim == 4 and not (w.shape[1] == 1 and w.shape[0] == ksize[0]):
            w = np.transpose(w, (2, 3, 1, 0))  # Keras 1.0: (filters, in, length, 1)
        if w.ndim == 4:
            w = w[:, 0, :, :]
        arrays[0] = w
    elif kind in ("Conv2D", "Conv3D") and first_cf:
        w = arrays[0]
        arrays[0] = np.transpose(w, tuple(range(2, w.ndim)) + (1, 0))
    elif kind == "Conv2DTranspose":
        arrays[0] = np.transpose(arrays[0], (2, 3, 0, 1) if first_cf else (0, 1, 3, 2))
    elif kind == "SeparableConv2D" and first_cf:
        arrays[0] = np.transpose(arrays[0], (2, 3, 1, 0))  # (mult, in, h, w) -> (h, w, in, mult)
        arrays[1] = np.transpose(arrays[1], (2, 3, 1, 0))  # (out, in*mult, 1, 1) -> (1, 1, in*mult, out)
    elif kind == "BatchNormalization" and len(arrays) == 4 and _std_meaning(
            source.keras_version, (source.path, layer_name) in _EARLY_BATCHNORMS):
        eps = float(getattr(op, "epsilon", 1e-6))
        std = arrays[3].astype(np.float64)
        arrays[3] = ((std + eps) ** 2 - eps).astype(arrays[3].dtype)  # (x-m)/(std+eps) == (x-m)/sqrt(v+eps)
        names[3] = names[3].replace("running_std", "moving_variance")
    elif kind == "ConvLSTM2D" and len(arrays) == 12:
        # per gate i, c, f, o: W (input kernel), U (recurrent kernel), b; `th` kernels (filters, in, rows, cols)
        def hwio(w):
            return np.transpose(w, (2, 3, 1, 0)) if first_cf else w

        i, c, f, o = (arrays[k:k + 3] for k in range(0, 12, 3))
        prefix = _prefix(names[0])
        return [(f"{prefix}kernel", np.concatenate([hwio(g[0]) for g in (i, f, c, o)], axis=-1)),
                (f"{prefix}recurrent_kernel", np.concatenate([hwio(g[1]) for g in (i, f, c, o)], axis=-1)),
                (f"{prefix}bias", np.concatenate([i[2], f[2], c[2], o[2]], axis=-1))]
    elif kind == "LSTM" and len(arrays) == 12:
        i, c, f, o = (arrays[k:k + 3] for k in range(0, 12, 3))  # Keras 1: (W, U, b) per gate i, c, f, o
        return [(f"{_prefix(names[0])}kernel", np.concatenate([i[0], f[0], c[0], o[0]], axis=-1)),
                (f"{_prefix(names[0])}recurrent_kernel", np.concatenate([i[1], f[1], c[1], o[1]], axis=-1)),
                (f"{_prefix(names[0])}bias", np.concatenate([i[2], f[2], c[2], o[2]], axis=-1))]
    elif kind == "GRU" and len(arrays) == 9:
        z, r, h = (arrays[k:k + 3] for k in range(0, 9, 3))
        return [(f"{_prefix(names[0])}kernel", np.concatenate([z[0], r[0], h[0]], axis=-1)),
                (f"{_prefix(names[0])}recurrent_kernel", np.concatenate([z[1], r[1], h[1]], axis=-1)),
                (f"{_prefix(names[0])}bias", np.concatenate([z[2], r[2], h[2]], axis=-1))]
    return list(zip(names, arrays))


def _prefix(name: str) -> str:
    return name.rsplit("/", 1)[0] + "/" if "/" in name else ""


def _std_meaning(version: str | None, early_config: bool) -> bool:
    """Whether `running_std` holds a standard deviation: Keras 1.0.0-1.0.5 only.

    Keras 1.0.6 switched to the variance; 1.0.7 was the first to save whole models
    with a `keras_version`, so a versioned file never has the old meaning. A file
    without a version (JSON + save_weights) whose BatchNormalization config lacks
    `gamma_regularizer` (added in 1.1) comes from 1.0.x: read as 1.0.0-1.0.5, the
    releases most such files came from.
    """
    parts = str(version or "").split(".")
    if len(parts) >= 3 and parts[:2] == ["1", "0"]:
        return parts[2].isdigit() and int(parts[2]) <= 5
    return len(parts) < 2 and early_config


def _flip_kernels(kind: str, items):
    """Reverses every spatial axis of the kernels (all axes but the last two): Theano convolved."""
    out = []
    for k, (name, arr) in enumerate(items):
        arr = np.asarray(arr)
        spatial = arr.ndim - 2
        # ConvLSTM2D's recurrent kernel is a Theano convolution too
        if (k == 0 or (k == 1 and kind == "ConvLSTM2D")) and spatial >= 1:
            arr = np.ascontiguousarray(arr[tuple([slice(None, None, -1)] * spatial)])
        out.append((name, arr))
    return out


def split_by_layer_prefix(items, layers, per_layer: dict) -> bool:
    """Shares a Keras 1 weight group out by name prefix (`dense_1_W` belongs to layer `dense_1`).

    Keras 1 saved a nested model's weights under the nested model's name, whose
    config (a bare list) did not record it. Adds to `per_layer` only when every
    weight finds its layer; returns whether it did.
    """
    owners = []
    for wname, _ in items:
        base = wname.split("/")[-1].split(":")[0]
        owner = max((n for n in layers if base.startswith(n.split("/")[-1] + "_")), key=len, default=None)
        if owner is None:
            return False
        owners.append(owner)
    for owner, item in zip(owners, items):
        per_layer.setdefault(owner, []).append(item)
    return True


# ---- Keras 0.x weights files ---------------------------------------------------------------
def read_keras0_weights(group, graph) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Reads a Keras 0.x weights file (`nb_layers`, `layer_{k}/param_{p}`) onto the graph's layers.

    Keras 0.x numbered every layer of the Sequential, weighted or not, in model order.
    """
    n_layers = int(group.attrs["nb_layers"])
    names = list(graph.layers)
    if n_layers != len(names):
        from kport.errors import WeightError

        raise WeightError(f"the Keras 0.x weights file has {n_layers} layers, the model {len(names)}",
                          path=graph.source.path, hint="the architecture and the weights come from different models")
    result = {}
    for k, lname in enumerate(names):
        g = group[f"layer_{k}"]
        result[lname] = [(f"{lname}/param_{p}", g[f"param_{p}"][()]) for p in range(int(g.attrs["nb_params"]))]
    return result


