"""RNN: the generic Keras recurrent layer over a cell (SimpleRNNCell, LSTMCell, GRUCell) or a
stack of them (a list of cells, or StackedRNNCells).

Held as one recurrent op per cell. A stack steps all cells together; that equals running the
cells as successive layers over the whole sequence: the first one reversed when
`go_backwards` (its outputs come in processing order, which the next cells keep), every cell
but the last returning sequences, all seeing the same mask (a masked step holds every cell).
Weights: the cells' in order, prefixed `cell_<i>/` when there are several. Initial and final
states: each cell's states in turn.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import UnsupportedLayerError
from kport.ops.base import ImportContext, Op
from kport.ops.rnn_common import SEQUENCE_KEYS, nested_layer_spec, split_inputs

CELL_LAYERS = {"SimpleRNNCell": "SimpleRNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}

@dataclass
class RNN(Op):
    kind = "RNN"
    keras_classes = ("RNN",)
    accepts_mask: ClassVar[bool] = True

    cells: tuple = ()
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    time_major: bool = False
    zero_output_for_mask: bool = False

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "RNN":
        from kport.ops.registry import op_for_keras_class

        spec = config["cell"]
        if isinstance(spec, dict) and spec.get("class_name") == "StackedRNNCells":
            spec = spec.get("config", {}).get("cells", [])
        specs = spec if isinstance(spec, list) else [spec]
        cells = []
        for s in specs:
            layer_class = CELL_LAYERS.get(s.get("class_name"))
            if layer_class is None:
                raise UnsupportedLayerError(f"RNN over cell '{s.get('class_name')}' is not supported",
                                            hint=f"kport supports the cells {sorted(CELL_LAYERS)}")
            cells.append(op_for_keras_class(layer_class).from_keras(s.get("config", {}), ctx))
        op = super().from_keras({k: v for k, v in config.items() if k != "cell"}, ctx)
        op.cells = tuple(cells)
        if config.get("stateful"):
            import warnings

            warnings.warn(f"{ctx.path or ''} layer '{ctx.layer}': RNN was stateful=True; kport runs it stateless",
                          stacklevel=2)
        return op

    def keras_config(self, flavor: str = "keras3") -> dict:
        cfg = {k: v for k, v in super().keras_config(flavor).items() if k != "cells"}
        if flavor == "keras3":
            cfg.pop("time_major", None)
        else:
            cfg.pop("zero_output_for_mask", None)
        cells = [nested_layer_spec(c, flavor, f"{c.kind.lower()}_cell_{i}", f"{c.kind}Cell", SEQUENCE_KEYS)
                 for i, c in enumerate(self.cells)]
        cfg["cell"] = cells[0] if len(cells) == 1 else nested_layer_spec_stack(cells, flavor)
        return cfg

    def layer_ops(self) -> list[Op]:
        """The cells as successive recurrent layers with this RNN's sequence attributes."""
        ops = []
        last = len(self.cells) - 1
        for i, cell in enumerate(self.cells):
            op = copy.deepcopy(cell)
            op.return_sequences = self.return_sequences if i == last else True
            op.return_state = True
            op.go_backwards = self.go_backwards and i == 0
            op.time_major = self.time_major
            op.zero_output_for_mask = self.zero_output_for_mask
            ops.append(op)
        return ops

    @property
    def n_states(self) -> int:
        return sum(c.n_states for c in self.cells)

    def keras3_vars(self, w: dict) -> dict[str, list]:
        """`.keras` layout: `cell`, or `cell/cells/<cell class>[_n]` for a stack."""
        if len(self.cells) == 1:
            return {"cell": list(w.values())}
        out, seen = {}, {}
        for i, cell in enumerate(self.cells):
            base = {"SimpleRNN": "simple_rnn_cell", "LSTM": "lstm_cell", "GRU": "gru_cell"}[cell.kind]
            n = seen.get(base, 0)
            seen[base] = n + 1
            out[f"cell/cells/{base if n == 0 else f'{base}_{n}'}"] = list(self._cell_weights(w, i).values())
        return out

    def keras_node(self, flavor: str, refs: list, node) -> dict:
        from kport.ops.rnn_common import _state_positions, keras_call_node

        return keras_call_node(flavor, refs, node, [0], {"initial_state": _state_positions(node, len(refs))})

    def num_outputs(self, n_inputs: int) -> int:
        return 1 + self.n_states if self.return_state else 1

    def _prefix(self, i: int) -> str:
        return f"cell_{i}/" if len(self.cells) > 1 else ""

    def weight_shapes(self, in_shapes):
        shapes, x = {}, in_shapes[0]
        for i, op in enumerate(self.layer_ops()):
            shapes.update({self._prefix(i) + k: s for k, s in op.weight_shapes([x]).items()})
            x = op.output_shapes([x])[0] if op.return_sequences else x[:2] + (op.units,)
        return shapes

    def output_shapes(self, in_shapes):
        x, states = in_shapes[0], []
        for op in self.layer_ops():
            outs = op.output_shapes([x])
            x = outs[0]
            states += outs[1:]
        return [x] + (states if self.return_state else [])

    def _cell_weights(self, w: dict, i: int) -> dict:
        prefix = self._prefix(i)
        return {k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}

    def _run(self, xs, call, w, run_cell, reverse):
        roles = split_inputs(xs, call, self.n_states, self.kind)
        x, final, offset = roles.x, [], 0
        for i, op in enumerate(self.layer_ops()):
            sub_xs = [x] + list(roles.states[offset:offset + op.n_states])
            offset += op.n_states
            sub_call = {}
            if roles.mask is not None:
                # after a reversed first cell the sequence is in processing order: so is its mask
                mask = reverse(roles.mask) if self.go_backwards and i > 0 else roles.mask
                sub_call["tensor:mask"] = [len(sub_xs)]
                sub_xs.append(mask)
            outs = run_cell(op, sub_xs, self._cell_weights(w, i), sub_call)
            x = outs[0]
            final += list(outs[1:])
        return [x] + (final if self.return_state else [])

    def reference(self, xs, w):
        return self.reference_node(xs, w, {})

    def reference_node(self, xs, w, call):
        return self._run(xs, call, w, lambda op, sub_xs, sub_w, sub_call: op.reference_node(sub_xs, sub_w, sub_call),
                         lambda m: np.flip(np.asarray(m), axis=1))

    def emit_torch(self, t, x: str, states: list[str], mask: str | None, w: dict, features: int,
                   prefix: str = "", suffix: str = "") -> list[str]:
        """Emits the cells as successive layers (see the module docstring); returns [output, *states]."""
        from kport.ops.rnn_torch import emit_layer

        final, offset = [], 0
        for i, op in enumerate(self.layer_ops()):
            cell_mask = mask if mask is None or not (self.go_backwards and i > 0) else t.line(f"torch.flip({mask}, [1])")
            outs = emit_layer(op, t, x, states[offset:offset + op.n_states], cell_mask, w, features,
                              prefix + self._prefix(i), f"{suffix}_cell{i}" if len(self.cells) > 1 else suffix)
            offset += op.n_states
            x, features = outs[0], op.units
            final += outs[1:]
        return [x] + final

    def to_torch(self, t, xs, w, node):
        if self.time_major:
            raise UnsupportedLayerError("RNN with time_major=True has no PyTorch form yet")
        roles = split_inputs(xs, node.call, self.n_states, self.kind)
        outs = self.emit_torch(t, roles.x, roles.states, roles.mask, w, node.in_shapes[0][-1])
        return outs if self.return_state else outs[:1]

    def to_onnx(self, g, xs, w, node):
        from kport.ops.rnn_onnx import reverse_time

        shapes = {"x": node.in_shapes[0]}

        def run_cell(op, sub_xs, sub_w, sub_call):
            sub_node = dataclasses.replace(node, in_shapes=[shapes["x"]], out_shapes=op.output_shapes([shapes["x"]]),
                                           call=sub_call)
            shapes["x"] = sub_node.out_shapes[0]
            return op.to_onnx(g, sub_xs, sub_w, sub_node)

        return self._run(xs, node.call, w, run_cell, lambda m: reverse_time(g, m, axis=1))


def nested_layer_spec_stack(cells: list[dict], flavor: str) -> dict:
    """A StackedRNNCells entry holding cell entries."""
    spec = {"class_name": "StackedRNNCells", "config": {"cells": cells}}
    return {"module": "keras.layers", **spec, "registered_name": None} if flavor == "keras3" else spec
