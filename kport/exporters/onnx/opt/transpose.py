"""Push Transposes down through layout-agnostic ops and cancel inverse pairs.

Channels-last Keras convs are emitted as Transpose(NHWC->NCHW), Conv,
Transpose(NCHW->NHWC). Moving each trailing Transpose past the elementwise,
activation, padding, reduction and concat ops that follow it (rewriting their
constants and axes) brings it next to the leading Transpose of the next conv,
where the pair cancels. What is left is one Transpose at the graph input and
one where the layout really matters (before a Flatten or a Dense on a 4-D map).
"""
from __future__ import annotations

import numpy as np

from kport.exporters.onnx.builder import OnnxGraph, OnnxNode
from kport.exporters.onnx.opt.index import Index, inverse, is_identity, perm_of

# one tensor in, same shape out, no axis semantics
UNARY = {"Relu", "Clip", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish",
         "Softplus", "Softsign", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal", "Erf", "Identity",
         "Cast", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Not", "Mish", "Gelu", "Shrink",
         "ThresholdedRelu", "IsNaN", "IsInf"}
# broadcasting elementwise ops (inputs may be constants of any broadcastable shape)
ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "PRelu", "Where",
               "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Mod"}
REDUCE = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceProd", "ReduceL1", "ReduceL2",
          "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}
# Reduce ops whose axes became an input (the opset from which they did)
_AXES_INPUT_FROM = {"ReduceSum": 13}
_MAX_STEPS = 100_000
# `_push_through` result when the Transpose could not move (None = moved, no Transpose left after)
_NOT_PUSHED = object()


def push_transposes(g: OnnxGraph, keep: set[str]) -> bool:
    """Moves Transposes towards the outputs and cancels or merges adjacent ones.

    Returns:
        True when the graph changed.
    """
    idx = Index(g)
    work = [n for n in g.nodes if n.op_type == "Transpose"]
    changed = False
    steps = 0
    while work and steps < _MAX_STEPS:
        steps += 1
        t = work.pop(0)
        if not idx.alive(t) or perm_of(t) is None:
            continue
        changed |= _merge_into_readers(idx, t, keep)
        reader = idx.only_reader(t.outputs[0], keep)
        if reader is None:
            if not idx.readers(t.outputs[0]) and t.outputs[0] not in keep:
                idx.remove(t)
            continue
        moved = _push_through(idx, t, reader, keep)
        if moved is not _NOT_PUSHED:
            changed = True
            if moved is not None:
                work.append(moved)
            if not idx.readers(t.outputs[0]):
                idx.remove(t)
    idx.commit()
    return changed


def _merge_into_readers(idx: Index, t: OnnxNode, keep: set[str]) -> bool:
    """Transpose after Transpose: compose the permutations (identity -> the reader goes away)."""
    x, y = t.inputs[0], t.outputs[0]
    perm = perm_of(t)
    changed = False
    for reader in idx.readers(y):
        if reader.op_type != "Transpose" or perm_of(reader) is None:
            continue
        composed = [perm[q] for q in perm_of(reader)]
        out = reader.outputs[0]
        if is_identity(composed) and out not in keep:
            idx.replace_uses(out, x)
            idx.remove(reader)
        elif is_identity(composed):
            reader.op_type, reader.attrs = "Identity", {}
            idx.set_input(reader, y, x)
        else:
            reader.attrs = dict(reader.attrs, perm=composed)
            idx.set_input(reader, y, x)
        changed = True
    return changed


def _push_through(idx: Index, t: OnnxNode, node: OnnxNode, keep: set[str]):
    """Rewrites `node` to read the Transpose's input.

    Returns:
        The Transpose now after `node`; None when none is needed; `_NOT_PUSHED`
        when `node` cannot take the Transpose's input.
    """
    if len(node.outputs) != 1 or node.domain:
        return _NOT_PUSHED
    perm = perm_of(t)
    op = node.op_type
    if op in UNARY:
        if any(idx.const(i) is None or idx.const(i).ndim != 0 for i in node.inputs[1:] if i):
            return _NOT_PUSHED
        return _reroute(idx, t, node, {node.inputs[0]: t.inputs[0]}, perm)
    if op in ELEMENTWISE:
        return _push_elementwise(idx, t, node, perm, keep)
    if op == "Concat":
        new_inputs = _other_inputs(idx, t, node, perm, allow_consts=True)
        if new_inputs is None:
            return _NOT_PUSHED
        axis = int(node.attrs.get("axis", 0)) % len(perm)
        node.attrs = dict(node.attrs, axis=perm[axis])
        return _reroute(idx, t, node, new_inputs, perm)
    if op in ("Softmax", "LogSoftmax", "Hardmax") and idx.g.opset >= 13:
        axis = int(node.attrs.get("axis", -1)) % len(perm)
        node.attrs = dict(node.attrs, axis=perm[axis])
        return _reroute(idx, t, node, {node.inputs[0]: t.inputs[0]}, perm)
    if op == "Pad":
        return _push_pad(idx, t, node, perm)
    if op in REDUCE:
        return _push_reduce(idx, t, node, perm)
    return _NOT_PUSHED


def _reroute(idx: Index, t: OnnxNode, node: OnnxNode, new_inputs: dict[str, str],
             out_perm: list[int]) -> OnnxNode | None:
    """Points `node` at the replacement inputs and re-applies `out_perm` to its output."""
    for old, new in new_inputs.items():
        idx.set_input(node, old, new)
    if is_identity(out_perm):
        return None
    out = node.outputs[0]
    inner = idx.g.fresh(f"{node.name}/pre_transpose")
    idx.rename_output(node, out, inner)
    moved = idx.new_node("Transpose", [inner], [out], f"{node.name}/Transpose", perm=list(out_perm))
    idx.insert_after(node, moved)
    return moved


def _other_inputs(idx: Index, t: OnnxNode, node: OnnxNode, perm: list[int],
                  allow_consts: bool) -> dict[str, str] | None:
    """Replacement for each input of a multi-input op, or None when one cannot be expressed.

    Inputs can be the Transpose's output, another Transpose with the same perm
    (its input is used), or a constant (re-laid out by the inverse perm).
    """
    rank = len(perm)
    inv = inverse(perm)
    result: dict[str, str] = {}
    for name in node.inputs:
        if not name or name in result:
            continue
        if name == t.outputs[0]:
            result[name] = t.inputs[0]
            continue
        producer = idx.producer.get(name)
        if producer is not None and producer.op_type == "Transpose" and perm_of(producer) == perm:
            result[name] = producer.inputs[0]
            continue
        value = idx.const(name)
        if value is None or not allow_consts or value.ndim > rank:
            return None
        if value.ndim == 0:
            result[name] = name
            continue
        full = value.reshape((1,) * (rank - value.ndim) + value.shape)
        result[name] = idx.g.const(np.ascontiguousarray(full.transpose(inv)))
    return result


def _push_elementwise(idx: Index, t: OnnxNode, node: OnnxNode, perm: list[int], keep: set[str]):
    new_inputs = _other_inputs(idx, t, node, perm, allow_consts=True)
    if new_inputs is None:
        return _NOT_PUSHED
    transposes = [idx.producer[n] for n in new_inputs if n != t.outputs[0] and n in idx.producer
                  and idx.producer[n].op_type == "Transpose"]
    moved = _reroute(idx, t, node, new_inputs, perm)
    for other in transposes:
        if not idx.readers(other.outputs[0]) and other.outputs[0] not in keep:
            idx.remove(other)
    return moved


def _push_pad(idx: Index, t: OnnxNode, node: OnnxNode, perm: list[int]):
    if len(node.inputs) > 3 and node.inputs[3]:
        return _NOT_PUSHED  # explicit axes (opset 18+): rare, leave it
    inv = inverse(perm)
    if len(node.inputs) > 1 and node.inputs[1]:
        pads = idx.const(node.inputs[1])
        if pads is None:
            return _NOT_PUSHED
        rank = len(perm)
        begins, ends = pads[:rank], pads[rank:]
        new_pads = np.concatenate([begins[inv], ends[inv]]).astype(np.int64)
        idx.set_input(node, node.inputs[1], idx.g.const(new_pads))
    elif "pads" in node.attrs:
        pads = list(node.attrs["pads"])
        rank = len(perm)
        node.attrs = dict(node.attrs, pads=[pads[i] for i in inv] + [pads[rank + i] for i in inv])
    return _reroute(idx, t, node, {node.inputs[0]: t.inputs[0]}, perm)


def _push_reduce(idx: Index, t: OnnxNode, node: OnnxNode, perm: list[int]):
    rank = len(perm)
    if node.attrs.get("noop_with_empty_axes", 0):
        return _NOT_PUSHED
    axes_as_input = len(node.inputs) > 1 and node.inputs[1]
    if axes_as_input:
        value = idx.const(node.inputs[1])
        if value is None:
            return _NOT_PUSHED
        axes = [int(a) % rank for a in np.asarray(value).reshape(-1)]
    elif "axes" in node.attrs:
        axes = [int(a) % rank for a in node.attrs["axes"]]
    else:
        axes = list(range(rank))
    new_axes = sorted(perm[a] for a in axes)
    if axes_as_input:
        idx.set_input(node, node.inputs[1], idx.g.ints(new_axes))
    elif "axes" in node.attrs:
        node.attrs = dict(node.attrs, axes=new_axes)
    if node.attrs.get("keepdims", 1):
        out_perm = perm
    else:
        kept = [i for i in range(rank) if i not in axes]
        kept_x = sorted(perm[i] for i in kept)
        out_perm = [kept_x.index(perm[i]) for i in kept]
    return _reroute(idx, t, node, {node.inputs[0]: t.inputs[0]}, out_perm)
