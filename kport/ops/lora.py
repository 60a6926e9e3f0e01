"""Keras 3 LoRA factors: a legacy `.h5` stores them beside the full weight; kport merges them on load.

Keras itself merges them when it saves a `.keras` file:
weight + (lora_alpha / lora_rank) * A @ B.
"""
from __future__ import annotations

import numpy as np


def merge_lora(items: list, target: str, rank: int | None, alpha: float | None) -> list:
    """Returns the saved (name, array) list with `lora_<target>_a/_b` folded into `target`.

    Args:
        items: the layer's saved weights, in file order.
        target: the weight the factors adapt ('kernel', 'embeddings').
        rank: the layer's lora_rank (else the factors' inner size).
        alpha: the layer's lora_alpha (else the rank, Keras's default).
    """
    names = [n.split("/")[-1].split(":")[0] for n, _ in items]
    a_name, b_name = f"lora_{target}_a", f"lora_{target}_b"
    if a_name not in names:
        return items
    arrays = dict(zip(names, (np.asarray(a) for _, a in items)))
    a, b = arrays[a_name], arrays[b_name]
    rank = rank or a.shape[-1]
    scale = (alpha if alpha is not None else rank) / rank
    merged = (arrays[target] + scale * np.matmul(a, b)).astype(arrays[target].dtype)
    return [(n, merged if key == target else arr) for (n, arr), key in zip(items, names)
            if key not in (a_name, b_name)]
