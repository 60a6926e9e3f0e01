"""Stateful recurrent layers (`stateful=True` SimpleRNN / LSTM / GRU), as Keras runs them.

The final states of one batch are the initial states of the next, sample `i` to
sample `i`: so the batch size is fixed (the model's `batch_input_shape` /
`batch_size`, else the first batch's). The states are carried in fit, evaluate,
predict and the *_on_batch calls alike, detached from the previous batch's graph
(truncated back-propagation, as Keras), until `reset_states()` zeroes them.

The layer runs the same recurrent op with `return_state` on and the carried
states as its initial-state inputs; the caller sees the outputs it asked for.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import warnings

# kport's importers warn that they run stateful layers stateless; the engine carries these kinds' states itself
_IMPORT_NOTICE = ".*': (SimpleRNN|LSTM|GRU|CuDNNLSTM|CuDNNGRU) was stateful=True.*"


@contextlib.contextmanager
def engine_runs_states():
    """Silences the importers' stateless-run notice while the engine builds layers it will run statefully."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_IMPORT_NOTICE)
        yield


def is_stateful(op) -> bool:
    """Whether the engine carries this op's states across calls (a stateful SimpleRNN/LSTM/GRU)."""
    return bool(getattr(op, "stateful", False)) and isinstance(op, _recurrent_base())


@functools.lru_cache(maxsize=1)
def _recurrent_base() -> type:
    from kport.ops.rnn_common import RecurrentOp

    return RecurrentOp


def carrying_op(op):
    """The op the engine compiles for a stateful layer: the final states become outputs."""
    return dataclasses.replace(op, return_state=True)


def run(layer, xs: list, call: dict, compiled):
    """One call of a stateful layer: the carried states go in, the new states are kept.

    Args:
        layer: the OpLayer (holds `_states` and `_stateful_batch`).
        xs: the node's torch inputs (sequence first, mask last when given).
        call: the call record ('tensor:mask' positions).
        compiled: `compiled(inputs, call)` -> the layer's torch module for the carrying op.

    Raises:
        ValueError: the batch size differs from the layer's fixed batch size.
    """
    import torch

    op = layer.op
    batch = int(xs[0].shape[1] if op.time_major else xs[0].shape[0])
    fixed = layer._stateful_batch
    if fixed is not None and batch != fixed:
        raise ValueError(f"stateful layer '{layer.name}' has a fixed batch size of {fixed} (its batch_input_shape), "
                         f"got a batch of {batch}: feed batches of exactly {fixed} samples (batch_size={fixed} in "
                         "fit/evaluate/predict, a sample count that is a multiple of it)")
    layer._stateful_batch = batch
    states = layer._states
    if states is None:
        states = [torch.zeros((batch, op.units), dtype=xs[0].dtype, device=xs[0].device) for _ in range(op.n_states)]
    call = dict(call)
    call["tensor:initial_state"] = list(range(len(xs), len(xs) + op.n_states))
    module = compiled(xs + list(states), call)
    outs = module(*(xs + list(states)))
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    layer._states = [s.detach() for s in outs[-op.n_states:]]
    return outs if op.return_state else outs[0]


def fixed_batch(model) -> int | None:
    """The batch size a model's stateful layers are fixed to (None: no stateful layer knows one)."""
    for layer in model.all_layers():  # nested models come expanded
        if getattr(layer, "stateful", False) and getattr(layer, "_stateful_batch", None) is not None:
            return layer._stateful_batch
    return None


def restore_fixed_batch(model, path: str) -> None:
    """Gives a loaded model's stateful layers the batch size the file's config fixed.

    kport's IR keeps the batch axis symbolic, so the size is read back from the file's own
    `batch_input_shape` / `batch_shape` (Keras needs it to load a stateful model again).
    """
    layers = [layer for layer in model.all_layers() if getattr(layer, "stateful", False)]
    if not layers:
        return
    batch = _batch_in_config(_stored_model_config(path))
    for layer in layers:
        if layer._stateful_batch is None:
            layer._stateful_batch = batch


def _stored_model_config(path: str):
    import json
    import zipfile

    import h5py

    try:
        if h5py.is_hdf5(path):
            with h5py.File(path, "r") as f:
                raw = f.attrs.get("model_config")
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                raw = z.read("config.json") if "config.json" in z.namelist() else None
        else:
            with open(path, "rb") as f:
                raw = f.read()
        return None if raw is None else json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (OSError, ValueError, KeyError):
        return None


def _batch_in_config(config) -> int | None:
    """The first integer batch size of any `batch_input_shape` / `batch_shape` in a Keras config."""
    if isinstance(config, dict):
        for key in ("batch_input_shape", "batch_shape"):
            shape = config.get(key)
            if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], int):
                return shape[0]
        values = config.values()
    elif isinstance(config, list):
        values = config
    else:
        return None
    for value in values:
        found = _batch_in_config(value)
        if found is not None:
            return found
    return None


def reset(layer, states=None) -> None:
    """Zeroes a stateful layer's states, or sets them to `states` (numpy arrays, one per layer state).

    Raises:
        AttributeError: the layer is not stateful (as Keras).
        ValueError: the wrong number or shape of states.
    """
    if not is_stateful(layer.op):
        raise AttributeError(f"layer '{layer.name}' is not stateful: reset_states needs stateful=True")
    if states is None:
        layer._states = None
        return
    import numpy as np

    from kport.keras.engine import devices

    values = list(states) if isinstance(states, (list, tuple)) else [states]
    n = layer.op.n_states
    batch = layer._stateful_batch
    if len(values) != n:
        raise ValueError(f"layer '{layer.name}' has {n} state(s), reset_states got {len(values)}")
    import torch

    out = []
    for value in values:
        value = np.asarray(value, dtype=np.float32)
        if value.ndim != 2 or value.shape[1] != layer.op.units or (batch is not None and value.shape[0] != batch):
            raise ValueError(f"layer '{layer.name}': a state has shape ({batch}, {layer.op.units}), "
                             f"reset_states got {value.shape}")
        out.append(torch.from_numpy(value.copy()).to(devices.of(layer)))
    layer._stateful_batch = out[0].shape[0]
    layer._states = out
