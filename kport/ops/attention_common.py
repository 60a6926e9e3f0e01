"""What Attention and AdditiveAttention share: inputs, masks, softmax over keys, outputs.

Keras (tf.keras base_dense_attention.py, keras/src/layers/attention/attention.py):
inputs [query, value, key?] (key defaults to value); masks [query_mask,
value_mask]; scores (batch, Tq, Tv) get -1e9 where the value mask (and the
causal mask, when `use_causal_mask` / legacy config `causal`) is false; the
output softmax(scores) @ value is zeroed where the query mask is false. Every
call has two outputs: the attention output and the attention scores (Keras
returns the second with `return_attention_scores=True`; unused otherwise).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ShapeError
from kport.ops.base import Op

NEG = np.float32(1.0e9)


@dataclass
class Roles:
    query: object
    value: object
    key: object
    query_mask: object = None
    value_mask: object = None


def split_roles(xs: list, call: dict, kind: str) -> Roles:
    """Sorts a node's inputs into query, value, key and their masks."""
    call = call or {}
    mask_pos = list(call.get("tensor:mask", []))
    tensors = [x for i, x in enumerate(xs) if i not in mask_pos]
    if len(tensors) not in (2, 3):
        raise ShapeError(f"{kind} takes [query, value] or [query, value, key], got {len(tensors)} tensors")
    masks = [None if p is None else xs[p] for p in mask_pos] + [None, None]
    key = tensors[2] if len(tensors) == 3 else tensors[1]
    return Roles(tensors[0], tensors[1], key, masks[0], masks[1])


@dataclass
class DenseAttentionOp(Op):
    """Base of Attention / AdditiveAttention; subclasses define the scores."""

    accepts_mask: ClassVar[bool] = True
    # masks come per input ([query_mask, value_mask]), not one for the whole call
    mask_per_input: ClassVar[bool] = True
    # the output carries the query's mask
    propagates_mask: ClassVar[bool] = True

    causal: bool = False

    def num_outputs(self, n_inputs: int) -> int:
        return 2

    def keras_config(self, flavor: str = "keras3") -> dict:
        """The legacy `causal` option is written as the call's `use_causal_mask` (see keras_node)."""
        return {k: v for k, v in super().keras_config(flavor).items() if k != "causal"}

    def keras_node(self, flavor: str, refs: list, node) -> dict:
        """The written call: [query, value, key?] as one list (masks are derived again on load)."""
        from kport.ops.rnn_common import keras_call_node

        masks = {p for p in node.call.get("tensor:mask", []) if p is not None}
        if self.causal and "use_causal_mask" not in node.call:
            node = dataclasses.replace(node, call={**node.call, "use_causal_mask": True})
        spec = keras_call_node(flavor, refs, node, [i for i in range(len(refs)) if i not in masks], {})
        if flavor == "keras3" and not isinstance(spec["inbound"]["args"][0], list):
            spec["inbound"]["args"] = [spec["inbound"]["args"]]
        return spec

    def output_shapes(self, in_shapes):
        q, v = in_shapes[0], in_shapes[1]
        return [tuple(q[:-1]) + (v[-1],), tuple(q[:-1]) + (v[-2],)]

    def _causal(self, call: dict) -> bool:
        return bool((call or {}).get("use_causal_mask", self.causal))

    # ---- numpy ---------------------------------------------------------------
    def scores(self, q: np.ndarray, k: np.ndarray, w: dict) -> np.ndarray:
        raise NotImplementedError

    def reference(self, xs, w):
        return self.reference_node(xs, w, {})

    def reference_node(self, xs, w, call):
        r = split_roles(xs, call, self.kind)
        q, v, k = (np.asarray(a, np.float32) for a in (r.query, r.value, r.key))
        scores = self.scores(q, k, w).astype(np.float32)
        keep = None
        if r.value_mask is not None:
            keep = np.asarray(r.value_mask).astype(bool)[:, None, :]
        if self._causal(call):
            tq, tv = scores.shape[-2:]
            causal = np.arange(tq)[:, None] >= np.arange(tv)[None, :]
            keep = causal[None] if keep is None else keep & causal[None]
        if keep is not None:
            scores = np.where(keep, scores, scores - NEG)
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
        out = np.matmul(weights, v)
        if r.query_mask is not None:
            out = np.where(np.asarray(r.query_mask).astype(bool)[..., None], out, 0)
        return [out.astype(np.float32), weights]

    # ---- PyTorch ------------------------------------------------------------------
    def scores_torch(self, t, q: str, k: str, params: str | None) -> str:
        raise NotImplementedError

    def to_torch(self, t, xs, w, node):
        r = split_roles(xs, node.call, self.kind)
        params = torch_params(t, w) if w else None
        scores = self.scores_torch(t, r.query, r.key, params)
        keep = None
        if r.value_mask is not None:
            keep = t.line(f"{r.value_mask}.to(torch.bool).unsqueeze(1)")
        if self._causal(node.call):
            causal = torch_causal(t, scores)
            keep = causal if keep is None else t.line(f"{keep} & {causal}")
        if keep is not None:
            scores = t.line(f"torch.where({keep}, {scores}, {scores} - 1.0e9)")
        weights = t.line(f"torch.softmax({scores}, -1)")
        out = t.line(f"torch.matmul({weights}, {r.value})")
        if r.query_mask is not None:
            out = t.line(f"torch.where({r.query_mask}.to(torch.bool).unsqueeze(-1), {out}, torch.zeros_like({out}))")
        return [out, weights]

    # ---- ONNX -------------------------------------------------------------------
    def scores_onnx(self, g, q: str, k: str, w: dict, layer: str) -> str:
        raise NotImplementedError

    def to_onnx(self, g, xs, w, node):
        r = split_roles(xs, node.call, self.kind)
        scores = self.scores_onnx(g, r.query, r.key, w, node.layer)
        keep = None
        if r.value_mask is not None:
            keep = g.op("Unsqueeze", [g.op("Cast", [r.value_mask], to=9), g.ints([1])])
        if self._causal(node.call):
            shape = g.op("Shape", [scores])
            tq = g.op("Squeeze", [g.op("Slice", [shape, g.ints([-2]), g.ints([-1])]), g.ints([0])])
            tv = g.op("Squeeze", [g.op("Slice", [shape, g.ints([-1]), g.ints([2 ** 62])]), g.ints([0])])
            zero, one = g.const(np.array(0, np.int64)), g.const(np.array(1, np.int64))
            rows = g.op("Unsqueeze", [g.op("Range", [zero, tq, one]), g.ints([1])])
            cols = g.op("Unsqueeze", [g.op("Range", [zero, tv, one]), g.ints([0])])
            causal = g.op("GreaterOrEqual", [rows, cols])
            keep = causal if keep is None else g.op("And", [keep, causal])
        if keep is not None:
            scores = g.op("Where", [keep, scores, g.op("Sub", [scores, g.const(NEG)])])
        weights = g.op("Softmax", [scores], axis=-1)
        out = g.op("MatMul", [weights, r.value])
        if r.query_mask is not None:
            qm = g.op("Unsqueeze", [g.op("Cast", [r.query_mask], to=9), g.ints([-1])])
            out = g.op("Where", [qm, out, g.const(np.array(0, np.float32))])
        return [out, weights]


# a module holding weights under their Keras names, for layers computed in forward lines
TORCH_PARAMS = '''
from typing import Dict, List


class KerasParams(nn.Module):
    """A layer's weights under their Keras names (the layer computes in forward lines)."""

    def __init__(self, shapes: Dict[str, List[int]]):
        super().__init__()
        for name, shape in shapes.items():
            self.register_parameter(name, nn.Parameter(torch.zeros(shape)))
'''


def torch_params(t, w: dict) -> str:
    """Declares a KerasParams submodule holding `w` as is; returns its `self.<attr>`."""
    from kport.exporters.torch.emitter import ParamSpec

    t.helper("KerasParams", TORCH_PARAMS)
    shapes = {k: [int(d) for d in np.shape(v)] for k, v in w.items()}
    return t.submodule(f"KerasParams({shapes!r})", w, {k: ParamSpec(k) for k in w})


def torch_causal(t, scores: str) -> str:
    """The (Tq, Tv) lower-triangular keep mask of a scores tensor, as a forward variable."""
    rows = t.line(f"torch.arange({scores}.shape[-2], device={scores}.device).unsqueeze(1)")
    cols = t.line(f"torch.arange({scores}.shape[-1], device={scores}.device).unsqueeze(0)")
    return t.line(f"{rows} >= {cols}")
