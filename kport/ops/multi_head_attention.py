"""MultiHeadAttention over rank-3 inputs (attention over axis 1), as Keras 3 and tf.keras compute it.

q/k/v = input @ kernel (dim, heads, key_dim|value_dim) + bias; scores = (q / sqrt(key_dim)) . k
per head, (batch, heads, Tq, Tv); the attention mask is the AND of the query mask (B, Tq, 1),
the value and key masks (B, 1, Tv), `attention_mask` (B, Tq, Tv) and the causal mask;
masked scores get -1e9; output = concat_heads(softmax @ v) @ output kernel + bias.
A fully masked row (a masked query step) gets uniform weights, except in Keras 3 when the
scores are returned: its masked softmax zeroes them. Two outputs: the output and the scores.
Inputs: query, value, key positionally or as keywords ('tensor:value', ...); Keras masks per
input ('tensor:mask', aligned with the inputs) or as 'tensor:query_mask' / ..._mask keywords.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ExportError, ShapeError, UnsupportedLayerError
from kport.ops.base import ImportContext, Op

NEG = np.float32(1.0e9)
ROLES = ("query", "value", "key")


@dataclass
class MultiHeadAttention(Op):
    kind = "MultiHeadAttention"
    keras_classes = ("MultiHeadAttention",)
    accepts_mask: ClassVar[bool] = True
    mask_per_input: ClassVar[bool] = True
    propagates_mask: ClassVar[bool] = True

    num_heads: int = 1
    key_dim: int = 1
    value_dim: int | None = None
    use_bias: bool = True
    output_shape: tuple | None = None
    # Keras 3's masked softmax zeroes fully masked rows (seen only when the scores are returned)
    zero_masked_rows: bool = False
    # Keras 3 reads the query mask off the query tensor and ignores a `query_mask=` argument
    ignores_query_mask_argument: bool = False

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "MultiHeadAttention":
        axes = config.get("attention_axes")
        if axes not in (None, 1, (1,), [1], -2, [-2]):
            raise UnsupportedLayerError(f"attention_axes={axes} is not supported",
                                        hint="kport supports attention over axis 1 of rank-3 inputs")
        if config.get("use_gate") or config.get("sliding_window"):
            raise UnsupportedLayerError("gated or sliding-window MultiHeadAttention is not supported")
        op = super().from_keras(config, ctx)
        if isinstance(op.output_shape, int):
            op.output_shape = (op.output_shape,)
        op.zero_masked_rows = op.ignores_query_mask_argument = ctx.flavor == "keras3"
        return op

    def keras_config(self, flavor: str = "keras3") -> dict:
        cfg = {k: v for k, v in super().keras_config(flavor).items()
               if k not in ("zero_masked_rows", "ignores_query_mask_argument")}
        if cfg.get("output_shape") and len(cfg["output_shape"]) == 1 and flavor != "keras3":
            cfg["output_shape"] = cfg["output_shape"][0]
        if flavor != "keras3":  # tf.keras reads these build shapes back (None: built on first call)
            cfg.update(query_shape=None, key_shape=None, value_shape=None)
        return cfg

    @property
    def v_dim(self) -> int:
        return self.value_dim or self.key_dim

    def num_outputs(self, n_inputs: int) -> int:
        return 2

    def keras3_vars(self, w: dict) -> dict[str, list]:
        """`.keras` layout: one EinsumDense sub-layer per projection."""
        return {f"{part}_dense": [w[k] for k in (f"{part}_kernel", f"{part}_bias") if k in w]
                for part in ("query", "key", "value", "output")}

    def keras_node(self, flavor: str, refs: list, node) -> dict:
        """The written call: query (and value) positionally, key / attention_mask as keywords."""
        from kport.ops.rnn_common import keras_call_node

        call = node.call or {}
        masked = any(p is not None for p in call.get("tensor:mask", [])) or call.get("tensor:attention_mask")
        if (flavor == "keras3") != self.zero_masked_rows and call.get("return_attention_scores") and masked:
            raise ExportError("Keras 3 zeroes the scores of fully masked rows, tf.keras returns uniform ones: "
                              f"the {flavor} file would compute other scores", layer=node.layer,
                              hint="write the other Keras format, or ONNX/PyTorch")
        keyword = {k[len("tensor:"):]: [p for p in v if p is not None] for k, v in call.items()
                   if k.startswith("tensor:") and k[len("tensor:"):] in ("value", "key", "attention_mask")}
        taken = {p for k, v in call.items() if k.startswith("tensor:") for p in v if p is not None}
        positional = [i for i in range(len(refs)) if i not in taken][:2]
        if flavor != "keras3" and len(positional) == 2:  # tf.keras records the value as a keyword
            keyword["value"], positional = [positional[1]], positional[:1]
        spec = keras_call_node(flavor, refs, node, positional, keyword)
        if flavor == "keras3":
            args = spec["inbound"]["args"]
            spec["inbound"]["args"] = args[0] if args and isinstance(args[0], list) else args
        return spec

    # ---- inputs -----------------------------------------------------------------
    def roles(self, xs: list, call: dict) -> dict:
        """Maps 'query', 'value', 'key', their masks and 'attention_mask' to inputs (None if absent)."""
        call = call or {}
        keyword = {k[len("tensor:"):]: v for k, v in call.items() if k.startswith("tensor:")}
        taken = {p for v in keyword.values() for p in v if p is not None}
        positional = [i for i in range(len(xs)) if i not in taken]
        slots = {}
        for role in ROLES:
            if keyword.get(role):
                slots[role] = keyword[role][0]
            elif positional:
                slots[role] = positional.pop(0)
        if "query" not in slots or "value" not in slots:
            raise ShapeError("MultiHeadAttention needs a query and a value")
        found = {role: xs[i] for role, i in slots.items()}
        per_input = keyword.get("mask", [])
        for role, i in slots.items():
            explicit = keyword.get(f"{role}_mask")
            if role == "query" and self.ignores_query_mask_argument:
                explicit = None
            if explicit and explicit[0] is not None:
                found[f"{role}_mask"] = xs[explicit[0]]
            elif i < len(per_input) and per_input[i] is not None:
                found[f"{role}_mask"] = xs[per_input[i]]
        if keyword.get("attention_mask") and keyword["attention_mask"][0] is not None:
            found["attention_mask"] = xs[keyword["attention_mask"][0]]
        if "key" not in found or slots.get("key") == slots.get("value"):
            found["key"] = found["value"]
            found.pop("key_mask", None)  # Keras ignores the key mask when the key is the value
        return found

    # ---- shapes and weights ---------------------------------------------------------
    def _dims(self, in_shapes):
        q = in_shapes[0]
        v = in_shapes[1] if len(in_shapes) > 1 else q
        return q[-1], v[-1]

    def weight_shapes(self, in_shapes):
        q_dim, v_dim = self._dims(in_shapes)
        n, kd, vd = self.num_heads, self.key_dim, self.v_dim
        out = self.output_shape[-1] if self.output_shape else q_dim
        # the key's feature size is not known here (it may come as a keyword input): None accepts any
        shapes = {"query_kernel": (q_dim, n, kd), "query_bias": (n, kd), "key_kernel": (None, n, kd),
                  "key_bias": (n, kd), "value_kernel": (v_dim, n, vd), "value_bias": (n, vd),
                  "output_kernel": (n, vd, out), "output_bias": (out,)}
        if not self.use_bias:
            shapes = {k: s for k, s in shapes.items() if not k.endswith("_bias")}
        return shapes

    def load_weights(self, items: list, in_shapes) -> list:
        """Puts saved weights in Keras order (query, key, value, output): a `.keras` file lists its
        sub-layers alphabetically (key_dense, output_dense, query_dense, value_dense)."""
        def rank(item) -> int:
            for part in reversed(item[0].replace("\\", "/").split("/")[:-1]):
                for i, prefix in enumerate(("query", "key", "value", "output", "attention_output")):
                    if part.startswith(prefix):
                        return min(i, 3)
            return 0

        ranks = [rank(it) for it in items]
        if len(set(ranks)) == 1:
            return items
        return [it for _, it in sorted(zip(ranks, items), key=lambda p: p[0])]

    def output_shapes(self, in_shapes):
        q = in_shapes[0]
        v = in_shapes[1] if len(in_shapes) > 1 else q
        out = self.output_shape[-1] if self.output_shape else q[-1]
        return [tuple(q[:-1]) + (out,), (q[0], self.num_heads, q[1], v[1])]

    # ---- numpy ----------------------------------------------------------------------
    def _mask_numpy(self, r: dict, call: dict, tq: int, tv: int):
        keep = None

        def both(a, b):
            return b if a is None else a & b

        if r.get("query_mask") is not None:
            keep = np.asarray(r["query_mask"]).astype(bool)[:, :, None]
        for role in ("value_mask", "key_mask"):
            if r.get(role) is not None:
                keep = both(keep, np.asarray(r[role]).astype(bool)[:, None, :])
        if r.get("attention_mask") is not None:
            keep = both(keep, np.asarray(r["attention_mask"]).astype(bool))
        if (call or {}).get("use_causal_mask"):
            keep = both(keep, (np.arange(tq)[:, None] >= np.arange(tv)[None, :])[None])
        return keep

    def reference(self, xs, w):
        return self.reference_node(xs, w, {})

    def reference_node(self, xs, w, call):
        r = self.roles(xs, call)
        q, k, v = (np.asarray(r[n], np.float32) for n in ("query", "key", "value"))

        def project(x, name):
            y = np.einsum("btd,dnh->btnh", x, w[f"{name}_kernel"])
            return y + w[f"{name}_bias"] if self.use_bias else y

        qp = project(q, "query") * np.float32(1.0 / math.sqrt(self.key_dim))
        kp, vp = project(k, "key"), project(v, "value")
        scores = np.einsum("bsnh,btnh->bnts", kp, qp).astype(np.float32)
        keep = self._mask_numpy(r, call, q.shape[1], k.shape[1])
        if keep is not None:
            scores = np.where(keep[:, None], scores, scores - NEG)
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
        if keep is not None and self.zero_masked_rows and (call or {}).get("return_attention_scores"):
            weights = np.where(keep[:, None], weights, 0).astype(np.float32)
        heads = np.einsum("bnts,bsnh->btnh", weights, vp)
        out = np.einsum("btnh,nho->bto", heads, w["output_kernel"])
        if self.use_bias:
            out = out + w["output_bias"]
        return [out.astype(np.float32), weights]

    # ---- PyTorch ----------------------------------------------------------------------
    def to_torch(self, t, xs, w, node):
        from kport.ops.attention_common import torch_causal, torch_params

        r = self.roles(xs, node.call)
        p = torch_params(t, w)

        def project(x, name):
            y = t.line(f"torch.einsum('btd,dnh->btnh', {x}, {p}.{name}_kernel)")
            return t.line(f"{y} + {p}.{name}_bias") if self.use_bias else y

        q = t.line(f"{project(r['query'], 'query')} * {1.0 / math.sqrt(self.key_dim)!r}")
        k, v = project(r["key"], "key"), project(r["value"], "value")
        scores = t.line(f"torch.einsum('bsnh,btnh->bnts', {k}, {q})")
        parts = []
        if r.get("query_mask") is not None:
            parts.append(t.line(f"{r['query_mask']}.to(torch.bool).unsqueeze(1).unsqueeze(3)"))
        for role in ("value_mask", "key_mask"):
            if r.get(role) is not None:
                parts.append(t.line(f"{r[role]}.to(torch.bool).unsqueeze(1).unsqueeze(2)"))
        if r.get("attention_mask") is not None:
            parts.append(t.line(f"{r['attention_mask']}.to(torch.bool).unsqueeze(1)"))
        if node.call.get("use_causal_mask"):
            parts.append(torch_causal(t, scores))
        keep = None
        for part in parts:
            keep = part if keep is None else t.line(f"{keep} & {part}")
        if keep is not None:
            scores = t.line(f"torch.where({keep}, {scores}, {scores} - 1.0e9)")
        weights = t.line(f"torch.softmax({scores}, -1)")
        if keep is not None and self.zero_masked_rows and node.call.get("return_attention_scores"):
            weights = t.line(f"torch.where({keep}, {weights}, torch.zeros_like({weights}))")
        heads = t.line(f"torch.einsum('bnts,bsnh->btnh', {weights}, {v})")
        out = t.line(f"torch.einsum('btnh,nho->bto', {heads}, {p}.output_kernel)")
        if self.use_bias:
            out = t.line(f"{out} + {p}.output_bias")
        return [out, weights]

    # ---- ONNX -----------------------------------------------------------------------
    def to_onnx(self, g, xs, w, node):
        r = self.roles(xs, node.call)
        n, kd, vd = self.num_heads, self.key_dim, self.v_dim

        def project(x, name, size, perm):
            kernel = w[f"{name}_kernel"]
            y = g.op("MatMul", [x, g.const(kernel.reshape(kernel.shape[0], -1), f"{node.layer}/{name}/kernel")])
            if self.use_bias:
                y = g.op("Add", [y, g.const(w[f"{name}_bias"].reshape(-1), f"{node.layer}/{name}/bias")])
            y = g.op("Reshape", [y, g.ints([0, 0, n, size])])
            return g.op("Transpose", [y], perm=perm)

        qp = project(r["query"], "query", kd, [0, 2, 1, 3])  # (B, n, Tq, kd)
        qp = g.op("Mul", [qp, g.const(np.array(1.0 / math.sqrt(kd), np.float32))])
        kp = project(r["key"], "key", kd, [0, 2, 3, 1])  # (B, n, kd, Tv)
        vp = project(r["value"], "value", vd, [0, 2, 1, 3])  # (B, n, Tv, vd)
        scores = g.op("MatMul", [qp, kp])
        keep = self._mask_onnx(g, r, node.call, scores)
        if keep is not None:
            scores = g.op("Where", [keep, scores, g.op("Sub", [scores, g.const(NEG)])])
        weights = g.op("Softmax", [scores], axis=-1)
        if keep is not None and self.zero_masked_rows and node.call.get("return_attention_scores"):
            weights = g.op("Where", [keep, weights, g.const(np.array(0, np.float32))])
        heads = g.op("Transpose", [g.op("MatMul", [weights, vp])], perm=[0, 2, 1, 3])
        heads = g.op("Reshape", [heads, g.ints([0, 0, n * vd])])
        kernel = w["output_kernel"]
        out = g.op("MatMul", [heads, g.const(kernel.reshape(n * vd, -1), f"{node.layer}/attention_output/kernel")])
        if self.use_bias:
            out = g.op("Add", [out, g.const(w["output_bias"], f"{node.layer}/attention_output/bias")])
        return [out, weights]

    def _mask_onnx(self, g, r: dict, call: dict, scores: str):
        """The (B, 1, Tq, Tv)-broadcastable boolean keep mask, or None."""
        parts = []
        if r.get("query_mask") is not None:
            parts.append(g.op("Unsqueeze", [g.op("Cast", [r["query_mask"]], to=9), g.ints([1, 3])]))
        for role in ("value_mask", "key_mask"):
            if r.get(role) is not None:
                parts.append(g.op("Unsqueeze", [g.op("Cast", [r[role]], to=9), g.ints([1, 2])]))
        if r.get("attention_mask") is not None:
            parts.append(g.op("Unsqueeze", [g.op("Cast", [r["attention_mask"]], to=9), g.ints([1])]))
        if (call or {}).get("use_causal_mask"):
            shape = g.op("Shape", [scores])
            tq = g.op("Squeeze", [g.op("Slice", [shape, g.ints([-2]), g.ints([-1])]), g.ints([0])])
            tv = g.op("Squeeze", [g.op("Slice", [shape, g.ints([-1]), g.ints([2 ** 62])]), g.ints([0])])
            zero, one = g.const(np.array(0, np.int64)), g.const(np.array(1, np.int64))
            rows = g.op("Unsqueeze", [g.op("Range", [zero, tq, one]), g.ints([1])])
            cols = g.op("Unsqueeze", [g.op("Range", [zero, tv, one]), g.ints([0])])
            parts.append(g.op("GreaterOrEqual", [rows, cols]))
        if not parts:
            return None
        keep = parts[0]
        for p in parts[1:]:
            keep = g.op("And", [keep, p])
        return keep
