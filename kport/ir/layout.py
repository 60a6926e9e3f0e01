"""The layout pass: turn a channels_first model into an equivalent channels_last one.

`to_channels_last(graph)` rewrites a Theano-era (NCHW) model so it takes and
produces channels_last tensors wherever its layers allow, like an ordinary modern
NHWC model:
- layers whose only layout dependence is `data_format` (convolutions, pooling,
  padding, cropping, upsampling, spatial dropout) switch to channels_last; their
  canonical kernels do not change (the IR layout is independent of data_format);
- BatchNormalization / Concatenate / Merge(concat) axes move with the channel axis;
- element-wise layers pass the layout through;
- a Flatten of a channels_first tensor flattened CHW; now it flattens HWC, so the
  rows of the Dense layers it feeds are permuted to match;
- anything else that meets a moved tensor gets it back in channels_first through
  an inserted Permute layer, so the model stays exact.
Model inputs move only when every layer reading them accepts the move; model
outputs that moved stay channels_last (`moved_outputs` lists them).

Parameters are the Keras 2 / TF canonical layout throughout, so nothing else changes.
"""
from __future__ import annotations

import copy
import dataclasses

import numpy as np

from kport.ir.graph import Graph, Layer, Node, TensorSpec

# kinds whose layout dependence is only their data_format attribute
DATA_FORMAT_KINDS = {
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D",
    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "TheanoPooling",
}
# element-wise layers: any layout in, the same layout out
UNARY_KINDS = {"Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ReLU", "LeakyReLU", "ELU",
               "ThresholdedReLU", "Identity", "ActivityRegularization", "Activation"}
# element-wise with a parameter per position of one sample (shared_axes give size-1 axes)
PER_POSITION_KINDS = {"PReLU", "SReLU", "ParametricSoftplus"}
NARY_KINDS = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}
# activations that act along one axis: moving the axes would change them
AXIS_ACTIVATIONS = {"softmax", "log_softmax", "sparsemax", "glu"}


def channels_last_axes(rank: int) -> tuple[int, ...]:
    """The transpose that takes a channels_first tensor of `rank` to channels_last."""
    return (0,) + tuple(range(2, rank)) + (1,)


def moved_axis(axis: int, rank: int) -> int:
    """Where an axis of the channels_first tensor sits after the move."""
    axis %= rank
    return channels_last_axes(rank).index(axis)


@dataclasses.dataclass
class _State:
    moved: set  # tensors now stored channels_last
    flat_rows: dict  # flattened tensors -> row permutation their consumers must apply


def to_channels_last(graph: Graph) -> Graph:
    """Returns a channels_last copy of `graph` (the input graph is not changed).

    Attributes set on the result: `moved_inputs` / `moved_outputs`, the names of
    the model inputs and outputs that are now channels_last.
    """
    from kport.ops.registry import op_for_kind

    g = copy.deepcopy(graph)
    state = _State(moved=set(), flat_rows={})
    consumers = g.consumers()
    for spec in g.inputs:
        if len(spec.shape) >= 3 and consumers.get(spec.name) and \
                all(_accepts_moved(g, n, spec.name) for n in consumers[spec.name]):
            state.moved.add(spec.name)
    moved_inputs = [s.name for s in g.inputs if s.name in state.moved]
    permute_cls = op_for_kind("Permute")
    new_nodes: list[Node] = []
    for node in g.nodes:
        layer = g.layers[node.layer]
        if _rewrite(g, layer, node, state):
            new_nodes.append(node)
            continue
        # this layer needs its inputs as they were: undo the move first
        inputs = []
        for t in node.inputs:
            if t in state.flat_rows:
                raise _layout_error(layer, t)
            if t in state.moved:
                t = _restore(g, t, permute_cls, new_nodes, state)
            inputs.append(t)
        node.inputs = inputs
        new_nodes.append(node)
    g.nodes = new_nodes
    _reshape_specs(g, state, moved_inputs)
    g.moved_inputs = moved_inputs
    g.moved_outputs = [t for t in g.outputs if t in state.moved]
    return g


def _accepts_moved(g: Graph, node: Node, tensor: str) -> bool:
    op = g.layers[node.layer].op
    if op.kind in DATA_FORMAT_KINDS or op.kind == "Flatten":
        return getattr(op, "data_format", None) == "channels_first" and not _axis_activation(op)
    if op.kind == "BatchNormalization":
        return isinstance(op.axis, int) and op.axis in (1, -len(g.tensors[tensor].shape) + 1)
    return False


def _axis_activation(op) -> bool:
    return getattr(op, "activation", None) in AXIS_ACTIVATIONS


def _rewrite(g: Graph, layer: Layer, node: Node, state: _State) -> bool:
    """Adapts one node to moved inputs; returns False when its inputs must be restored."""
    op = layer.op
    moved_in = [t in state.moved for t in node.inputs]
    flat_in = [t in state.flat_rows for t in node.inputs]
    if not any(moved_in) and not any(flat_in):
        return True  # nothing moved reaches it: it stays as it was
    if any(flat_in):
        return _rewrite_flat(g, layer, node, state)
    ranks = {len(g.tensors[t].shape) for t in node.inputs}
    if not all(moved_in) or len(ranks) != 1:
        return False
    rank = ranks.pop()
    shared = len(g.nodes_of(layer.name)) > 1
    if op.kind in DATA_FORMAT_KINDS:
        if op.data_format != "channels_first" or _axis_activation(op) or shared:
            return False
        op.data_format = "channels_last"
        _mark_outputs(g, node, state, op)
        return True
    if op.kind == "Flatten":
        if getattr(op, "data_format", "channels_last") == "channels_first":
            op.data_format = "channels_last"  # Keras 2.2+: it already flattened HWC
            return True
        if shared or not _flat_readers_ok(g, node.outputs[0], g.consumers()):
            return False
        state.flat_rows[node.outputs[0]] = _flatten_rows(g.tensors[node.inputs[0]].shape)
        return True
    if op.kind == "BatchNormalization":
        if not isinstance(op.axis, int) or shared:
            return False
        op.axis = moved_axis(op.axis, rank) - rank  # keep Keras's usual negative spelling
        state.moved.update(node.outputs)
        return True
    if op.kind in UNARY_KINDS or op.kind in NARY_KINDS or (op.kind == "Merge" and op.mode in ("sum", "mul", "ave",
                                                                                               "max")):
        if _axis_activation(op):
            return False
        state.moved.update(node.outputs)
        return True
    if op.kind in PER_POSITION_KINDS and not shared:
        # parameters shaped like one sample move their axes with the tensor
        axes = [a - 1 for a in channels_last_axes(rank)[1:]]
        for key, value in layer.weights.items():
            if np.ndim(value) == rank - 1:
                layer.weights[key] = np.ascontiguousarray(np.transpose(value, axes))
        if getattr(op, "shared_axes", None):
            op.shared_axes = tuple(sorted(moved_axis(a, rank) for a in op.shared_axes))
        state.moved.update(node.outputs)
        return True
    if op.kind == "Concatenate" and not shared:
        op.axis = moved_axis(op.axis, rank)
        state.moved.update(node.outputs)
        return True
    if op.kind == "Merge" and op.mode == "concat" and not shared:
        op.concat_axis = moved_axis(op.concat_axis, rank)
        state.moved.update(node.outputs)
        return True
    return False


def _mark_outputs(g: Graph, node: Node, state: _State, op) -> None:
    # global pooling gives (batch, channels): nothing left to move
    state.moved.update(t for t in node.outputs if len(g.tensors[t].shape) >= 3)


def _flat_readers_ok(g: Graph, tensor: str, consumers: dict) -> bool:
    """Whether every reader of a flattened tensor (through element-wise layers) is a Dense it can fix."""
    if tensor in g.outputs:
        return False
    for node in consumers.get(tensor, []):
        layer = g.layers[node.layer]
        op = layer.op
        if op.kind == "Dense" and len(g.nodes_of(layer.name)) == 1 and "kernel" in layer.weights:
            continue
        if op.kind in UNARY_KINDS and not _axis_activation(op) and len(node.inputs) == 1:
            if all(_flat_readers_ok(g, out, consumers) for out in node.outputs):
                continue
        return False
    return True


def _rewrite_flat(g: Graph, layer: Layer, node: Node, state: _State) -> bool:
    op = layer.op
    (t,) = node.inputs if len(node.inputs) == 1 else (None,)
    if t is None:
        return False
    rows = state.flat_rows[t]
    if op.kind in UNARY_KINDS and not _axis_activation(op):
        for out in node.outputs:
            state.flat_rows[out] = rows
        return True
    if op.kind == "Dense" and len(g.nodes_of(layer.name)) == 1 and "kernel" in layer.weights:
        layer.weights["kernel"] = np.ascontiguousarray(layer.weights["kernel"][rows])
        return True
    return False


def _flatten_rows(shape: tuple) -> np.ndarray:
    """Row order of a channels_last flatten, as indices into the channels_first flatten."""
    dims = tuple(shape[1:])
    if any(d is None for d in dims):
        raise ValueError(f"cannot move a Flatten over an input of unknown size {shape}")
    index = np.arange(int(np.prod(dims))).reshape(dims)
    return np.transpose(index, tuple(range(1, len(dims))) + (0,)).reshape(-1)


def _restore(g: Graph, t: str, permute_cls, new_nodes: list[Node], state: _State) -> str:
    """Inserts a Permute that brings a moved tensor back to channels_first; returns its output."""
    name = f"{t}_to_channels_first"
    if name not in g.tensors:
        rank = len(g.tensors[t].shape)
        dims = tuple(int(d) for d in np.argsort(channels_last_axes(rank))[1:])
        g.layers[name] = Layer(name, permute_cls(dims=dims), trainable=False)
        new_nodes.append(Node(name, [t], [name]))
        g.tensors[name] = TensorSpec(name, g.tensors[t].shape, g.tensors[t].dtype)
    return name


def _reshape_specs(g: Graph, state: _State, moved_inputs: list[str]) -> None:
    """Recomputes every tensor shape in the new layout (inputs moved, then node by node)."""
    for spec in g.inputs:
        if spec.name in moved_inputs:
            spec.shape = tuple(spec.shape[a] for a in channels_last_axes(len(spec.shape)))
            g.tensors[spec.name] = spec
    for node in g.nodes:
        op = g.layers[node.layer].op
        outs = op.output_shapes([g.tensors[t].shape for t in node.inputs])
        for t, s in zip(node.outputs, outs):
            g.tensors[t] = TensorSpec(t, tuple(s), g.tensors[t].dtype if t in g.tensors else "float32")


def _layout_error(layer: Layer, tensor: str):
    from kport.errors import ExportError

    return ExportError(f"cannot move the channels of '{tensor}' to the end: {layer.op.kind} reads its flattened "
                       "rows", layer=layer.name, hint="convert with --layout keep")
