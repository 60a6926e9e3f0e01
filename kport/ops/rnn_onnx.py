"""ONNX emission for SimpleRNN, LSTM and GRU.

Two forms:
- native: the ONNX RNN / LSTM / GRU operator (Keras batch-major input is
  transposed to ONNX's seq-major; `go_backwards` reverses the input and runs
  forward, which gives Keras's reversed output order for free). Used when
  every activation is one the ONNX operators accept; the time axis may stay
  dynamic. A mask of any pattern is handled by moving each row's unmasked
  steps to the front and using `sequence_lens` (see `_emit_native_masked`).
- unrolled: one small subgraph per time step, for activations the ONNX
  operators lack (and time-major masked layers). Needs a static time axis.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from kport.errors import ExportError
from kport.ops import activation_fns
from kport.ops.rnn_common import INT64_MIN, ONNX_RNN_ACTIVATIONS, onnx_activation, split_inputs


def emit(op, g, xs, w, node) -> list[str]:
    """Emits one recurrent-layer call; returns [output, *final states]."""
    roles = split_inputs(xs, node.call, op.n_states, op.kind)
    x_shape = node.in_shapes[0]
    steps = x_shape[0] if op.time_major else x_shape[1]
    native = all(a in ONNX_RNN_ACTIVATIONS for a in op.onnx_activation_names())
    if native and roles.mask is None:
        return _emit_native(op, g, roles, w, node)
    if native and not op.time_major:
        return _emit_native_masked(op, g, roles, w, node)
    if steps is None:
        why = "a time-major mask" if native else f"activations {op.onnx_activation_names()}"
        raise ExportError(f"{op.kind} with {why} needs a fixed sequence length to export to ONNX",
                          hint="give the model input a fixed time dimension (e.g. Input(shape=(T, features)))")
    return _emit_unrolled(op, g, roles, w, node, int(steps))


# ---- native operator ----------------------------------------------------------
def _emit_native(op, g, roles, w, node) -> list[str]:
    x = roles.x if op.time_major else g.op("Transpose", [roles.x], perm=[1, 0, 2])
    if op.go_backwards:
        x = reverse_time(g, x, axis=0)
    y, final = _native_call(op, g, x, roles.states, w, node)
    if op.return_sequences:
        y = g.op("Squeeze", [y, g.ints([1])])
        if not op.time_major:
            y = g.op("Transpose", [y], perm=[1, 0, 2])
    else:
        y = final[0]
    return [y] + (final if op.return_state else [])


def _native_call(op, g, x_seq: str, states: list, w, node, lens: str = "") -> tuple[str, list[str]]:
    """Runs the ONNX RNN/LSTM/GRU operator on a seq-major input; returns (Y, squeezed final states)."""
    op_type, wi, ri, bias, extra = op.onnx_weights(w)
    inputs = [x_seq, g.const(wi[None], f"{node.layer}/W"), g.const(ri[None], f"{node.layer}/R"),
              g.const(bias[None], f"{node.layer}/B") if bias is not None else "", lens]
    for s in states:
        inputs.append(g.op("Unsqueeze", [s, g.ints([0])]))
    while inputs and inputs[-1] == "":
        inputs.pop()
    names, alphas, betas = [], [], []
    for a in op.onnx_activation_names():
        name, alpha, beta = onnx_activation(a)
        names.append(name)
        if alpha is not None:
            alphas.append(float(alpha))
        if beta is not None:
            betas.append(float(beta))
    n_out = 1 + op.n_states
    outs = g.op(op_type, inputs, n_out=n_out, hidden_size=int(op.units), activations=names,
                activation_alpha=alphas or None, activation_beta=betas or None, **extra)
    return outs[0], [g.op("Squeeze", [s, g.ints([0])]) for s in outs[1:]]


def _emit_native_masked(op, g, roles, w, node) -> list[str]:
    """A masked layer on the native operator, any mask, dynamic time axis.

    Masked steps hold every state, so Keras's result equals running the operator on each
    row's unmasked steps moved to the front (`sequence_lens` = their count): the output
    at step t is the compacted output at index cumsum(mask)[t] - 1 (the last unmasked
    step so far; zero before the first), and the final states are the operator's (the
    initial states for a row with no unmasked step).
    """
    x, mask = roles.x, g.op("Cast", [roles.mask], to=9)
    if op.go_backwards:  # Keras reverses the input and the mask, then runs forward
        x, mask = reverse_time(g, x, axis=1), reverse_time(g, mask, axis=1)
    m = g.op("Cast", [mask], to=7)  # int64 (B, T)
    shape = g.op("Shape", [x])
    steps = g.op("Slice", [shape, g.ints([1]), g.ints([2])])
    t = g.op("Range", [g.const(np.array(0, np.int64)), g.op("Squeeze", [steps, g.ints([0])]),
                       g.const(np.array(1, np.int64))])
    # unmasked steps keep their index, masked ones sort after every unmasked one
    key = g.op("Add", [t, g.op("Mul", [g.op("Sub", [g.const(np.array(1, np.int64)), m]), steps])])
    _, order = g.op("TopK", [key, steps], n_out=2, axis=1, largest=0, sorted=1)
    features = g.op("Slice", [shape, g.ints([2]), g.ints([3])])
    order3 = g.op("Expand", [g.op("Unsqueeze", [order, g.ints([2])]),
                             g.op("Concat", [g.op("Shape", [order]), features], axis=0)])
    compact = g.op("GatherElements", [x, order3], axis=1)
    lens = g.op("ReduceSum", [m, g.ints([1])], keepdims=0)
    y, final = _native_call(op, g, g.op("Transpose", [compact], perm=[1, 0, 2]), roles.states, w, node,
                            lens=g.op("Cast", [lens], to=6))
    has_steps = g.op("Unsqueeze", [g.op("Greater", [lens, g.const(np.array(0, np.int64))]), g.ints([1])])
    zero = g.const(np.array(0, np.float32))  # Where broadcasts it
    starts = roles.states or [zero] * len(final)
    final = [g.op("Where", [has_steps, f, s0]) for f, s0 in zip(final, starts)]
    if op.return_sequences:
        y = g.op("Transpose", [g.op("Squeeze", [y, g.ints([1])])], perm=[1, 0, 2])  # (B, T, U) compacted
        seen = g.op("CumSum", [m, g.const(np.array(1, np.int64))])
        index = g.op("Max", [g.op("Sub", [seen, g.const(np.array(1, np.int64))]), g.const(np.array(0, np.int64))])
        index3 = g.op("Expand", [g.op("Unsqueeze", [index, g.ints([2])]), g.op("Shape", [y])])
        held = g.op("GatherElements", [y, index3], axis=1)
        keep = mask if op.zero_output_for_mask else g.op("Greater", [seen, g.const(np.array(0, np.int64))])
        out = g.op("Where", [g.op("Unsqueeze", [keep, g.ints([2])]), held, zero])
    else:
        out = g.op("Where", [has_steps, final[0], zero])
    return [out] + (final if op.return_state else [])


def reverse_time(g, x: str, axis: int) -> str:
    """Reverses a tensor along one axis of any (dynamic) length."""
    return g.op("Slice", [x, g.ints([-1]), g.ints([INT64_MIN]), g.ints([axis]), g.ints([-1])])


# ---- unrolled form -----------------------------------------------------------------
def _emit_unrolled(op, g, roles, w, node, steps: int) -> list[str]:
    x = g.op("Transpose", [roles.x], perm=[1, 0, 2]) if op.time_major else roles.x
    xp = g.op("MatMul", [x, g.const(w["kernel"], f"{node.layer}/kernel")])
    if op.use_bias:
        bias = w["bias"][0] if w["bias"].ndim == 2 else w["bias"]
        xp = g.op("Add", [xp, g.const(bias, f"{node.layer}/bias")])
    if roles.states:
        states = list(roles.states)
    else:
        batch = g.op("Slice", [g.op("Shape", [x]), g.ints([0]), g.ints([1])])
        zeros = g.op("ConstantOfShape", [g.op("Concat", [batch, g.ints([op.units])], axis=0)])
        states = [zeros] * op.n_states
    mask = None if roles.mask is None else g.op("Cast", [roles.mask], to=9)  # to bool
    consts = op.onnx_step_consts(g, w, node.layer)
    order = range(steps - 1, -1, -1) if op.go_backwards else range(steps)
    outputs, prev = [], None
    for t in order:
        xt = g.op("Gather", [xp, g.ints(t)], axis=1)
        out, new_states = op.step_onnx(g, xt, states, consts)
        if mask is not None:
            m = g.op("Unsqueeze", [g.op("Gather", [mask, g.ints(t)], axis=1), g.ints([1])])
            if prev is None:
                prev = g.op("Mul", [out, g.const(np.array(0, np.float32))])
            new_states = [g.op("Where", [m, n, s]) for n, s in zip(new_states, states)]
            held = g.op("Mul", [out, g.const(np.array(0, np.float32))]) if op.zero_output_for_mask else prev
            out = g.op("Where", [m, out, held])
        states, prev = new_states, out
        outputs.append(out)
    if op.return_sequences:
        y = g.op("Concat", [g.op("Unsqueeze", [o, g.ints([1])]) for o in outputs], axis=1)
        if op.time_major:
            y = g.op("Transpose", [y], perm=[1, 0, 2])
    else:
        y = outputs[-1]
    return [y] + (list(states) if op.return_state else [])


def act(g, name: str, x: str) -> str:
    """Emits a Keras activation on one step's tensor."""
    return activation_fns.to_onnx(g, name, x)


# ---- Bidirectional on one operator ----------------------------------------------------
def fusable(forward, backward, roles) -> bool:
    """Whether a Bidirectional pair runs as one ONNX operator with direction='bidirectional'."""
    return (roles.mask is None and type(forward) is type(backward) and not forward.time_major
            and not forward.go_backwards and backward.go_backwards
            and dataclasses.replace(backward, go_backwards=False) == forward
            and all(a in ONNX_RNN_ACTIVATIONS for a in forward.onnx_activation_names()))


def emit_bidirectional(forward, g, roles, states_f, states_b, w_f, w_b, layer: str):
    """Runs both directions in one operator.

    Returns:
        (forward output, backward output in input time order, forward final states,
        backward final states); outputs are sequences when `return_sequences`.
    """
    op_type, wf, rf, bf, extra = forward.onnx_weights(w_f)
    _, wb, rb, bb, _ = forward.onnx_weights(w_b)
    x = g.op("Transpose", [roles.x], perm=[1, 0, 2])
    inputs = [x, g.const(np.stack([wf, wb]), f"{layer}/W"), g.const(np.stack([rf, rb]), f"{layer}/R"),
              g.const(np.stack([bf, bb]), f"{layer}/B") if bf is not None else "", ""]
    for sf, sb in zip(states_f, states_b):
        inputs.append(g.op("Concat", [g.op("Unsqueeze", [sf, g.ints([0])]), g.op("Unsqueeze", [sb, g.ints([0])])],
                           axis=0))
    while inputs[-1] == "":
        inputs.pop()
    names, alphas, betas = [], [], []
    for a in forward.onnx_activation_names() * 2:
        name, alpha, beta = onnx_activation(a)
        names.append(name)
        alphas += [] if alpha is None else [float(alpha)]
        betas += [] if beta is None else [float(beta)]
    outs = g.op(op_type, inputs, n_out=1 + forward.n_states, hidden_size=int(forward.units), activations=names,
                activation_alpha=alphas or None, activation_beta=betas or None, direction="bidirectional", **extra)
    finals = [[g.op("Gather", [s, g.ints(d)], axis=0) for s in outs[1:]] for d in (0, 1)]
    if forward.return_sequences:
        y = g.op("Transpose", [outs[0]], perm=[2, 0, 1, 3])  # (B, T, 2, U); the reverse half is in input order
        return g.op("Gather", [y, g.ints(0)], axis=2), g.op("Gather", [y, g.ints(1)], axis=2), finals[0], finals[1]
    return finals[0][0], finals[1][0], finals[0], finals[1]
