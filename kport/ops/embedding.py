"""Embedding: looks up rows of `embeddings` (input_dim, output_dim) by integer index.

Inputs may be any dtype (Keras casts floats to int32, truncating); the output
is float32. `mask_zero` is recorded for the layers that consume masks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ShapeError, UnsupportedLayerError
from kport.ops.base import ImportContext, Op
from kport.ops.lora import merge_lora


@dataclass
class Embedding(Op):
    kind = "Embedding"
    keras_classes = ("Embedding",)
    # the IR dtype of the output tensor, whatever the (integer) input dtype
    output_dtype: ClassVar[str] = "float32"

    input_dim: int = 1
    output_dim: int = 1
    mask_zero: bool = False
    input_length: int | None = None
    # Keras 3 LoRA: a legacy .h5 stores the low-rank factors beside the table; they are merged on load
    lora_rank: int | None = None
    lora_alpha: float | None = None

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Embedding":
        if config.get("quantization_config") or config.get("tile_output"):
            raise UnsupportedLayerError("quantized Embedding layers are not supported",
                                        hint="dequantize the model in Keras before converting")
        return super().from_keras(config, ctx)

    def keras_config(self, flavor: str = "keras3") -> dict:
        cfg = super().keras_config(flavor)
        del cfg["lora_rank"], cfg["lora_alpha"]  # the table is held merged
        if flavor == "keras3":
            del cfg["input_length"]  # Keras 3 dropped the argument
        return cfg

    def load_weights(self, items: list, in_shapes) -> list:
        """Merges Keras 3 LoRA factors into the table (embeddings + alpha/rank * A @ B), as a .keras save does."""
        return merge_lora(items, "embeddings", self.lora_rank, self.lora_alpha)

    def weight_shapes(self, in_shapes):
        return {"embeddings": (self.input_dim, self.output_dim)}

    def output_shapes(self, in_shapes):
        return [tuple(in_shapes[0]) + (self.output_dim,)]

    def reference(self, xs, w):
        idx = xs[0] if xs[0].dtype.kind in "iu" else xs[0].astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.input_dim):
            # numpy would wrap negative indices silently; Keras (TF on CPU) refuses them
            raise ShapeError(f"Embedding index {int(idx.min() if idx.min() < 0 else idx.max())} is outside "
                             f"[0, {self.input_dim})", hint="feed token ids smaller than input_dim")
        return [np.take(w["embeddings"], idx, axis=0).astype(np.float32)]

    def to_onnx(self, g, xs, w, node):
        # Gather takes int32/int64 ids; float ids truncate, as Keras's int cast does
        idx = xs[0] if node.in_dtypes[:1] in (["int32"], ["int64"]) else g.op("Cast", [xs[0]], to=7)
        table = g.const(w["embeddings"].astype(np.float32), f"{node.layer}/embeddings")
        return [g.op("Gather", [table, idx], axis=0)]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        m = t.submodule(f"nn.Embedding({self.input_dim}, {self.output_dim})", w,
                        {"weight": ParamSpec("embeddings")})
        # .long() truncates float ids as Keras's int cast does; int32/int64 ids go in as they are
        ids = xs[0] if node.in_dtypes[:1] in (["int32"], ["int64"]) else f"{xs[0]}.long()"
        return [t.line(f"{m}({ids})")]
