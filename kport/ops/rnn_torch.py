"""PyTorch emission for SimpleRNN, LSTM, GRU (and the CuDNN variants, Bidirectional, RNN cells).

The generated module `KerasRecurrent` keeps the Keras weights as they are (kernel,
recurrent_kernel, bias: the parameter layout is the identity, so weight migration is exact
both ways) and runs Keras's time loop in plain, scriptable torch: Keras gate orders,
any activation of the list below, `go_backwards` (reversed processing, outputs in
processing order), masks (held states, held or zero outputs) and initial states.
"""
from __future__ import annotations

from kport.errors import ExportError
from kport.ops.rnn_common import split_inputs

# activations the generated module spells (canonical names, see activation_fns)
TORCH_ACTIVATIONS = ("linear", "tanh", "sigmoid", "hard_sigmoid", "hard_sigmoid_v3", "relu", "relu6", "elu", "selu",
                     "softsign", "softplus", "silu", "gelu", "exponential")

# the bias layouts a Keras recurrent layer saves
BIAS_LAYOUTS = {"none", "single", "rows", "halves", "flat_rows"}

TORCH_RECURRENT = '''
from typing import List, Optional, Tuple


def keras_recurrent_activation(x: torch.Tensor, name: str) -> torch.Tensor:
    if name == "tanh":
        return torch.tanh(x)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "hard_sigmoid":
        return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)
    if name == "hard_sigmoid_v3":
        return F.hardsigmoid(x)
    if name == "relu":
        return F.relu(x)
    if name == "relu6":
        return F.relu6(x)
    if name == "elu":
        return F.elu(x)
    if name == "selu":
        return F.selu(x)
    if name == "softsign":
        return F.softsign(x)
    if name == "softplus":
        return F.softplus(x)
    if name == "silu":
        return F.silu(x)
    if name == "gelu":
        return F.gelu(x)
    if name == "exponential":
        return torch.exp(x)
    return x


class KerasRecurrent(nn.Module):
    """A Keras SimpleRNN / LSTM / GRU layer with its weights in the Keras layout.

    bias_layout: 'none', 'single' (gates,), 'rows' (2, gates) = input and recurrent biases
    (GRU reset_after), 'halves' (2*gates,) summed (CuDNNLSTM), 'flat_rows' (2*gates,) as rows
    (CuDNNGRU).
    """

    def __init__(self, kind: str, features: int, units: int, activation: str, recurrent_activation: str,
                 bias_layout: str, reset_after: bool, go_backwards: bool, return_sequences: bool,
                 zero_output_for_mask: bool):
        super().__init__()
        gates = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
        self.kind = kind
        self.units = units
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.bias_layout = bias_layout
        self.reset_after = reset_after
        self.go_backwards = go_backwards
        self.return_sequences = return_sequences
        self.zero_output_for_mask = zero_output_for_mask
        self.kernel = nn.Parameter(torch.zeros(features, gates * units))
        self.recurrent_kernel = nn.Parameter(torch.zeros(units, gates * units))
        shape = {"single": [gates * units], "rows": [2, gates * units], "halves": [2 * gates * units],
                 "flat_rows": [2 * gates * units]}
        self.bias = nn.Parameter(torch.zeros(shape[bias_layout])) if bias_layout != "none" else None

    def biases(self, x: torch.Tensor):
        n = self.recurrent_kernel.shape[1]
        zero = torch.zeros(n, dtype=x.dtype, device=x.device)
        b = self.bias
        if b is None:
            return zero, zero
        if self.bias_layout == "single":
            return b, zero
        if self.bias_layout == "halves":
            return b[:n] + b[n:], zero
        rows = b.reshape(2, n)
        return rows[0], rows[1]

    def step(self, xt: torch.Tensor, h: torch.Tensor, c: torch.Tensor, rb: torch.Tensor):
        u = self.units
        if self.kind == "SimpleRNN":
            h = keras_recurrent_activation(xt + h @ self.recurrent_kernel, self.activation)
            return h, h
        if self.kind == "LSTM":
            z = xt + h @ self.recurrent_kernel
            i = keras_recurrent_activation(z[:, :u], self.recurrent_activation)
            f = keras_recurrent_activation(z[:, u:2 * u], self.recurrent_activation)
            c = f * c + i * keras_recurrent_activation(z[:, 2 * u:3 * u], self.activation)
            o = keras_recurrent_activation(z[:, 3 * u:], self.recurrent_activation)
            return o * keras_recurrent_activation(c, self.activation), c
        rk = self.recurrent_kernel
        if self.reset_after:
            inner = h @ rk + rb
            z = keras_recurrent_activation(xt[:, :u] + inner[:, :u], self.recurrent_activation)
            r = keras_recurrent_activation(xt[:, u:2 * u] + inner[:, u:2 * u], self.recurrent_activation)
            hh = keras_recurrent_activation(xt[:, 2 * u:] + r * inner[:, 2 * u:], self.activation)
        else:
            z = keras_recurrent_activation(xt[:, :u] + h @ rk[:, :u], self.recurrent_activation)
            r = keras_recurrent_activation(xt[:, u:2 * u] + h @ rk[:, u:2 * u], self.recurrent_activation)
            hh = keras_recurrent_activation(xt[:, 2 * u:] + (r * h) @ rk[:, 2 * u:], self.activation)
        h = z * h + (1 - z) * hh
        return h, h

    def forward(self, x: torch.Tensor, h0: Optional[torch.Tensor], c0: Optional[torch.Tensor],
                mask: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ib, rb = self.biases(x)
        xp = x @ self.kernel + ib
        if self.go_backwards:
            xp = torch.flip(xp, [1])
            if mask is not None:
                mask = torch.flip(mask, [1])
        zeros = torch.zeros(x.shape[0], self.units, dtype=x.dtype, device=x.device)
        h = h0 if h0 is not None else zeros
        c = c0 if c0 is not None else zeros
        prev = zeros
        outputs: List[torch.Tensor] = []
        for t in range(xp.shape[1]):
            out, c_new = self.step(xp[:, t], h, c, rb)
            h_new = out
            if mask is not None:
                m = mask[:, t].to(torch.bool).unsqueeze(1)
                h_new = torch.where(m, h_new, h)
                c_new = torch.where(m, c_new, c)
                out = torch.where(m, out, zeros if self.zero_output_for_mask else prev)
            h, c, prev = h_new, c_new, out
            outputs.append(out)
        y = torch.stack(outputs, 1) if self.return_sequences else prev
        return y, h, c
'''


def bias_layout(op) -> str:
    """How the op's saved bias is laid out (see KerasRecurrent)."""
    if not op.use_bias:
        return "none"
    if op.kind == "CuDNNLSTM":
        return "halves"
    if op.kind == "CuDNNGRU":
        return "flat_rows"
    if getattr(op, "reset_after", False):
        return "rows"
    return "single"


def emit_recurrent(op, t, x: str, states: list[str], mask: str | None, w: dict, features: int,
                   prefix: str = "", suffix: str = "") -> list[str]:
    """Emits one recurrent layer; returns [output, *final states] as forward variables.

    Args:
        op: a SimpleRNN / LSTM / GRU op (or CuDNN variant), batch-major.
        t: the torch emitter.
        x: the (batch, time, features) input variable.
        states: initial-state variables ([] for zeros).
        mask: the (batch, time) mask variable, or None.
        w: the weights dict holding this layer's weights under `prefix`.
        features: the input's last dimension.
        prefix, suffix: weight-name prefix (Bidirectional, stacked cells) and submodule suffix.
    """
    from kport.exporters.torch.emitter import ParamSpec

    base = {"SimpleRNN": "SimpleRNN", "LSTM": "LSTM", "GRU": "GRU", "CuDNNLSTM": "LSTM", "CuDNNGRU": "GRU"}
    kind = base.get(op.kind)
    recurrent = getattr(op, "recurrent_activation", "sigmoid")
    for name in (op.activation, recurrent):
        if name not in TORCH_ACTIVATIONS:
            raise ExportError(f"{op.kind} with activation '{name}' has no PyTorch form yet",
                              hint=f"supported inside recurrent layers: {', '.join(TORCH_ACTIVATIONS)}")
    t.helper("KerasRecurrent", TORCH_RECURRENT)
    layout = bias_layout(op)
    names = ["kernel", "recurrent_kernel"] + ([] if layout == "none" else ["bias"])
    params = {n: ParamSpec(prefix + n) for n in names}
    m = t.submodule(f"KerasRecurrent({kind!r}, {int(features)}, {int(op.units)}, {op.activation!r}, "
                    f"{recurrent!r}, {layout!r}, {bool(getattr(op, 'reset_after', False))}, "
                    f"{bool(op.go_backwards)}, {bool(op.return_sequences)}, {bool(op.zero_output_for_mask)})",
                    w, params, suffix=suffix)
    h0 = states[0] if states else "None"
    c0 = states[1] if len(states) > 1 else "None"
    result = t.line(f"{m}({x}, {h0}, {c0}, {mask or 'None'})")
    y, h, c = (t.line(f"{result}[{i}]") for i in range(3))
    return [y, h, c] if op.n_states == 2 else [y, h]


def to_torch(op, t, xs, w, node) -> list[str]:
    """The `to_torch` hook of the recurrent ops (RecurrentOp delegates here)."""
    roles = split_inputs(xs, node.call, op.n_states, op.kind)
    x = t.line(f"{roles.x}.transpose(0, 1)") if op.time_major else roles.x
    outs = emit_recurrent(op, t, x, roles.states, roles.mask, w, node.in_shapes[0][-1])
    if op.time_major and op.return_sequences:
        outs[0] = t.line(f"{outs[0]}.transpose(0, 1)")
    return outs if op.return_state else outs[:1]


def emit_layer(op, t, x: str, states: list[str], mask: str | None, w: dict, features: int,
               prefix: str = "", suffix: str = "") -> list[str]:
    """Emits a recurrent layer or an RNN over cells; returns [output, *final states]."""
    if hasattr(op, "emit_torch"):
        return op.emit_torch(t, x, states, mask, w, features, prefix, suffix)
    if op.time_major:
        raise ExportError(f"{op.kind} with time_major=True inside another layer has no PyTorch form yet")
    return emit_recurrent(op, t, x, states, mask, w, features, prefix, suffix)
