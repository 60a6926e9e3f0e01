"""Writes an ONNX model file by streaming the weight bytes straight from numpy.

The model skeleton (nodes, inputs, initializers without their bytes) is
serialized by protobuf; each initializer's `raw_data` field is then appended
by hand. Protobuf concatenates repeated and length-delimited fields, so the
file parses exactly as if protobuf had written it, but the weights are never
copied into a second in-memory buffer: peak memory stays near one copy of the
weights. Above `EXTERNAL_DATA_THRESHOLD` bytes the weights go to a separate
`<name>.data` file (ONNX external data), as protobuf cannot hold 2 GB.
"""
from __future__ import annotations

import os

import numpy as np

from kport.errors import ExportError
from kport.util.atomic import atomic_write

# protobuf refuses messages of 2 GiB or more; leave room for the graph itself
EXTERNAL_DATA_THRESHOLD = 2**31 - 2**26
# initializers smaller than this stay inside the .onnx file even in external-data form
EXTERNAL_MIN_BYTES = 1024
_ALIGN = 4096

_MODEL_GRAPH = 7        # ModelProto.graph
_GRAPH_INITIALIZER = 5  # GraphProto.initializer
_TENSOR_RAW_DATA = 9    # TensorProto.raw_data


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int) -> bytes:
    return _varint(field << 3 | 2)  # wire type 2: length-delimited


def _le_bytes(arr: np.ndarray) -> memoryview:
    """The array's bytes in ONNX's little-endian layout, without a copy when possible."""
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return memoryview(np.ascontiguousarray(arr)).cast("B")


def total_bytes(initializers: dict[str, np.ndarray]) -> int:
    """Bytes of all weights together."""
    return int(sum(a.nbytes for a in initializers.values()))


def save(model, initializers: dict[str, np.ndarray], path) -> list[str]:
    """Writes `model` (initializers without data) with the bytes of `initializers`.

    Args:
        model: a ModelProto whose graph initializers carry name, dims and type only,
            in the same order as `initializers`.
        initializers: the arrays by initializer name.
        path: the `.onnx` file to write; written atomically.

    Returns:
        The paths written: the model, then the external data file if one was needed.
    """
    path = os.fspath(path)
    if total_bytes(initializers) <= EXTERNAL_DATA_THRESHOLD:
        with atomic_write(path) as tmp:
            _write_inline(model, initializers, tmp)
        return [path]
    data_name = os.path.basename(path) + ".data"
    data_path = os.path.join(os.path.dirname(os.path.abspath(path)), data_name)
    with atomic_write(path) as tmp, atomic_write(data_path) as tmp_data:
        _write_external(model, initializers, tmp_data, data_name)
        _write_inline(model, {}, tmp)
    return [path, data_path]


def _write_inline(model, initializers: dict[str, np.ndarray], tmp: str) -> None:
    graph = model.graph
    heads, datas = [], []
    for tensor in graph.initializer:
        if tensor.name in initializers:
            data = _le_bytes(initializers[tensor.name])
            heads.append(tensor.SerializeToString() + _key(_TENSOR_RAW_DATA) + _varint(len(data)))
            datas.append(data)
    model_head, graph_rest = _split_graph(model, [t.name for t in graph.initializer if t.name in initializers])
    entries = []
    graph_len = len(graph_rest)
    for head, data in zip(heads, datas):
        tensor_len = len(head) + len(data)
        prefix = _key(_GRAPH_INITIALIZER) + _varint(tensor_len)
        entries.append((prefix + head, data))
        graph_len += len(prefix) + tensor_len
    if len(model_head) + graph_len > 2**31 - 1:
        raise ExportError("the model is too large for one ONNX file",
                          hint="this should have been written with external data; please report it")
    with open(tmp, "wb") as fh:
        fh.write(model_head)
        fh.write(_key(_MODEL_GRAPH) + _varint(graph_len))
        fh.write(graph_rest)
        for head, data in entries:
            fh.write(head)
            fh.write(data)


def _split_graph(model, streamed: list[str]) -> tuple[bytes, bytes]:
    """Serializes the model without its graph, and the graph without the streamed initializers."""
    import onnx

    graph = onnx.GraphProto()
    graph.CopyFrom(model.graph)
    keep = [t for t in graph.initializer if t.name not in set(streamed)]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    head = onnx.ModelProto()
    head.CopyFrom(model)
    head.ClearField("graph")
    return head.SerializeToString(), graph.SerializeToString()


def _write_external(model, initializers: dict[str, np.ndarray], tmp_data: str, location: str) -> None:
    """Writes large initializers to the data file and points their protos at it; small ones go inline."""
    from onnx import TensorProto

    offset = 0
    with open(tmp_data, "wb") as fh:
        for tensor in model.graph.initializer:
            arr = initializers[tensor.name]
            data = _le_bytes(arr)
            if len(data) < EXTERNAL_MIN_BYTES:
                tensor.raw_data = data.tobytes()
                continue
            pad = (-offset) % _ALIGN
            fh.write(b"\0" * pad)
            offset += pad
            fh.write(data)
            tensor.data_location = TensorProto.EXTERNAL
            for key, value in (("location", location), ("offset", str(offset)), ("length", str(len(data)))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            offset += len(data)
