"""Builds an ONNX ModelProto from an IR graph through the op hooks."""
from __future__ import annotations

import numpy as np

from kport.errors import ExportError, KportError
from kport.exporters.onnx.builder import NodeContext, OnnxGraph
from kport.ir.graph import Graph

DEFAULT_OPSET = 17
MIN_OPSET = 13

_DTYPES = {"float32": 1, "uint8": 2, "int8": 3, "int32": 6, "int64": 7, "bool": 9, "float16": 10,
           "float64": 11}


def build_graph(graph: Graph, opset: int = DEFAULT_OPSET) -> OnnxGraph:
    """Emits every node of `graph` into an OnnxGraph (no passes, no protobuf yet)."""
    if opset < MIN_OPSET:
        raise ExportError(f"opset {opset} is too old", hint=f"use --opset {MIN_OPSET} or newer")
    g = OnnxGraph(opset)
    names: dict[str, str] = {spec.name: spec.name for spec in graph.inputs}
    for node in graph.nodes:
        layer = graph.layers[node.layer]
        hook = getattr(layer.op, "to_onnx", None)
        if hook is None:
            reason = layer.op.no_hook.get("onnx", "no ONNX form yet")
            raise ExportError(f"{layer.op.kind} cannot be exported to ONNX: {reason}",
                              path=graph.source.path, layer=layer.name)
        ctx = NodeContext(layer.name, [graph.tensors[t].shape for t in node.inputs],
                          [graph.tensors[t].shape for t in node.outputs], call=dict(node.call))
        g.scope(layer.name)
        try:
            outs = hook(g, [names[t] for t in node.inputs], layer.weights, ctx)
        except KportError as err:
            raise err.with_context(layer=layer.name, path=graph.source.path)
        for t, o in zip(node.outputs, outs):
            names[t] = o
    g.scope("")
    g.output_map = {t: names[t] for t in graph.outputs}
    return g


def to_model_proto(graph: Graph, g: OnnxGraph, *, producer_version: str = ""):
    """Turns a built OnnxGraph into a ModelProto with Keras-named inputs and outputs."""
    import onnx
    from onnx import helper, numpy_helper

    nodes = []
    renames = {}
    for t in graph.outputs:
        src = g.output_map[t]
        if src in renames.values() or src in graph.input_names or src in g.initializers:
            continue
        renames[src] = t
    for n in g.nodes:
        attrs = {k: v for k, v in n.attrs.items() if v is not None}
        nodes.append(helper.make_node(n.op_type, [renames.get(i, i) for i in n.inputs],
                                      [renames.get(o, o) for o in n.outputs], name=n.name,
                                      domain=n.domain or None, **attrs))
    # outputs that are graph inputs, constants or duplicates get an Identity
    for t in graph.outputs:
        src = g.output_map[t]
        if renames.get(src) != t:
            nodes.append(helper.make_node("Identity", [renames.get(src, src)], [t], name=f"{t}/Identity"))
    inputs = [_value_info(spec.name, spec.shape, spec.dtype) for spec in graph.inputs]
    outputs = [_value_info(t, graph.tensors[t].shape, graph.tensors[t].dtype) for t in graph.outputs]
    inits = [numpy_helper.from_array(arr, name) for name, arr in g.initializers.items()]
    gp = helper.make_graph(nodes, graph.name or "model", inputs, outputs, initializer=inits)
    model = helper.make_model(gp, opset_imports=[helper.make_opsetid("", g.opset)],
                              producer_name="kport", producer_version=producer_version)
    model.ir_version = min(model.ir_version, 8 if g.opset <= 18 else model.ir_version)
    return model


def _value_info(name: str, shape, dtype: str):
    from onnx import helper

    dims = ["batch" if i == 0 and d is None else (f"{name}_d{i}" if d is None else int(d))
            for i, d in enumerate(shape)]
    return helper.make_tensor_value_info(name, _DTYPES.get(dtype, 1), dims)


def export_onnx(graph: Graph, opset: int = DEFAULT_OPSET, optimize: bool = True):
    """Returns the ONNX ModelProto for `graph`.

    Args:
        graph: the IR model.
        opset: ONNX opset (13 or newer).
        optimize: run the layout/folding passes.
    """
    from kport import __version__

    g = build_graph(graph, opset)
    if optimize:
        from kport.exporters.onnx import passes

        passes.optimize(g, keep=set(g.output_map.values()))
    return to_model_proto(graph, g, producer_version=__version__)


def as_float32(arr: np.ndarray) -> np.ndarray:
    """Weights go to ONNX as float32 unless they are integer tables."""
    return arr.astype(np.float32) if arr.dtype.kind == "f" else arr
