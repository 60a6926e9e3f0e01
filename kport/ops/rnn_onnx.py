"""ONNX emission for SimpleRNN, LSTM and GRU.

Two forms:
- native: the ONNX RNN / LSTM / GRU operator (Keras batch-major input is
  transposed to ONNX's seq-major; `go_backwards` reverses the input and runs
  forward, which gives Keras's reversed output order for free). Used when
  every activation is one the ONNX operators accept and no mask is given;
  the time axis may stay dynamic.
- unrolled: one small subgraph per time step, for masks (held states at any
  masked step) and activations the ONNX operators lack. Needs a static time axis.
"""
from __future__ import annotations

import numpy as np

from kport.errors import ExportError
from kport.ops import activation_fns
from kport.ops.rnn_common import INT64_MIN, ONNX_RNN_ACTIVATIONS, onnx_activation, split_inputs


def emit(op, g, xs, w, node) -> list[str]:
    """Emits one recurrent-layer call; returns [output, *final states]."""
    roles = split_inputs(xs, node.call, op.n_states, op.kind)
    x_shape = node.in_shapes[0]
    steps = x_shape[0] if op.time_major else x_shape[1]
    native = roles.mask is None and all(a in ONNX_RNN_ACTIVATIONS for a in op.onnx_activation_names())
    if native:
        return _emit_native(op, g, roles, w, node)
    if steps is None:
        why = "a mask" if roles.mask is not None else f"activations {op.onnx_activation_names()}"
        raise ExportError(f"{op.kind} with {why} needs a fixed sequence length to export to ONNX",
                          hint="give the model input a fixed time dimension (e.g. Input(shape=(T, features)))")
    return _emit_unrolled(op, g, roles, w, node, int(steps))


# ---- native operator ----------------------------------------------------------
def _emit_native(op, g, roles, w, node) -> list[str]:
    x = roles.x if op.time_major else g.op("Transpose", [roles.x], perm=[1, 0, 2])
    if op.go_backwards:
        x = reverse_time(g, x, axis=0)
    op_type, wi, ri, bias, extra = op.onnx_weights(w)
    inputs = [x, g.const(wi[None], f"{node.layer}/W"), g.const(ri[None], f"{node.layer}/R"),
              g.const(bias[None], f"{node.layer}/B") if bias is not None else "", ""]
    for s in roles.states:
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
    y, states = outs[0], outs[1:]
    final = [g.op("Squeeze", [s, g.ints([0])]) for s in states]
    if op.return_sequences:
        y = g.op("Squeeze", [y, g.ints([1])])
        if not op.time_major:
            y = g.op("Transpose", [y], perm=[1, 0, 2])
    else:
        y = final[0]
    return [y] + (final if op.return_state else [])


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
