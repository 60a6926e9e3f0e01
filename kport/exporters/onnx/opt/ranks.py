"""Tensor ranks through an ONNX graph, for passes that need them (None = unknown)."""
from __future__ import annotations

from kport.exporters.onnx.builder import OnnxGraph

_SAME_AS_FIRST = {"Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Selu", "Clip", "Softmax", "LogSoftmax",
                  "Transpose", "Conv", "MaxPool", "AveragePool", "BatchNormalization", "Identity", "Cast",
                  "Pad", "Neg", "Exp", "Log", "Sqrt", "Abs", "HardSigmoid", "Softplus", "Softsign", "Erf",
                  "Dropout", "ConvTranspose", "LRN", "InstanceNormalization", "LayerNormalization",
                  "GlobalAveragePool", "GlobalMaxPool", "PRelu", "Mish", "HardSwish", "Celu"}
_BROADCAST = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where", "Equal", "Greater",
              "Less", "And", "Or"}


def infer_ranks(g: OnnxGraph, input_ranks: dict[str, int]) -> dict[str, int | None]:
    """Ranks of graph inputs, initializers and every node output that a simple rule gives."""
    ranks: dict[str, int | None] = dict(input_ranks)
    ranks.update({name: arr.ndim for name, arr in g.initializers.items()})
    for n in g.nodes:
        ins = [ranks.get(i) for i in n.inputs if i]
        rank = None
        if n.op_type in _SAME_AS_FIRST and ins:
            rank = ins[0]
        elif n.op_type in _BROADCAST and ins and None not in ins:
            rank = max(ins)
        elif n.op_type == "MatMul" and len(ins) == 2 and None not in ins and min(ins) >= 2:
            rank = max(ins)
        elif n.op_type in ("Gemm", "Flatten"):  # Flatten always gives rank 2
            rank = 2
        elif n.op_type == "Reshape" and n.inputs[1] in g.initializers:
            rank = int(g.initializers[n.inputs[1]].size)
        elif n.op_type.startswith("Reduce") and ins and ins[0] is not None:
            rank = ins[0] if n.attrs.get("keepdims", 1) else ins[0] - len(_reduced_axes(g, n, ins[0]))
        for o in n.outputs:
            ranks[o] = rank
    return ranks


def _reduced_axes(g: OnnxGraph, node, rank: int) -> list[int]:
    if len(node.inputs) > 1 and node.inputs[1] in g.initializers:
        return list(g.initializers[node.inputs[1]].reshape(-1))
    return list(node.attrs.get("axes", range(rank)))
