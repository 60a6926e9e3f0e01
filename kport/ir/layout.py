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
Image sequences (N, T, C, H, W) feeding ConvLSTM or TimeDistributed convolutions
move to (N, T, H, W, C) the same way. Model inputs move only when every layer
reading them accepts the move; model outputs that moved stay channels_last.
`moved_inputs` / `moved_outputs` list them and `moved_axes` gives each one's
transpose from the original layout.

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
# unshared convolutions: their kernel rows follow the channel order, so moving them moves weights too
LOCAL_KINDS = {"LocallyConnected1D", "LocallyConnected2D"}
# recurrent convolutions over image sequences (N, T, C, ...): channel axis 2
SEQUENCE_KINDS = {"ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"}
# element-wise layers: any layout in, the same layout out
UNARY_KINDS = {"Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ReLU", "LeakyReLU", "ELU",
               "ThresholdedReLU", "Identity", "ActivityRegularization", "Activation"}
# element-wise with a parameter per position of one sample (shared_axes give size-1 axes)
PER_POSITION_KINDS = {"PReLU", "SReLU", "ParametricSoftplus"}
NARY_KINDS = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}
# activations that act along one axis: moving the axes would change them
AXIS_ACTIVATIONS = {"softmax", "log_softmax", "sparsemax", "glu"}


def channels_last_axes(rank: int, channel_axis: int = 1) -> tuple[int, ...]:
    """The transpose that moves the channel axis of a tensor of `rank` to the end.

    `channel_axis` is 1 for images (N, C, H, W) and 2 for image sequences (N, T, C, H, W).
    """
    return tuple(a for a in range(rank) if a != channel_axis) + (channel_axis,)


def moved_axis(axis: int, rank: int, channel_axis: int = 1) -> int:
    """Where an axis of the channels_first tensor sits after the move."""
    axis %= rank
    return channels_last_axes(rank, channel_axis).index(axis)


@dataclasses.dataclass
class _State:
    moved: dict  # tensors now stored channels_last -> their original channel axis
    flat_rows: dict  # flattened tensors -> row permutation their consumers must apply


def to_channels_last(graph: Graph) -> Graph:
    """Returns a channels_last copy of `graph` (the input graph is not changed).

    Attributes set on the result: `moved_inputs` / `moved_outputs`, the names of
    the model inputs and outputs that are now channels_last, and `moved_axes`,
    name -> the transpose taking the original array to the new layout.
    """
    from kport.ops.registry import op_for_kind

    g = copy.deepcopy(graph)
    state = _State(moved={}, flat_rows={})
    consumers = g.consumers()
    for spec in g.inputs:
        axes = {_accepts_moved(g, n, spec.name) for n in consumers.get(spec.name, [])}
        if len(spec.shape) >= 3 and len(axes) == 1 and None not in axes:
            state.moved[spec.name] = axes.pop()
    moved_inputs = [s.name for s in g.inputs if s.name in state.moved]
    input_axes = {name: state.moved[name] for name in moved_inputs}
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
    _reshape_specs(g, input_axes)
    g.moved_inputs = moved_inputs
    g.moved_outputs = [t for t in g.outputs if t in state.moved]
    # the transpose from the original layout, per moved model input and output
    g.moved_axes = {t: channels_last_axes(len(graph.tensors[t].shape), c)
                    for t, c in list(input_axes.items()) + [(t, state.moved[t]) for t in g.moved_outputs]}
    return g


def _accepts_moved(g: Graph, node: Node, tensor: str) -> int | None:
    """The channel axis under which a layer reading `tensor` takes it moved, or None."""
    op = g.layers[node.layer].op
    if op.kind in DATA_FORMAT_KINDS or op.kind in LOCAL_KINDS or op.kind == "Flatten":
        ok = getattr(op, "data_format", None) == "channels_first" and not _axis_activation(op)
        return 1 if ok else None
    if op.kind == "BatchNormalization":
        ok = isinstance(op.axis, int) and op.axis in (1, -len(g.tensors[tensor].shape) + 1)
        return 1 if ok else None
    if op.kind in SEQUENCE_KINDS and getattr(op, "data_format", None) == "channels_first":
        return 2
    inner = getattr(op, "layer", None) if op.kind == "TimeDistributed" else None
    if inner is not None and inner.kind in DATA_FORMAT_KINDS and inner.data_format == "channels_first" \
            and not _axis_activation(inner):
        return 2
    return None


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
    axes = {state.moved.get(t) for t in node.inputs}
    if not all(moved_in) or len(ranks) != 1 or len(axes) != 1:
        return False
    rank, c = ranks.pop(), axes.pop()
    shared = len(g.nodes_of(layer.name)) > 1
    if op.kind in DATA_FORMAT_KINDS:
        if op.data_format != "channels_first" or _axis_activation(op) or shared or c != 1:
            return False
        op.data_format = "channels_last"
        _mark_outputs(g, node, state, rank, c)
        return True
    if op.kind in LOCAL_KINDS:
        if op.data_format != "channels_first" or _axis_activation(op) or shared or c != 1:
            return False
        if "kernel" in layer.weights:
            layer.weights.update(op.channels_last_weights(layer.weights))
        op.data_format = "channels_last"
        _mark_outputs(g, node, state, rank, c)
        return True
    if op.kind in SEQUENCE_KINDS:
        if getattr(op, "data_format", None) != "channels_first" or shared or c != 2:
            return False
        op.data_format = "channels_last"  # its kernels are channels-last whatever the data_format
        _mark_outputs(g, node, state, rank, c)
        return True
    if op.kind == "TimeDistributed" and c == 2 and not shared:
        return _rewrite_time_distributed(g, op, node, state, rank)
    if op.kind == "Flatten" and c == 1:
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
        op.axis = moved_axis(op.axis, rank, c) - rank  # keep Keras's usual negative spelling
        _mark_same(node, state, c)
        return True
    if op.kind in UNARY_KINDS or op.kind in NARY_KINDS or (op.kind == "Merge" and op.mode in ("sum", "mul", "ave",
                                                                                               "max")):
        if _axis_activation(op):
            return False
        _mark_same(node, state, c)
        return True
    if op.kind in PER_POSITION_KINDS and not shared:
        # parameters shaped like one sample move their axes with the tensor
        param_axes = [a - 1 for a in channels_last_axes(rank, c)[1:]]
        for key, value in layer.weights.items():
            if np.ndim(value) == rank - 1:
                layer.weights[key] = np.ascontiguousarray(np.transpose(value, param_axes))
        if getattr(op, "shared_axes", None):
            op.shared_axes = tuple(sorted(moved_axis(a, rank, c) for a in op.shared_axes))
        _mark_same(node, state, c)
        return True
    if op.kind == "Concatenate" and not shared:
        op.axis = moved_axis(op.axis, rank, c)
        _mark_same(node, state, c)
        return True
    if op.kind == "Merge" and op.mode == "concat" and not shared:
        op.concat_axis = moved_axis(op.concat_axis, rank, c)
        _mark_same(node, state, c)
        return True
    return False


def _rewrite_time_distributed(g: Graph, op, node: Node, state: _State, rank: int) -> bool:
    """TimeDistributed over image sequences moved to (N, T, H, W, C): its inner layer sees (N, H, W, C)."""
    inner = op.layer
    if inner is None:
        return False
    if inner.kind in DATA_FORMAT_KINDS and inner.data_format == "channels_first" and not _axis_activation(inner):
        inner.data_format = "channels_last"
        _mark_outputs(g, node, state, rank, 2)
        return True
    if inner.kind == "Flatten" and getattr(inner, "data_format", "channels_last") == "channels_last" \
            and _flat_readers_ok(g, node.outputs[0], g.consumers()):
        state.flat_rows[node.outputs[0]] = _flatten_rows((None,) + tuple(g.tensors[node.inputs[0]].shape[2:]))
        return True
    if inner.kind in UNARY_KINDS and not _axis_activation(inner):
        _mark_same(node, state, 2)
        return True
    return False


def _mark_same(node: Node, state: _State, c: int) -> None:
    for t in node.outputs:
        state.moved[t] = c


def _mark_outputs(g: Graph, node: Node, state: _State, in_rank: int, c: int) -> None:
    # global pooling gives (batch, channels), a sequence layer without return_sequences one image:
    # the channel axis is where the remaining shape puts it
    for t in node.outputs:
        rank = len(g.tensors[t].shape)
        axis = c - (in_rank - rank)
        if rank >= 3 and axis >= 1:
            state.moved[t] = axis


def _flat_readers_ok(g: Graph, tensor: str, consumers: dict) -> bool:
    """Whether every reader of a flattened tensor (through element-wise layers) is a Dense it can fix."""
    if tensor in g.outputs:
        return False
    for node in consumers.get(tensor, []):
        layer = g.layers[node.layer]
        op = layer.op
        if _row_reader(g, layer):
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
    if _row_reader(g, layer):
        layer.weights["kernel"] = np.ascontiguousarray(layer.weights["kernel"][rows])
        return True
    return False


def _row_reader(g: Graph, layer: Layer) -> bool:
    """A Dense (or TimeDistributed Dense) whose kernel rows can take a permuted last axis."""
    op = layer.op
    inner = getattr(op, "layer", None) if op.kind == "TimeDistributed" else op
    return (inner is not None and inner.kind == "Dense" and len(g.nodes_of(layer.name)) == 1
            and "kernel" in layer.weights)


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
        dims = tuple(int(d) for d in np.argsort(channels_last_axes(rank, state.moved[t]))[1:])
        g.layers[name] = Layer(name, permute_cls(dims=dims), trainable=False)
        new_nodes.append(Node(name, [t], [name]))
        g.tensors[name] = TensorSpec(name, g.tensors[t].shape, g.tensors[t].dtype)
    return name


def _reshape_specs(g: Graph, input_axes: dict[str, int]) -> None:
    """Recomputes every tensor shape in the new layout (inputs moved, then node by node)."""
    for spec in g.inputs:
        if spec.name in input_axes:
            spec.shape = tuple(spec.shape[a] for a in channels_last_axes(len(spec.shape), input_axes[spec.name]))
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
