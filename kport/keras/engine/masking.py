"""Keras's implicit masks in the engine, propagated at run time beside the tensors.

Masks come from `Embedding(mask_zero=True)` and `Masking`, pass through
mask-preserving layers, combine in merges (logical and), cross nested-model
boundaries both ways, and reach ops with `accepts_mask` as a 'tensor:mask'
input (one per input for ops with `mask_per_input`, such as Attention). The
rules are tf.keras's and are the ones kport's importer applies to files
(`kport/importers/masks.py`, whose tables this reuses), so an engine model and
its saved file compute the same thing. Custom layers drop masks
(`supports_masking=False`).
"""
from __future__ import annotations

from kport.importers.masks import KEEPS_MASK, MERGES


def output_mask(op, xs: list, in_masks: list):
    """The mask (a torch bool tensor) of an op call's first output, or None."""
    kind = op.kind
    if kind == "Embedding" and getattr(op, "mask_zero", False):
        return xs[0] != 0
    if kind == "Masking":
        return (xs[0] != float(op.mask_value)).any(dim=-1)
    present = [m for m in in_masks if m is not None]
    if not present:
        return None
    if kind in MERGES:
        if kind == "Concatenate" and getattr(op, "axis", -1) not in (-1, xs[0].dim() - 1):
            return None
        out = present[0]
        for m in present[1:]:
            out = out & m
        return out
    propagates = getattr(op, "propagates_mask", None)
    if propagates is None:
        propagates = kind in KEEPS_MASK or (getattr(op, "accepts_mask", False)
                                            and getattr(op, "return_sequences", False))
    return in_masks[0] if propagates else None


def consumed_mask(op, in_masks: list):
    """What an op call receives: its first input's mask, a per-input list (`mask_per_input`), or None."""
    if not getattr(op, "accepts_mask", False) or not in_masks:
        return None
    if getattr(op, "mask_per_input", False):
        return list(in_masks) if any(m is not None for m in in_masks) else None
    return in_masks[0]
