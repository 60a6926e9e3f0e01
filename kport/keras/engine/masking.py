"""Keras's implicit masks in the engine: which tensors carry one, and computing it with torch.

A symbolic tensor may carry a mask expression (from `Embedding(mask_zero=True)`
or `Masking`, kept by mask-preserving layers, combined by merges). A node
whose op accepts masks gets the mask of its first input as a 'tensor:mask'
input when it runs. The rules are tf.keras's and are the ones kport's
importer applies to files (`kport/importers/masks.py`, whose tables this
reuses), so an engine model and its saved file compute the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass

from kport.importers.masks import KEEPS_MASK, MERGES


@dataclass(frozen=True, eq=False)
class MaskExpr:
    """A mask: `not_equal` / `any_not_equal` of a source tensor against `value`, or `and` of masks."""

    mode: str
    sources: tuple
    value: float = 0.0


def output_mask(op, inputs: list, out_shape: tuple) -> MaskExpr | None:
    """The mask a layer call's (first) output carries, by tf.keras's propagation rules."""
    kind = op.kind
    if kind == "Embedding" and getattr(op, "mask_zero", False):
        return MaskExpr("not_equal", (inputs[0],), 0.0)
    if kind == "Masking":
        return MaskExpr("any_not_equal", (inputs[0],), float(op.mask_value))
    in_masks = [getattr(t, "keras_mask", None) for t in inputs]
    present = [m for m in in_masks if m is not None]
    if not present:
        return None
    if kind in MERGES:
        if kind == "Concatenate" and getattr(op, "axis", -1) not in (-1, len(out_shape) - 1):
            return None
        return present[0] if len(present) == 1 else MaskExpr("and", tuple(present))
    propagates = getattr(op, "propagates_mask", None)
    if propagates is None:
        propagates = kind in KEEPS_MASK or (getattr(op, "accepts_mask", False)
                                            and getattr(op, "return_sequences", False))
    return in_masks[0] if propagates else None


def consumed_mask(op, inputs: list):
    """The mask a node passes to its op: the first input's (a MaskExpr), or for ops with
    `mask_per_input` (Attention) a list with one entry per input (None where unmasked); None if none."""
    if not getattr(op, "accepts_mask", False) or not inputs:
        return None
    if getattr(op, "mask_per_input", False):
        masks = [getattr(t, "keras_mask", None) for t in inputs]
        return masks if any(m is not None for m in masks) else None
    return getattr(inputs[0], "keras_mask", None)


def evaluate_for_node(consumed, values: dict):
    """Evaluates a node's consumed mask(s); a mask shared by several inputs is computed once."""
    if isinstance(consumed, MaskExpr):
        return evaluate(consumed, values)
    done: dict[int, object] = {}
    out = []
    for expr in consumed:
        if expr is None:
            out.append(None)
            continue
        if id(expr) not in done:
            done[id(expr)] = evaluate(expr, values)
        out.append(done[id(expr)])
    return out


def evaluate(expr: MaskExpr, values: dict):
    """Computes a mask as a torch bool tensor from the run's tensor values (keyed by id)."""
    if expr.mode == "not_equal":
        return values[id(expr.sources[0])] != expr.value
    if expr.mode == "any_not_equal":
        return (values[id(expr.sources[0])] != expr.value).any(dim=-1)
    masks = [evaluate(m, values) for m in expr.sources]
    out = masks[0]
    for m in masks[1:]:
        out = out & m
    return out
