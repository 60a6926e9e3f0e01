"""Builds an ONNX model from an IR graph through the op hooks.

`build_graph` runs every op's `to_onnx` hook into an `OnnxGraph`; `export_onnx`
adds the passes and returns a ModelProto; `write_onnx` streams the model to a
file atomically (external data beside it above 2 GB). Graph inputs and outputs
carry the Keras model's names and a symbolic batch dimension.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from kport.errors import ExportError
from kport.exporters.hooks import emit_nodes
from kport.exporters.onnx.builder import OnnxGraph
from kport.ir.graph import Graph

DEFAULT_OPSET = 17
MIN_OPSET = 13

ONNX_DTYPES = {"float32": 1, "uint8": 2, "int8": 3, "uint16": 4, "int16": 5, "int32": 6, "int64": 7,
               "bool": 9, "float16": 10, "float64": 11, "uint32": 12, "uint64": 13, "bfloat16": 16}
# channels_first -> channels_last permutation for NCHW / NCDHW inputs
_TO_CHANNELS_LAST = {4: (0, 2, 3, 1), 5: (0, 2, 3, 4, 1)}


@lru_cache(maxsize=1)
def max_opset() -> int:
    """The newest opset both the installed onnx and onnxruntime (when installed) accept."""
    import onnx

    newest = onnx.defs.onnx_opset_version()
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return newest
    while newest > DEFAULT_OPSET and not _ort_accepts(newest):
        newest -= 1
    return newest


def _ort_accepts(opset: int) -> bool:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    try:
        ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return True
    except Exception:  # noqa: BLE001 - any refusal means "not supported"
        return False


def check_opset(opset: int) -> int:
    """Returns `opset` as an int, or raises ExportError when it is out of range."""
    opset = int(opset)
    if opset < MIN_OPSET:
        raise ExportError(f"opset {opset} is too old", hint=f"use --opset {MIN_OPSET} or newer")
    if opset > DEFAULT_OPSET and opset > max_opset():
        raise ExportError(f"opset {opset} is newer than the installed onnx/onnxruntime support",
                          hint=f"use --opset {max_opset()} or older, or upgrade onnx and onnxruntime")
    return opset


def nchw_inputs(graph: Graph, inputs_as_nchw) -> set[str]:
    """Names of the inputs to take channels-first: True = every rank-4/5 input, or a list of names."""
    if not inputs_as_nchw:
        return set()
    if inputs_as_nchw is True:
        return {s.name for s in graph.inputs if len(s.shape) in _TO_CHANNELS_LAST
                and not _already_channels_first(graph, s.name)}
    wanted = {inputs_as_nchw} if isinstance(inputs_as_nchw, str) else set(inputs_as_nchw)
    for name in sorted(wanted):
        spec = next((s for s in graph.inputs if s.name == name), None)
        if spec is None:
            raise ExportError(f"inputs_as_nchw names '{name}', which is not a model input",
                              path=graph.source.path, hint=f"the inputs are {graph.input_names}")
        if len(spec.shape) not in _TO_CHANNELS_LAST:
            raise ExportError(f"input '{name}' has rank {len(spec.shape)}; only rank-4/5 inputs can be NCHW",
                              path=graph.source.path)
    return {name for name in wanted if not _already_channels_first(graph, name)}


def _already_channels_first(graph: Graph, name: str) -> bool:
    """True when every layer reading the input is channels_first: the input is NCHW already."""
    readers = graph.consumers().get(name, [])
    return bool(readers) and all(
        getattr(graph.layers[n.layer].op, "data_format", None) == "channels_first" for n in readers)


def build_graph(graph: Graph, opset: int = DEFAULT_OPSET, inputs_as_nchw=False) -> OnnxGraph:
    """Emits every node of `graph` into an OnnxGraph (no passes, no protobuf yet).

    Args:
        graph: the IR model.
        opset: the ONNX opset to emit for.
        inputs_as_nchw: True, or input names, to take rank-4/5 inputs channels-first;
            a Transpose to the Keras layout is inserted inside the graph.

    Returns:
        The builder, with `output_map` (IR output name -> ONNX tensor) and
        `input_shapes` (ONNX input name -> shape) set.
    """
    opset = check_opset(opset)
    g = OnnxGraph(opset)
    nchw = nchw_inputs(graph, inputs_as_nchw)
    names: dict[str, str] = {}
    g.input_shapes = {}
    for spec in graph.inputs:
        shape = tuple(spec.shape)
        if spec.name in nchw:
            perm = _TO_CHANNELS_LAST[len(shape)]
            inverse = tuple(int(i) for i in np.argsort(perm))
            shape = tuple(shape[i] for i in inverse)
            g.scope(spec.name)
            names[spec.name] = g.op("Transpose", [spec.name], perm=list(perm))
        else:
            names[spec.name] = spec.name
        g.input_shapes[spec.name] = shape
    emit_nodes(graph, "onnx", g, names, g.scope)
    g.scope("")
    g.output_map = {t: names[t] for t in graph.outputs}
    return g


def to_model_proto(graph: Graph, g: OnnxGraph, *, producer_version: str = "", with_data: bool = True):
    """Turns a built OnnxGraph into a ModelProto with Keras-named inputs and outputs.

    Args:
        graph: the IR model (names, shapes and dtypes of inputs and outputs).
        g: the built (and usually optimized) ONNX graph.
        producer_version: written into the model.
        with_data: False leaves initializers without their bytes (dims and type
            only); `writer.save` streams the bytes straight from the arrays.
    """
    from onnx import helper

    nodes = []
    renames: dict[str, str] = {}
    protected = set(g.input_shapes) | set(g.initializers)
    for t in graph.outputs:
        src = g.output_map[t]
        if src in renames or src in protected:
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
    dtypes = {spec.name: spec.dtype for spec in graph.inputs}
    inputs = [_value_info(name, shape, dtypes[name]) for name, shape in g.input_shapes.items()]
    outputs = [_value_info(t, graph.tensors[t].shape, graph.tensors[t].dtype) for t in graph.outputs]
    inits = [tensor_proto(name, arr, with_data) for name, arr in g.initializers.items()]
    gp = helper.make_graph(nodes, graph.name or "model", inputs, outputs, initializer=inits)
    model = helper.make_model(gp, opset_imports=[helper.make_opsetid("", g.opset)],
                              producer_name="kport", producer_version=producer_version)
    # the oldest IR version that can carry this opset: widest runtime compatibility
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    return model


def tensor_proto(name: str, arr: np.ndarray, with_data: bool = True):
    """A TensorProto for an initializer; without data it holds only name, dims and type."""
    from onnx import TensorProto, helper, numpy_helper

    if with_data:
        return numpy_helper.from_array(arr, name)
    t = TensorProto()
    t.name = name
    t.dims.extend(int(d) for d in arr.shape)
    t.data_type = helper.np_dtype_to_tensor_dtype(arr.dtype)
    return t


def _value_info(name: str, shape, dtype: str):
    from onnx import helper

    dims = ["batch" if i == 0 and d is None else (f"{name}_d{i}" if d is None else int(d))
            for i, d in enumerate(shape)]
    return helper.make_tensor_value_info(name, ONNX_DTYPES.get(dtype, 1), dims)


def build_optimized(graph: Graph, opset: int = DEFAULT_OPSET, optimize: bool = True,
                    inputs_as_nchw=False) -> OnnxGraph:
    """`build_graph` followed by the optimization passes (when `optimize`)."""
    g = build_graph(graph, opset, inputs_as_nchw)
    if optimize:
        from kport.exporters.onnx import passes

        passes.optimize(g, keep=set(g.output_map.values()),
                        input_ranks={name: len(shape) for name, shape in g.input_shapes.items()})
    return g


def export_onnx(graph: Graph, opset: int = DEFAULT_OPSET, optimize: bool = True, inputs_as_nchw=False):
    """Returns the ONNX ModelProto for `graph` (weights inside; for files use `write_onnx`).

    Args:
        graph: the IR model.
        opset: ONNX opset (13 up to the newest the installed onnxruntime runs).
        optimize: run the layout/folding passes.
        inputs_as_nchw: True, or input names, to take rank-4/5 inputs channels-first.
    """
    from kport import __version__

    g = build_optimized(graph, opset, optimize, inputs_as_nchw)
    return to_model_proto(graph, g, producer_version=__version__)


def write_onnx(graph: Graph, path, opset: int = DEFAULT_OPSET, optimize: bool = True,
               inputs_as_nchw=False) -> list[str]:
    """Exports `graph` and writes it to `path` atomically.

    Models whose weights exceed 2 GB are written in ONNX's external-data form:
    the weights go to `<path>.data` beside the `.onnx` file.

    Returns:
        The paths written (the model, then the data file if any).
    """
    from kport import __version__
    from kport.exporters.onnx import writer

    g = build_optimized(graph, opset, optimize, inputs_as_nchw)
    model = to_model_proto(graph, g, producer_version=__version__, with_data=False)
    return writer.save(model, g.initializers, path)


def as_float32(arr: np.ndarray) -> np.ndarray:
    """Weights go to ONNX as float32 unless they are integer tables."""
    return arr.astype(np.float32) if arr.dtype.kind == "f" else arr
