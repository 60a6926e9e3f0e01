"""Recurrent layers whose hard_sigmoid the target Keras reads as another formula, rewritten exactly.

Keras 1/2 and tf.keras define hard_sigmoid as clip(0.2x + 0.5, 0, 1); Keras 3 as
relu6(x + 3) / 6 = clip(x/6 + 0.5, 0, 1). They differ only by a scale of the
argument: hard_sigmoid_v2(x) = hard_sigmoid_v3(1.2 x), hard_sigmoid_v3(x) =
hard_sigmoid_v2(x / 1.2). Inside a recurrent cell the argument of a gate is
linear in the layer's weights (x @ kernel + h @ recurrent_kernel + bias), so the
gate is written with the target's `hard_sigmoid` and the kernel, recurrent
kernel and bias columns of that gate multiplied by 1.2 (Keras 3) or 5/6
(tf.keras). Which blocks can be rescaled:

- `recurrent_activation`: LSTM / ConvLSTM gates i, f, o; GRU gates z, r.
- `activation`: SimpleRNN (its whole output); GRU's candidate h (linear in its
  weights also with reset_after, where r multiplies h @ U_h + b_rh).
- an LSTM's `activation` also acts on the cell state c, which no weight
  scales: it stays as it is and the writer refuses it.

Precision: the scaled weights are rounded once to float32 (0.5 ulp each), so a
gate pre-activation z differs from 1.2 z (or z / 1.2) by about 2**-24 times
sum(|terms|); through the slope 1/6 (1/5) that is below 1e-7 of the summed
magnitudes, far inside the parity tolerance 1e-5 + 1e-4 |b|. Both hard
sigmoids are continuous, so the knees at |z| = 2.5 / 3 add no jump.
"""
from __future__ import annotations

import copy
import dataclasses

import numpy as np

from kport.ir.graph import Graph, Layer
from kport.ops.base import Op

# flavor -> (the activation it misreads, what to write instead, scale of the gate pre-activations)
REWRITES: dict[str, tuple[str, str, float]] = {
    "keras3": ("hard_sigmoid", "hard_sigmoid_v3", 1.2),
    "tf.keras": ("hard_sigmoid_v3", "hard_sigmoid", 1.0 / 1.2),
}

# kind -> (gate blocks on the weights' last axis, blocks of `recurrent_activation`, blocks of `activation`);
# None: that activation cannot be rescaled
GATE_BLOCKS: dict[str, tuple[int, tuple[int, ...], tuple[int, ...] | None]] = {
    "LSTM": (4, (0, 1, 3), None),
    "GRU": (3, (0, 1), (2,)),
    "SimpleRNN": (1, (), (0,)),
    "ConvLSTM1D": (4, (0, 1, 3), None),
    "ConvLSTM2D": (4, (0, 1, 3), None),
    "ConvLSTM3D": (4, (0, 1, 3), None),
}


def is_recurrent(op: Op) -> bool:
    """Whether the op applies its activations inside a recurrence (or wraps one that does)."""
    return op.kind in GATE_BLOCKS or hasattr(op, "n_states") or hasattr(op, "cells") or hasattr(op, "forward")


def lower_recurrent_gates(graph: Graph, flavor: str) -> Graph:
    """Returns a graph whose recurrent hard_sigmoids the Keras `flavor` reads exactly.

    Layers are replaced by copies with the target's hard_sigmoid and rescaled
    weights; `graph` itself is never changed. Unchanged when nothing needs it.
    """
    changed = {}
    for name, layer in graph.layers.items():
        rewritten = rescale(layer.op, layer.weights, flavor)
        if rewritten is not None:
            op, weights = rewritten
            changed[name] = Layer(name, op, weights, layer.trainable, layer.scope)
    if not changed:
        return graph
    out = copy.copy(graph)
    out.layers = {name: changed.get(name, layer) for name, layer in graph.layers.items()}
    return out


def rescale(op: Op, weights: dict, flavor: str) -> tuple[Op, dict] | None:
    """(op, weights) rewritten for `flavor`, or None when the op needs no rewrite.

    Walks into RNN cells, Bidirectional sides and TimeDistributed layers, whose
    weights carry the prefixes `cell_<i>/` (stacks only), `forward_`, `backward_`.
    """
    if getattr(op, "cells", None):
        cells, out, hit = [], dict(weights), False
        for i, cell in enumerate(op.cells):
            prefix = f"cell_{i}/" if len(op.cells) > 1 else ""  # how RNN names a stack's weights
            done = _rescale_prefixed(cell, weights, prefix, flavor)
            cells.append(done[0] if done else cell)
            if done:
                out.update(done[1])
                hit = True
        return (dataclasses.replace(op, cells=tuple(cells)), out) if hit else None
    if getattr(op, "forward", None) is not None and getattr(op, "backward", None) is not None:
        sides, out = {}, dict(weights)
        for side in ("forward", "backward"):
            done = _rescale_prefixed(getattr(op, side), weights, f"{side}_", flavor)
            sides[side] = done[0] if done else getattr(op, side)
            if done:
                out.update(done[1])
        if sides["forward"] is op.forward and sides["backward"] is op.backward:
            return None
        return dataclasses.replace(op, **sides), out
    if op.kind == "TimeDistributed" and op.layer is not None:
        done = rescale(op.layer, weights, flavor)
        return (dataclasses.replace(op, layer=done[0]), done[1]) if done else None
    return _rescale_cell(op, weights, flavor)


def _rescale_prefixed(op: Op, weights: dict, prefix: str, flavor: str) -> tuple[Op, dict] | None:
    own = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    done = rescale(op, own, flavor)
    if done is None:
        return None
    return done[0], {prefix + k: v for k, v in done[1].items()}


def _rescale_cell(op: Op, weights: dict, flavor: str) -> tuple[Op, dict] | None:
    if op.kind not in GATE_BLOCKS:
        return None
    misread, written, factor = REWRITES[flavor]
    n_blocks, gate_blocks, act_blocks = GATE_BLOCKS[op.kind]
    blocks: set[int] = set()
    changes = {}
    if getattr(op, "recurrent_activation", None) == misread:
        blocks.update(gate_blocks)
        changes["recurrent_activation"] = written
    if op.activation == misread and act_blocks is not None:
        blocks.update(act_blocks)
        changes["activation"] = written
    if not changes:
        return None
    scale = np.ones(n_blocks, np.float64)
    scale[sorted(blocks)] = factor
    return dataclasses.replace(op, **changes), {k: _scale_columns(w, scale) for k, w in weights.items()}


def _scale_columns(w: np.ndarray, block_scale: np.ndarray) -> np.ndarray:
    """Multiplies each of the equal gate blocks on the last axis by its scale (one float32 rounding)."""
    columns = np.repeat(block_scale, w.shape[-1] // len(block_scale))
    return (w.astype(np.float64) * columns).astype(w.dtype)
