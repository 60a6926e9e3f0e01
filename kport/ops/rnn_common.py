"""What SimpleRNN, LSTM and GRU share: attributes, input roles, the time loop, ONNX plumbing.

Keras semantics kept here (keras/src/backend/*/rnn.py, tf.keras backend.rnn):
- `go_backwards` reverses the input (and the mask) and returns the output
  sequence in processing order, i.e. reversed time order.
- at a masked step the states keep their previous value and the output repeats
  the previous output (zeros before the first unmasked step), or is zero when
  `zero_output_for_mask` is set.
- initial states arrive as extra inputs: positionally (Keras 2 `layer([x, h, c])`)
  or as the `initial_state` keyword; a mask as the `mask` keyword. The node's
  call record ('tensor:<kw>' -> input positions) says which input is which.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np

from kport.errors import ExportError, ShapeError
from kport.ops import activation_fns
from kport.ops.base import ImportContext, Op, require_rank

# Keras activation -> (ONNX RNN activation name, alpha, beta); None = no alpha/beta
ONNX_RNN_ACTIVATIONS = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None),
    "linear": ("Affine", 1.0, 0.0),
    "hard_sigmoid": ("HardSigmoid", 0.2, 0.5),
    "hard_sigmoid_v3": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "elu": ("Elu", 1.0, None),
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
}
INT64_MIN = np.iinfo(np.int64).min
# attributes of a recurrent layer that a cell does not take
SEQUENCE_KEYS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "time_major",
                 "zero_output_for_mask")


@dataclass
class InputRoles:
    """The inputs of one recurrent-layer call, sorted by role."""

    x: np.ndarray | str
    states: list
    mask: np.ndarray | str | None = None


def _state_positions(node, n_inputs: int) -> list[int]:
    masks = {p for p in (node.call or {}).get("tensor:mask", []) if p is not None}
    return [i for i in range(1, n_inputs) if i not in masks]


def split_inputs(xs: list, call: dict | None, n_states: int, kind: str) -> InputRoles:
    """Sorts a node's inputs into sequence, initial states and mask.

    Args:
        xs: the node's inputs (arrays or ONNX names), sequence first.
        call: the node's call record; 'tensor:mask' and 'tensor:initial_state' give positions.
        n_states: how many states the layer carries (LSTM 2, others 1).
        kind: the layer kind, for messages.

    Raises:
        ShapeError: the number of state inputs does not fit the layer.
    """
    call = call or {}
    mask_pos = [p for p in call.get("tensor:mask", []) if p is not None]
    rest = [i for i in range(1, len(xs)) if i not in mask_pos]
    states = [xs[i] for i in rest]
    if states and len(states) != n_states:
        raise ShapeError(f"{kind} takes {n_states} initial state(s), the call gives {len(states)}",
                         hint="pass one initial state per layer state (LSTM: [h, c])")
    mask = xs[mask_pos[0]] if mask_pos else None
    return InputRoles(xs[0], states, mask)


@dataclass
class RecurrentOp(Op):
    """Base of the recurrent layers: the attributes and behaviour every one of them has.

    Subclasses set `n_states`, define `step` (numpy, one time step on the
    already-projected input) and the ONNX weight layout.
    """

    n_states: ClassVar[int] = 1
    # takes the mask Keras propagates (the importer adds it as the 'tensor:mask' input)
    accepts_mask: ClassVar[bool] = True
    activation_on_output: ClassVar[bool] = False  # it acts inside the cell

    units: int = 1
    activation: str = "tanh"
    use_bias: bool = True
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    stateful: bool = False
    unroll: bool = False
    time_major: bool = False
    zero_output_for_mask: bool = False

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "RecurrentOp":
        op = super().from_keras(config, ctx)
        op.activation = activation_fns.canonical(config.get("activation", "tanh"), ctx.keras_major)
        if hasattr(op, "recurrent_activation"):
            default = "hard_sigmoid" if old_recurrent_default(ctx) else "sigmoid"
            op.recurrent_activation = activation_fns.canonical(config.get("recurrent_activation", default),
                                                               ctx.keras_major)
        if op.stateful:
            # one call from zero states equals Keras's first call after reset_states (or after loading)
            warnings.warn(f"{ctx.path or ''} layer '{ctx.layer}': {cls.kind} was stateful=True; kport runs it "
                          "stateless (every call starts from zero or the given initial state, as Keras's first "
                          "call after reset_states); to carry states across calls, feed the final states "
                          "(return_state) back as initial states, or train/run it with kport.keras", stacklevel=2)
        return op

    def keras_config(self, flavor: str = "keras3") -> dict:
        """Keras config: Keras 3 has no `time_major`, tf.keras no `zero_output_for_mask` argument."""
        cfg = super().keras_config(flavor)
        if flavor == "keras3":
            if cfg.pop("time_major", False):
                raise ExportError(f"{self.kind} with time_major=True has no Keras 3 form",
                                  hint="write a tf.keras file (--to h5)")
        else:
            cfg.pop("zero_output_for_mask", None)
        return cfg

    def keras3_vars(self, w: dict) -> dict[str, list]:
        """Where a `.keras` file keeps the weights: under the layer's `cell`."""
        return {"cell": list(w.values())}

    def keras_node(self, flavor: str, refs: list, node) -> dict:
        """The written call: the sequence, then initial states (Keras 3 keyword, tf.keras positional)."""
        return keras_call_node(flavor, refs, node, [0], {"initial_state": _state_positions(node, len(refs))})

    # ---- shapes -------------------------------------------------------------
    def num_outputs(self, n_inputs: int) -> int:
        """Outputs per call: the output, then the final states when `return_state`."""
        return 1 + self.n_states if self.return_state else 1

    def output_shapes(self, in_shapes):
        x = in_shapes[0]
        require_rank(x, 3, self.kind)
        batch, steps = (x[1], x[0]) if self.time_major else (x[0], x[1])
        if self.return_sequences:
            out = (steps, batch, self.units) if self.time_major else (batch, steps, self.units)
        else:
            out = (batch, self.units)
        return [out] + [(batch, self.units)] * (self.n_states if self.return_state else 0)

    # ---- numpy ----------------------------------------------------------------
    def step(self, xp: np.ndarray, states: list[np.ndarray], w: dict) -> tuple[np.ndarray, list[np.ndarray]]:
        """One time step: `xp` is x_t @ kernel (+ input bias); returns (output, new states)."""
        raise NotImplementedError

    def project_input(self, x: np.ndarray, w: dict) -> np.ndarray:
        """x @ kernel plus the input bias, for every step at once: (batch, time, gates*units)."""
        xp = np.matmul(x, w["kernel"])
        if self.use_bias:
            bias = w["bias"]
            xp = xp + (bias[0] if bias.ndim == 2 else bias)
        return xp.astype(np.float32)

    def reference(self, xs, w):
        return self.reference_node(xs, w, {})

    def reference_node(self, xs, w, call):
        roles = split_inputs(xs, call, self.n_states, self.kind)
        x = np.asarray(roles.x, dtype=np.float32)
        if self.time_major:
            x = np.swapaxes(x, 0, 1)
        batch = x.shape[0]
        states = ([np.asarray(s, dtype=np.float32) for s in roles.states] if roles.states else
                  [np.zeros((batch, self.units), np.float32) for _ in range(self.n_states)])
        mask = None if roles.mask is None else np.asarray(roles.mask).astype(bool)
        xp = self.project_input(x, w)
        if self.go_backwards:
            xp = xp[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        outputs, states = run_loop(lambda xt, s: self.step(xt, s, w), xp, states, mask, self.zero_output_for_mask)
        if self.return_sequences:
            y = np.stack(outputs, axis=1) if outputs else np.zeros((batch, 0, self.units), np.float32)
            if self.time_major:
                y = np.swapaxes(y, 0, 1)
        else:
            y = outputs[-1] if outputs else np.zeros((batch, self.units), np.float32)
        result = [y.astype(np.float32)]
        if self.return_state:
            result += [s.astype(np.float32) for s in states]
        return result

    # ---- backends -------------------------------------------------------------------
    def to_torch(self, t, xs, w, node):
        from kport.ops import rnn_torch

        return rnn_torch.to_torch(self, t, xs, w, node)

    def to_onnx(self, g, xs, w, node):
        from kport.ops import rnn_onnx  # the emission code lives beside, numpy-only imports here

        return rnn_onnx.emit(self, g, xs, w, node)


def run_loop(step: Callable, xp: np.ndarray, states: list[np.ndarray], mask: np.ndarray | None,
             zero_output_for_mask: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Runs `step` over the time axis of `xp` with Keras's mask rules.

    Returns:
        (the output of every step, the final states).
    """
    outputs = []
    prev = None
    for t in range(xp.shape[1]):
        out, new_states = step(xp[:, t], states)
        if mask is not None:
            m = mask[:, t].reshape((-1,) + (1,) * (out.ndim - 1))  # broadcast over features (and space)
            if prev is None:
                prev = np.zeros_like(out)
            new_states = [np.where(m, n, s) for n, s in zip(new_states, states)]
            out = np.where(m, out, np.zeros_like(out) if zero_output_for_mask else prev)
        states = [s.astype(np.float32) for s in new_states]
        prev = out.astype(np.float32)
        outputs.append(prev)
    return outputs, states


def activation(name: str, x: np.ndarray) -> np.ndarray:
    """Applies a canonical Keras activation in float32."""
    return activation_fns.apply(name, x.astype(np.float32))


def old_recurrent_default(ctx: ImportContext) -> bool:
    # Keras before 2.3 defaulted recurrent_activation to hard_sigmoid; a config that omits it is that old
    version = (ctx.keras_version or "").split("-")[0].split(".")
    try:
        return int(version[0]) < 2 or (int(version[0]) == 2 and int(version[1]) < 3 and ctx.flavor == "keras")
    except (ValueError, IndexError):
        return ctx.keras_major < 2


def onnx_activation(name: str) -> tuple[str, float | None, float | None]:
    """The ONNX RNN-operator spelling of a Keras activation.

    Raises:
        ExportError: the activation has no ONNX RNN form.
    """
    if name not in ONNX_RNN_ACTIVATIONS:
        raise ExportError(f"activation '{name}' is not one the ONNX recurrent operators accept")
    return ONNX_RNN_ACTIVATIONS[name]


def spell_activation(name: str, flavor: str) -> str:
    """The Keras spelling of a canonical activation inside a nested layer config.

    Raises:
        ExportError: the target Keras would misread or not know the name (the same check as top-level
            activations, `activation_fns.keras_spelling`); the writer adds the layer.
    """
    return activation_fns.keras_spelling(name, "keras3" if flavor == "keras3" else "tf.keras")


def nested_layer_spec(op: Op, flavor: str, name: str, class_name: str | None = None,
                      drop: tuple[str, ...] = ()) -> dict:
    """A `{class_name, config}` entry for a layer held inside another (Bidirectional, TimeDistributed, RNN)."""
    cfg = {k: v for k, v in op.keras_config(flavor).items() if k not in drop}
    for key in ("activation", "recurrent_activation"):
        if key in cfg:
            cfg[key] = spell_activation(cfg[key], flavor)
    dtype = ({"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
             if flavor == "keras3" else "float32")
    spec = {"class_name": class_name or op.kind, "config": {"name": name, "trainable": True, "dtype": dtype, **cfg}}
    if flavor == "keras3":
        spec = {"module": "keras.layers", **spec, "registered_name": None}
    return spec


# call arguments that are not tensors and that a written Keras node keeps
WRITTEN_CALL_ARGS = ("use_causal_mask", "return_attention_scores")


def keras_call_node(flavor: str, refs: list, node, positional: list[int], keywords: dict[str, list[int]]) -> dict:
    """A Keras inbound-node entry for a call whose inputs have roles (kport -> Keras writers).

    Masks are left out: Keras derives them again from Embedding(mask_zero) / Masking when it
    loads the file (and kport's importer makes them explicit again).

    Args:
        flavor: 'keras3' or 'tf.keras'.
        refs: one reference per node input (Keras 3 `__keras_tensor__` dicts or tf.keras histories).
        node: the IR node (its `call` gives the flags kept).
        positional: input positions passed positionally, in order.
        keywords: keyword name -> input positions (a list value when several).
    """
    flags = {k: v for k, v in (node.call or {}).items() if k in WRITTEN_CALL_ARGS}
    if flavor == "keras3":
        kwargs = {k: ([refs[i] for i in ps] if len(ps) > 1 or k == "initial_state" else refs[ps[0]])
                  for k, ps in keywords.items() if ps}
        args = [refs[i] for i in positional]
        # Keras 3 builds the layer when the functional model calls it; a build_config from every
        # node input (masks, states) would be wrong
        return {"inbound": {"args": [args] if len(args) > 1 else args, "kwargs": {**kwargs, **flags}},
                "omit": ("build_config",)}
    hist = lambda i: list(refs[i])  # noqa: E731
    extra = {k: ([hist(i) for i in ps] if len(ps) > 1 else hist(ps[0])) for k, ps in keywords.items()
             if ps and k != "initial_state"}
    entries = [hist(i) + [{}] for i in positional + keywords.get("initial_state", [])]
    entries[0][3] = {**extra, **flags}
    return {"inbound": entries}
