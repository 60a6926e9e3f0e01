"""Makes the masks Keras propagates implicitly explicit in the IR.

Keras 1/2, tf.keras and Keras 3 Sequential models carry a boolean mask beside
a tensor (from `Embedding(mask_zero=True)` or `Masking`) without recording it
in the config. This pass follows Keras's propagation rules and, for every
node that consumes masks (an op with `accepts_mask = True`: the recurrent
layers, Bidirectional, ...), adds the mask as an extra input named in the
call record as 'tensor:mask' (ops with `mask_per_input`, like Attention, get
one position per input, None where that input has no mask). The masks are made by ComputeMask nodes
(IR-internal, see kport/ops/compute_mask.py). Keras 3 functional models
record their masks themselves (NotEqual / Any nodes and `mask=` keyword
tensors) only for some consumers (not for Attention, for instance): the pass
fills in the rest, leaving nodes that already have a 'tensor:mask' alone.
Merges AND their masks in Keras 1/2 and tf.keras, OR them in Keras 3 (and
drop the mask when an input has none). See docs/DEVELOPING.md "Masks".
"""
from __future__ import annotations

from kport.ir.graph import Graph, Layer, Node
from kport.ops.base import ImportContext
from kport.ops.compute_mask import ComputeMask

# layer kinds whose output keeps the input's mask (supports_masking and no compute_mask override)
KEEPS_MASK = {
    "Activation", "ActivityRegularization", "AlphaDropout", "BatchNormalization", "Dense", "Dropout", "ELU",
    "GaussianDropout", "GaussianNoise", "Identity", "LayerNormalization", "LeakyReLU", "Masking", "PReLU",
    "ReLU", "Softmax", "SpatialDropout1D", "ThresholdedReLU", "TimeDistributed",
}
# merges: the output mask is the logical and of the input masks (absent masks count as all-true)
MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"}


def add_implicit_masks(graph: Graph, ctx: ImportContext) -> None:
    """Adds ComputeMask nodes and 'tensor:mask' inputs for the masks Keras passed implicitly."""
    merge_mode = "or" if ctx.flavor == "keras3" else "and"
    mask_of: dict[str, str] = {}
    nodes: list[Node] = []
    for node in graph.nodes:
        op = graph.layers[node.layer].op
        in_mask = [mask_of.get(t) for t in node.inputs]
        # a recorded mask (a tensor, or Keras 3's explicit `mask: None`) is authoritative
        recorded = "tensor:mask" in node.call or "mask" in node.call
        if getattr(op, "accepts_mask", False) and any(in_mask) and not recorded:
            if getattr(op, "mask_per_input", False):  # [mask of input 0 or None, mask of input 1 or None, ...]
                present = list(dict.fromkeys(m for m in in_mask if m))  # a shared mask goes in once
                positions = [len(node.inputs) + present.index(m) if m else None for m in in_mask]
                node.call = dict(node.call, **{"tensor:mask": positions})
                node.inputs = node.inputs + present
            elif in_mask[0]:
                node.call = dict(node.call, **{"tensor:mask": [len(node.inputs)]})
                node.inputs = node.inputs + [in_mask[0]]
        nodes.append(node)
        made = _output_mask(graph, node, op, in_mask, nodes, merge_mode)
        if made:
            mask_of[node.outputs[0]] = made
    graph.nodes = nodes


def _output_mask(graph: Graph, node: Node, op, in_mask: list, nodes: list[Node], merge_mode: str) -> str | None:
    kind = op.kind
    if kind == "Embedding" and getattr(op, "mask_zero", False):
        return _mask_node(graph, node, ComputeMask(mode="not_equal", value=0.0), [node.inputs[0]], nodes)
    if kind == "Masking":
        return _mask_node(graph, node, ComputeMask(mode="any_not_equal", value=float(op.mask_value)),
                          [node.inputs[0]], nodes)
    present = [m for m in in_mask if m]
    if not present:
        return None
    if kind in MERGES:
        if kind == "Concatenate" and getattr(op, "axis", -1) not in (-1, len(_shape(graph, node)) - 1):
            return None
        if merge_mode == "or" and len(present) < len(in_mask):
            return None  # Keras 3: an unmasked input makes every step count
        present = list(dict.fromkeys(present))  # the same mask twice combines to itself
        if len(present) == 1:
            return present[0]
        return _mask_node(graph, node, ComputeMask(mode=merge_mode), present, nodes)
    return in_mask[0] if passes_mask(op) and in_mask[0] else None


def passes_mask(op) -> bool:
    """Whether a (non-merge) op passes its first input's mask on, by the rules above."""
    propagates = getattr(op, "propagates_mask", None)
    if propagates is None:
        propagates = op.kind in KEEPS_MASK or (getattr(op, "accepts_mask", False)
                                               and getattr(op, "return_sequences", False))
    return bool(propagates)


def may_carry_mask(graph: Graph) -> set[str]:
    """The tensors a Keras mask may ride on (first outputs), by the rules above.

    An over-approximation (a merge counts when any input has a mask, Concatenate
    on any axis): for writers that must know whether a layer can receive a mask.
    """
    carried: set[str] = set()
    for node in graph.nodes:
        op = graph.layers[node.layer].op
        if (op.kind == "Embedding" and getattr(op, "mask_zero", False)) or op.kind == "Masking":
            carried.add(node.outputs[0])
        elif op.kind in MERGES and any(t in carried for t in node.inputs):
            carried.add(node.outputs[0])
        elif node.inputs and node.inputs[0] in carried and passes_mask(op):
            carried.add(node.outputs[0])
    return carried


def _shape(graph: Graph, node: Node) -> tuple:
    spec = graph.tensors.get(node.inputs[0])
    return spec.shape if spec is not None else ()


def _mask_node(graph: Graph, node: Node, op: ComputeMask, inputs: list[str], nodes: list[Node]) -> str:
    name = f"{node.layer}/mask"
    if name not in graph.layers:
        graph.layers[name] = Layer(name, op, trainable=False, scope=graph.layers[node.layer].scope)
    elif graph.layers[name].op != op:  # a shared layer whose calls need different masks
        name = f"{name}_{sum(1 for n in graph.layers if n.startswith(name))}"
        graph.layers[name] = Layer(name, op, trainable=False, scope=graph.layers[node.layer].scope)
    out = f"{node.outputs[0]}/mask"
    nodes.append(Node(name, list(inputs), [out], {}))
    return out
