"""Bidirectional: a forward and a backward recurrent layer over the same sequence, merged.

Holds both inner ops as attributes. The backward layer runs with `go_backwards`
flipped; with `return_sequences` its output is flipped back to input time
order before the merge (concat on the last axis, sum, mul, ave, or None = two
outputs). tf.keras 2 and Keras 3 force `zero_output_for_mask = return_sequences`
on both inner layers; multi-backend Keras 2 does not. Weights: the forward layer's, then the backward layer's, prefixed
`forward_` / `backward_`. Initial states: the first half go forward.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ExportError, UnsupportedLayerError
from kport.ops.base import ImportContext, Op
from kport.ops.rnn_common import nested_layer_spec, split_inputs

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


@dataclass
class Bidirectional(Op):
    kind = "Bidirectional"
    keras_classes = ("Bidirectional",)
    accepts_mask: ClassVar[bool] = True

    forward: Op | None = None
    backward: Op | None = None
    merge_mode: str | None = "concat"

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Bidirectional":
        from kport.ops.registry import op_for_keras_class

        def inner(spec: dict) -> Op:
            op_cls = op_for_keras_class(spec.get("class_name"))
            if op_cls is None or not hasattr(op_cls, "n_states"):
                raise UnsupportedLayerError(f"Bidirectional over '{spec.get('class_name')}' is not supported",
                                            hint="kport supports Bidirectional over SimpleRNN, LSTM and GRU")
            return op_cls.from_keras(spec.get("config", {}), ctx)

        forward = inner(config["layer"])
        if config.get("backward_layer"):
            backward = inner(config["backward_layer"])
        else:
            backward = copy.deepcopy(forward)
            backward.go_backwards = not forward.go_backwards
        merge_mode = config.get("merge_mode", "concat")
        if merge_mode not in MERGE_MODES:
            raise UnsupportedLayerError(f"unknown merge_mode '{merge_mode}'", hint=f"use one of {MERGE_MODES}")
        if ctx.flavor != "keras":  # tf.keras 2 and Keras 3 force it; multi-backend Keras 2 (checked on 2.2.4) did not
            for op in (forward, backward):
                op.zero_output_for_mask = op.return_sequences
        return cls(forward=forward, backward=backward, merge_mode=merge_mode)

    def keras_config(self, flavor: str = "keras3") -> dict:
        # Keras names the inner layers forward_<name> / backward_<name> itself
        name = self.forward.kind.lower()
        cfg = {"merge_mode": self.merge_mode, "layer": nested_layer_spec(self.forward, flavor, name)}
        flipped = copy.deepcopy(self.forward)
        flipped.go_backwards = not self.forward.go_backwards
        if self.backward != flipped:
            cfg["backward_layer"] = nested_layer_spec(self.backward, flavor, f"{name}_backward")
        return cfg

    # ---- shapes and weights -------------------------------------------------
    @property
    def return_sequences(self) -> bool:
        return self.forward.return_sequences

    def keras3_vars(self, w: dict) -> dict[str, list]:
        """`.keras` layout: forward_layer/cell and backward_layer/cell."""
        out = {}
        for side, op in (("forward", self.forward), ("backward", self.backward)):
            for sub, arrays in op.keras3_vars(_sub_weights(w, f"{side}_")).items():
                out[f"{side}_layer/{sub}"] = arrays
        return out

    def keras_node(self, flavor: str, refs: list, node) -> dict:
        from kport.ops.rnn_common import _state_positions, keras_call_node

        masked = any(p is not None for p in (node.call or {}).get("tensor:mask", []))
        if masked and self.return_sequences and not self.forward.zero_output_for_mask:
            raise ExportError("this Bidirectional (multi-backend Keras 2) repeats outputs at masked steps; "
                              "tf.keras 2 and Keras 3 zero them", layer=node.layer,
                              hint="export to ONNX or PyTorch, which keep the Keras 2 behaviour")
        return keras_call_node(flavor, refs, node, [0], {"initial_state": _state_positions(node, len(refs))})

    def num_outputs(self, n_inputs: int) -> int:
        n = 1 if self.merge_mode else 2
        if self.forward.return_state:
            n += self.forward.n_states + self.backward.n_states
        return n

    def weight_shapes(self, in_shapes):
        x = in_shapes[:1]
        shapes = {f"forward_{k}": s for k, s in self.forward.weight_shapes(x).items()}
        shapes.update({f"backward_{k}": s for k, s in self.backward.weight_shapes(x).items()})
        return shapes

    def output_shapes(self, in_shapes):
        f = self.forward.output_shapes(in_shapes[:1])
        b = self.backward.output_shapes(in_shapes[:1])
        y, yb = f[0], b[0]
        if self.merge_mode == "concat":
            last = None if y[-1] is None or yb[-1] is None else y[-1] + yb[-1]
            outs = [tuple(y[:-1]) + (last,)]
        elif self.merge_mode is None:
            outs = [y, yb]
        else:
            outs = [y]
        if self.forward.return_state:
            outs += list(f[1:]) + list(b[1:])
        return outs

    # ---- numpy ------------------------------------------------------------------
    def _split(self, xs, call):
        n_f, n_b = self.forward.n_states, self.backward.n_states
        roles = split_inputs(xs, call, n_f + n_b, self.kind)
        return roles, roles.states[:n_f], roles.states[n_f:]

    @staticmethod
    def _inner_inputs(roles, states):
        xs, call = [roles.x] + list(states), {}
        if roles.mask is not None:
            call["tensor:mask"] = [len(xs)]
            xs.append(roles.mask)
        return xs, call

    def reference(self, xs, w):
        return self.reference_node(xs, w, {})

    def reference_node(self, xs, w, call):
        roles, fs, bs = self._split(xs, call)
        f_xs, f_call = self._inner_inputs(roles, fs)
        b_xs, b_call = self._inner_inputs(roles, bs)
        f = self.forward.reference_node(f_xs, _sub_weights(w, "forward_"), f_call)
        b = self.backward.reference_node(b_xs, _sub_weights(w, "backward_"), b_call)
        y, yb = f[0], b[0]
        if self.return_sequences:
            yb = np.flip(yb, axis=0 if self.forward.time_major else 1)
        return self._merge_numpy(y, yb) + f[1:] + b[1:]

    def _merge_numpy(self, y, yb) -> list[np.ndarray]:
        if self.merge_mode == "concat":
            return [np.concatenate([y, yb], axis=-1)]
        if self.merge_mode == "sum":
            return [y + yb]
        if self.merge_mode == "mul":
            return [y * yb]
        if self.merge_mode == "ave":
            return [(y + yb) / np.float32(2)]
        return [y, yb]

    # ---- backends -------------------------------------------------------------------
    def to_torch(self, t, xs, w, node):
        from kport.ops.rnn_torch import emit_layer

        roles, fs, bs = self._split(xs, node.call)
        features = node.in_shapes[0][-1]
        f = emit_layer(self.forward, t, roles.x, fs, roles.mask, w, features, "forward_", "_forward")
        b = emit_layer(self.backward, t, roles.x, bs, roles.mask, w, features, "backward_", "_backward")
        y, yb = f[0], b[0]
        if self.return_sequences:
            yb = t.line(f"torch.flip({yb}, [1])")
        merged = {"concat": lambda: [t.line(f"torch.cat([{y}, {yb}], -1)")],
                  "sum": lambda: [t.line(f"{y} + {yb}")],
                  "mul": lambda: [t.line(f"{y} * {yb}")],
                  "ave": lambda: [t.line(f"({y} + {yb}) / 2")],
                  None: lambda: [y, yb]}[self.merge_mode]()
        return merged + (f[1:] + b[1:] if self.forward.return_state else [])

    def to_onnx(self, g, xs, w, node):
        from kport.ops.rnn_onnx import emit_bidirectional, fusable, reverse_time

        roles, fs, bs = self._split(xs, node.call)
        if fusable(self.forward, self.backward, roles):  # one operator, direction='bidirectional'
            y, yb, f_states, b_states = emit_bidirectional(self.forward, g, roles, fs, bs, _sub_weights(w, "forward_"),
                                                           _sub_weights(w, "backward_"), node.layer)
            f, b = [y] + f_states, [yb] + b_states
        else:
            outs = []
            for op, states, prefix in ((self.forward, fs, "forward_"), (self.backward, bs, "backward_")):
                sub_xs, sub_call = self._inner_inputs(roles, states)
                sub_node = dataclasses.replace(node, layer=f"{node.layer}/{prefix[:-1]}",
                                               in_shapes=[node.in_shapes[0]] + [s for s in node.in_shapes[1:]],
                                               out_shapes=op.output_shapes(node.in_shapes[:1]), call=sub_call)
                outs.append(op.to_onnx(g, sub_xs, _sub_weights(w, prefix), sub_node))
            f, b = outs
            y, yb = f[0], b[0]
            if self.return_sequences:
                yb = reverse_time(g, yb, axis=0 if self.forward.time_major else 1)
        if self.merge_mode == "concat":
            merged = [g.op("Concat", [y, yb], axis=-1)]
        elif self.merge_mode == "sum":
            merged = [g.op("Add", [y, yb])]
        elif self.merge_mode == "mul":
            merged = [g.op("Mul", [y, yb])]
        elif self.merge_mode == "ave":
            merged = [g.op("Mul", [g.op("Add", [y, yb]), g.const(np.array(0.5, np.float32))])]
        else:
            merged = [y, yb]
        return merged + list(f[1:]) + list(b[1:])


def _sub_weights(w: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}
