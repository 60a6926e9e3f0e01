"""Evaluate nodes whose inputs are all constants, once, at export time.

Common ops run in numpy here; others go through onnx's reference evaluator.
A fold that would create a much larger constant (Expand, Tile) is skipped so
files do not grow.
"""
from __future__ import annotations

import numpy as np

from kport.exporters.onnx.builder import OnnxGraph, OnnxNode

_GROWTH_LIMIT = 1 << 20  # bytes a fold may add beyond its inputs' size
_NEVER = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
          "Bernoulli", "Loop", "If", "Scan", "SequenceConstruct"}


def _reshape(x, shape, allowzero=0):
    shape = [int(s) for s in shape]
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


NUMPY_OPS = {
    "Identity": lambda n, x: x,
    "Transpose": lambda n, x: np.transpose(x, n.attrs.get("perm")),
    "Reshape": lambda n, x, shape: _reshape(x, shape, n.attrs.get("allowzero", 0)),
    "Cast": lambda n, x: x.astype(_np_type(n.attrs["to"])),
    "Unsqueeze": lambda n, x, axes: np.expand_dims(x, tuple(int(a) % (x.ndim + len(axes)) for a in axes)),
    "Squeeze": lambda n, x, axes=None: np.squeeze(x, None if axes is None else tuple(int(a) for a in axes)),
    "Concat": lambda n, *xs: np.concatenate(xs, axis=int(n.attrs["axis"])),
    "Add": lambda n, a, b: a + b,
    "Sub": lambda n, a, b: a - b,
    "Mul": lambda n, a, b: a * b,
    "Div": lambda n, a, b: a / b if a.dtype.kind == "f" else np.trunc(a / b).astype(a.dtype),
    "Neg": lambda n, x: -x,
    "Sqrt": lambda n, x: np.sqrt(x),
    "Reciprocal": lambda n, x: 1 / x,
    "Shape": lambda n, x: np.array(x.shape, np.int64),
}


def _np_type(onnx_type: int):
    from onnx import helper

    return helper.tensor_dtype_to_np_dtype(onnx_type)


def fold_constants(g: OnnxGraph, keep: set[str]) -> bool:
    """Replaces constant-only nodes by initializers; True when any folded."""
    changed = False
    survivors: list[OnnxNode] = []
    for node in g.nodes:
        values = _evaluate(g, node, keep)
        if values is None:
            survivors.append(node)
            continue
        for name, value in zip(node.outputs, values):
            g.initializers[name] = np.ascontiguousarray(value)
        changed = True
    g.nodes = survivors
    return changed


def _evaluate(g: OnnxGraph, node: OnnxNode, keep: set[str]) -> list[np.ndarray] | None:
    if node.domain or node.op_type in _NEVER or any(o in keep for o in node.outputs):
        return None
    if not node.inputs or not all(i in g.initializers for i in node.inputs if i):
        return None
    args = [g.initializers[i] if i else None for i in node.inputs]
    while args and args[-1] is None:
        args.pop()
    try:
        if node.op_type in NUMPY_OPS and all(a is not None for a in args):
            values = [np.asarray(NUMPY_OPS[node.op_type](node, *args))]
            if node.op_type in ("Add", "Sub", "Mul", "Div"):
                values = [values[0].astype(args[0].dtype)]
        else:
            values = _reference(node, args)
    except Exception:  # noqa: BLE001 - anything the evaluator rejects is simply left unfolded
        return None
    budget = sum(a.nbytes for a in args if a is not None) + _GROWTH_LIMIT
    if values is None or sum(v.nbytes for v in values) > budget:
        return None
    return values


def _reference(node: OnnxNode, args: list) -> list[np.ndarray] | None:
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    names = [f"i{k}" if a is not None else "" for k, a in enumerate(args)]
    proto = helper.make_node(node.op_type, names, [f"o{k}" for k in range(len(node.outputs))],
                             **{k: v for k, v in node.attrs.items() if v is not None})
    feeds = {n: a for n, a in zip(names, args) if n}
    return [np.asarray(v) for v in ReferenceEvaluator(proto).run(None, feeds)]
