"""ConvLSTM1D/2D/3D: an LSTM whose products are convolutions (gates i, f, c, o as in LSTM).

Per step: z = conv(x_t, kernel; strides, padding, dilation) + bias + conv(h, recurrent_kernel;
stride 1, 'same'); i, f, o = recurrent_activation(z_i, z_f, z_o); c = f*c + i*activation(z_c);
h = o*activation(c). Input (batch, time, *spatial, channels) or channels_first
(batch, time, channels, *spatial); states (batch, *out_spatial, filters) in the data format.
Keras's sequence rules (go_backwards, masks, return_sequences/state) are the LSTM's.
ONNX has no ConvLSTM operator: the export unrolls the steps (a static time axis is needed).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ExportError
from kport.ops import activation_fns
from kport.ops.base import ImportContext, Op, as_tuple, require_rank
from kport.ops.conv_common import (conv_nd, conv_output_length, explicit_pads, kernel_to_oihw,
                                   onnx_same_padding)
from kport.ops.rnn_common import old_recurrent_default, run_loop, split_inputs


@dataclass
class ConvLSTMBase(Op):
    rank: ClassVar[int] = 2
    n_states: ClassVar[int] = 2
    accepts_mask: ClassVar[bool] = True
    activation_on_output: ClassVar[bool] = False  # it acts inside the cell

    filters: int = 1
    kernel_size: tuple = (1,)
    strides: tuple = (1,)
    padding: str = "valid"
    data_format: str = "channels_last"
    dilation_rate: tuple = (1,)
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    use_bias: bool = True
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    stateful: bool = False
    unroll: bool = False
    zero_output_for_mask: bool = False

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "ConvLSTMBase":
        op = super().from_keras(config, ctx)
        r = cls.rank
        op.kernel_size = as_tuple(config.get("kernel_size", 1), r)
        op.strides = as_tuple(config.get("strides", 1), r)
        op.dilation_rate = as_tuple(config.get("dilation_rate", 1), r)
        op.data_format = config.get("data_format") or "channels_last"
        op.activation = activation_fns.canonical(config.get("activation", "tanh"), ctx.keras_major)
        default = "hard_sigmoid" if old_recurrent_default(ctx) else "sigmoid"
        op.recurrent_activation = activation_fns.canonical(config.get("recurrent_activation", default),
                                                           ctx.keras_major)
        if op.stateful:
            warnings.warn(f"{ctx.path or ''} layer '{ctx.layer}': {cls.kind} was stateful=True; kport runs it "
                          "stateless", stacklevel=2)
        return op

    # ---- shapes -----------------------------------------------------------------
    @property
    def channels_first(self) -> bool:
        return self.data_format == "channels_first"

    def keras3_vars(self, w: dict) -> dict[str, list]:
        """Where a `.keras` file keeps the weights: under the layer's `cell`."""
        return {"cell": list(w.values())}

    def keras_node(self, flavor: str, refs: list, node) -> dict:
        from kport.ops.rnn_common import _state_positions, keras_call_node

        return keras_call_node(flavor, refs, node, [0], {"initial_state": _state_positions(node, len(refs))})

    def num_outputs(self, n_inputs: int) -> int:
        return 3 if self.return_state else 1

    def _spatial(self, shape) -> tuple:
        return tuple(shape[3:]) if self.channels_first else tuple(shape[2:-1])

    def _out_spatial(self, spatial) -> tuple:
        return tuple(conv_output_length(s, k, st, d, self.padding)
                     for s, k, st, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate))

    def _frame(self, batch, spatial) -> tuple:
        return (batch, self.filters, *spatial) if self.channels_first else (batch, *spatial, self.filters)

    def weight_shapes(self, in_shapes):
        x = in_shapes[0]
        chans = x[2] if self.channels_first else x[-1]
        shapes = {"kernel": (*self.kernel_size, chans, 4 * self.filters),
                  "recurrent_kernel": (*self.kernel_size, self.filters, 4 * self.filters)}
        if self.use_bias:
            shapes["bias"] = (4 * self.filters,)
        return shapes

    def output_shapes(self, in_shapes):
        x = in_shapes[0]
        require_rank(x, self.rank + 3, self.kind)
        frame = self._frame(x[0], self._out_spatial(self._spatial(x)))
        out = (frame[0], x[1], *frame[1:]) if self.return_sequences else frame
        return [out] + ([frame, frame] if self.return_state else [])

    # ---- numpy --------------------------------------------------------------------
    def _to_last(self, a: np.ndarray) -> np.ndarray:
        return np.moveaxis(a, 1, -1) if self.channels_first else a

    def _from_last(self, a: np.ndarray) -> np.ndarray:
        return np.moveaxis(a, -1, 1) if self.channels_first else a

    def reference(self, xs, w):
        return self.reference_node(xs, w, {})

    def reference_node(self, xs, w, call):
        roles = split_inputs(xs, call, 2, self.kind)
        x = np.asarray(roles.x, np.float32)
        if self.channels_first:  # (B, T, C, *S) -> (B, T, *S, C)
            x = np.moveaxis(x, 2, -1)
        batch, steps = x.shape[:2]
        frames = x.reshape((batch * steps,) + x.shape[2:])
        pads = explicit_pads(frames.shape[1:-1], self.kernel_size, self.strides, self.dilation_rate, self.padding)
        xp = conv_nd(frames, w["kernel"], self.strides, self.dilation_rate, pads)
        if self.use_bias:
            xp = xp + w["bias"]
        xp = xp.reshape((batch, steps) + xp.shape[1:]).astype(np.float32)
        rec_pads = explicit_pads(xp.shape[2:-1], self.kernel_size, (1,) * self.rank, (1,) * self.rank, "same")
        if roles.states:
            states = [self._to_last(np.asarray(s, np.float32)) for s in roles.states]
        else:
            states = [np.zeros(xp.shape[:1] + xp.shape[2:-1] + (self.filters,), np.float32) for _ in range(2)]
        mask = None if roles.mask is None else np.asarray(roles.mask).astype(bool)
        if self.go_backwards:
            xp = xp[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        ra, act = self.recurrent_activation, self.activation

        def step(z_x, s):
            h, c = s
            z = z_x + conv_nd(h, w["recurrent_kernel"], (1,) * self.rank, (1,) * self.rank, rec_pads)
            zi, zf, zc, zo = np.split(z, 4, axis=-1)
            c = activation_fns.apply(ra, zf) * c + activation_fns.apply(ra, zi) * activation_fns.apply(act, zc)
            h = activation_fns.apply(ra, zo) * activation_fns.apply(act, c)
            return h, [h, c]

        outputs, states = run_loop(step, xp, states, mask, self.zero_output_for_mask)
        if self.return_sequences:
            y = np.stack(outputs, axis=1)
            y = np.moveaxis(y, -1, 2) if self.channels_first else y
        else:
            y = self._from_last(outputs[-1])
        result = [y.astype(np.float32)]
        if self.return_state:
            result += [self._from_last(s).astype(np.float32) for s in states]
        return result

    # ---- PyTorch -----------------------------------------------------------------------
    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec
        from kport.ops.rnn_torch import TORCH_ACTIVATIONS, TORCH_RECURRENT

        for name in (self.activation, self.recurrent_activation):
            if name not in TORCH_ACTIVATIONS:
                raise ExportError(f"{self.kind} with activation '{name}' has no PyTorch form yet")
        roles = split_inputs(xs, node.call, 2, self.kind)
        t.helper("KerasRecurrent", TORCH_RECURRENT)  # brings keras_recurrent_activation
        t.helper("KerasConvLSTM", TORCH_CONV_LSTM)
        names = ["kernel", "recurrent_kernel"] + (["bias"] if self.use_bias else [])
        chans = node.in_shapes[0][2] if self.channels_first else node.in_shapes[0][-1]
        m = t.submodule(f"KerasConvLSTM({self.rank}, {int(chans)}, {self.filters}, {list(self.kernel_size)}, "
                        f"{list(self.strides)}, {list(self.dilation_rate)}, {self.padding!r}, "
                        f"{self.channels_first}, {self.activation!r}, {self.recurrent_activation!r}, "
                        f"{self.use_bias}, {self.go_backwards}, {self.return_sequences}, "
                        f"{self.zero_output_for_mask})", w, {n: ParamSpec(n) for n in names})
        h0 = roles.states[0] if roles.states else "None"
        c0 = roles.states[1] if roles.states else "None"
        result = t.line(f"{m}({roles.x}, {h0}, {c0}, {roles.mask or 'None'})")
        outs = [t.line(f"{result}[{i}]") for i in range(3)]
        return outs if self.return_state else outs[:1]

    # ---- ONNX (unrolled, NCHW inside) -------------------------------------------------
    def to_onnx(self, g, xs, w, node):
        roles = split_inputs(xs, node.call, 2, self.kind)
        x_shape = node.in_shapes[0]
        steps, r, f = x_shape[1], self.rank, self.filters
        if steps is None:
            raise ExportError(f"{self.kind} needs a fixed sequence length to export to ONNX (it is unrolled)",
                              hint="give the model input a fixed time dimension")
        steps = int(steps)
        shape = g.op("Shape", [roles.x])
        x = roles.x if self.channels_first else g.op(
            "Transpose", [roles.x], perm=[0, 1, r + 2, *range(2, r + 2)])  # (B, T, C, *S)
        frames = g.op("Reshape", [x, g.op("Concat", [g.ints([-1]), g.op("Slice", [g.op("Shape", [x]), g.ints([2]),
                                                                                   g.ints([2 ** 62])])], axis=0)])
        spatial = self._spatial(x_shape)
        frames, attrs = onnx_same_padding(g, frames, spatial, self.kernel_size, self.strides, self.dilation_rate,
                                          self.padding)
        inputs = [frames, g.const(kernel_to_oihw(w["kernel"]), f"{node.layer}/kernel")]
        if self.use_bias:
            inputs.append(g.const(w["bias"].astype(np.float32), f"{node.layer}/bias"))
        xp = g.op("Conv", inputs, kernel_shape=list(self.kernel_size), strides=list(self.strides),
                  dilations=list(self.dilation_rate), **attrs)  # (B*T, 4f, *S')
        batch = g.op("Slice", [shape, g.ints([0]), g.ints([1])])
        rest = g.op("Slice", [g.op("Shape", [xp]), g.ints([1]), g.ints([2 ** 62])])
        xp = g.op("Reshape", [xp, g.op("Concat", [batch, g.ints([steps]), rest], axis=0)])  # (B, T, 4f, *S')
        rec_pads = explicit_pads((None,) * r, self.kernel_size, (1,) * r, (1,) * r, "same")
        rec_kernel = g.const(kernel_to_oihw(w["recurrent_kernel"]), f"{node.layer}/recurrent_kernel")
        to_nchw = [0, r + 1, *range(1, r + 1)]
        if roles.states:
            states = [s if self.channels_first else g.op("Transpose", [s], perm=to_nchw) for s in roles.states]
        else:
            frame_shape = g.op("Concat", [batch, g.ints([f]), g.op("Slice", [rest, g.ints([1]), g.ints([2 ** 62])])],
                               axis=0)
            zeros = g.op("ConstantOfShape", [frame_shape])
            states = [zeros, zeros]
        mask = None if roles.mask is None else g.op("Cast", [roles.mask], to=9)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        ra, act = self.recurrent_activation, self.activation
        outputs, prev = [], None
        for t in order:
            zx = g.op("Gather", [xp, g.ints(t)], axis=1)
            h, c = states
            z = g.op("Add", [zx, g.op("Conv", [h, rec_kernel], kernel_shape=list(self.kernel_size),
                                      pads=[p[0] for p in rec_pads] + [p[1] for p in rec_pads])])
            zi, zf, zc, zo = g.op("Split", [z], n_out=4, axis=1, **({"num_outputs": 4} if g.opset >= 18 else {}))
            c_new = g.op("Add", [g.op("Mul", [activation_fns.to_onnx(g, ra, zf), c]),
                                 g.op("Mul", [activation_fns.to_onnx(g, ra, zi), activation_fns.to_onnx(g, act, zc)])])
            h_new = g.op("Mul", [activation_fns.to_onnx(g, ra, zo), activation_fns.to_onnx(g, act, c_new)])
            out, new_states = h_new, [h_new, c_new]
            if mask is not None:
                m = g.op("Unsqueeze", [g.op("Gather", [mask, g.ints(t)], axis=1), g.ints(list(range(1, r + 2)))])
                zero = g.op("Mul", [out, g.const(np.array(0, np.float32))])
                prev = zero if prev is None else prev
                new_states = [g.op("Where", [m, n, s]) for n, s in zip(new_states, states)]
                out = g.op("Where", [m, out, zero if self.zero_output_for_mask else prev])
            states, prev = new_states, out
            outputs.append(out)
        from_nchw = [0, *range(2, r + 2), 1]
        if self.return_sequences:
            y = g.op("Concat", [g.op("Unsqueeze", [o, g.ints([1])]) for o in outputs], axis=1)  # (B, T, f, *S')
            if not self.channels_first:
                y = g.op("Transpose", [y], perm=[0, 1, *range(3, r + 3), 2])
        else:
            y = outputs[-1] if self.channels_first else g.op("Transpose", [outputs[-1]], perm=from_nchw)
        finals = [s if self.channels_first else g.op("Transpose", [s], perm=from_nchw) for s in states]
        return [y] + (finals if self.return_state else [])


TORCH_CONV_LSTM = '''
class KerasConvLSTM(nn.Module):
    \"\"\"Keras ConvLSTM1D/2D/3D with the Keras weight layout ((*k, in, 4f), (*k, f, 4f), (4f,)).\"\"\"

    def __init__(self, rank: int, channels: int, filters: int, kernel: List[int], strides: List[int],
                 dilations: List[int], padding: str, channels_first: bool, activation: str,
                 recurrent_activation: str, use_bias: bool, go_backwards: bool, return_sequences: bool,
                 zero_output_for_mask: bool):
        super().__init__()
        self.rank = rank
        self.filters = filters
        self.kernel_size = kernel
        self.strides = strides
        self.dilations = dilations
        self.padding = padding
        self.channels_first = channels_first
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.go_backwards = go_backwards
        self.return_sequences = return_sequences
        self.zero_output_for_mask = zero_output_for_mask
        self.kernel = nn.Parameter(torch.zeros(kernel + [channels, 4 * filters]))
        self.recurrent_kernel = nn.Parameter(torch.zeros(kernel + [filters, 4 * filters]))
        self.bias = nn.Parameter(torch.zeros(4 * filters)) if use_bias else None
        # (*k, in, out) -> (out, in, *k); channels_last frames -> channels_first and back
        self.to_oik = [rank + 1, rank] + list(range(rank))
        self.to_first = [0, rank + 1] + list(range(1, rank + 1))
        self.to_last = [0] + list(range(2, rank + 2)) + [1]

    def conv(self, x: torch.Tensor, w: torch.Tensor, strides: List[int], dilations: List[int], same: bool,
             bias: Optional[torch.Tensor]) -> torch.Tensor:
        if same:  # TF 'same': the odd pad at the end, computed from the size
            pads: List[int] = []
            for i in range(self.rank - 1, -1, -1):
                size = x.shape[2 + i]
                out = (size + strides[i] - 1) // strides[i]
                total = max((out - 1) * strides[i] + (self.kernel_size[i] - 1) * dilations[i] + 1 - size, 0)
                pads += [total // 2, total - total // 2]
            x = F.pad(x, pads)
        w = w.permute(self.to_oik)
        if self.rank == 1:
            return F.conv1d(x, w, bias, strides, 0, dilations)
        if self.rank == 2:
            return F.conv2d(x, w, bias, strides, 0, dilations)
        return F.conv3d(x, w, bias, strides, 0, dilations)

    def forward(self, x: torch.Tensor, h0: Optional[torch.Tensor], c0: Optional[torch.Tensor],
                mask: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, steps = x.shape[0], x.shape[1]
        frames = x.reshape([b * steps] + list(x.shape[2:]))
        if not self.channels_first:
            frames = frames.permute(self.to_first)
        xp = self.conv(frames, self.kernel, self.strides, self.dilations, self.padding == "same", self.bias)
        xp = xp.reshape([b, steps] + list(xp.shape[1:]))
        ones = [1] * self.rank
        if self.go_backwards:
            xp = torch.flip(xp, [1])
            if mask is not None:
                mask = torch.flip(mask, [1])
        zeros = torch.zeros([b, self.filters] + list(xp.shape[3:]), dtype=x.dtype, device=x.device)
        h = zeros if h0 is None else (h0 if self.channels_first else h0.permute(self.to_first))
        c = zeros if c0 is None else (c0 if self.channels_first else c0.permute(self.to_first))
        prev = zeros
        f = self.filters
        outputs: List[torch.Tensor] = []
        for t in range(steps):
            z = xp[:, t] + self.conv(h, self.recurrent_kernel, ones, ones, True, None)
            i = keras_recurrent_activation(z[:, :f], self.recurrent_activation)
            g = keras_recurrent_activation(z[:, f:2 * f], self.recurrent_activation)
            c_new = g * c + i * keras_recurrent_activation(z[:, 2 * f:3 * f], self.activation)
            o = keras_recurrent_activation(z[:, 3 * f:], self.recurrent_activation)
            out = o * keras_recurrent_activation(c_new, self.activation)
            h_new = out
            if mask is not None:
                m = mask[:, t].to(torch.bool).reshape([b] + [1] * (self.rank + 1))
                h_new = torch.where(m, h_new, h)
                c_new = torch.where(m, c_new, c)
                out = torch.where(m, out, zeros if self.zero_output_for_mask else prev)
            h, c, prev = h_new, c_new, out
            outputs.append(out)
        if self.return_sequences:
            y = torch.stack(outputs, 1)
            if not self.channels_first:
                y = y.permute([0, 1] + list(range(3, self.rank + 3)) + [2])
        else:
            y = prev if self.channels_first else prev.permute(self.to_last)
        if not self.channels_first:
            h, c = h.permute(self.to_last), c.permute(self.to_last)
        return y, h, c
'''
