"""Runs an IR graph in ONNX Runtime: export it to ONNX, then open a session.

The model goes through a temporary file (removed once the session holds it)
so models above 2 GB work the same way, through ONNX external data.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from kport.errors import BackendUnavailableError
from kport.ir.graph import Graph
from kport.runtime.base import Runtime

_PROVIDERS = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}


def import_ort():
    """Imports onnxruntime or raises a BackendUnavailableError saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise BackendUnavailableError("onnxruntime is not installed",
                                      hint="pip install onnxruntime (or onnxruntime-gpu for CUDA)")
    return onnxruntime


def providers_for(device: str) -> list[str]:
    """ONNX Runtime execution providers for 'cpu' or 'cuda'.

    Raises:
        BackendUnavailableError: unknown device, or CUDA asked for without CUDAExecutionProvider.
    """
    ort = import_ort()
    if device not in _PROVIDERS:
        raise BackendUnavailableError(f"unknown device '{device}' for onnxruntime", hint="use 'cpu' or 'cuda'")
    if device == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
        raise BackendUnavailableError(
            "onnxruntime has no CUDAExecutionProvider here",
            hint="install onnxruntime-gpu with a matching CUDA, or use device 'cpu'")
    return _PROVIDERS[device]


def open_session(path: str, device: str = "cpu"):
    """An InferenceSession on an ONNX file, with all graph optimizations on."""
    ort = import_ort()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=options, providers=providers_for(device))


class OnnxRuntime(Runtime):
    """Exports the graph to ONNX and runs it with ONNX Runtime.

    Attributes:
        opset: the opset the graph is exported with.
        session: the ONNX Runtime session.
    """

    name = "onnxruntime"

    def __init__(self, graph: Graph, device: str = "cpu", opset: int | None = None, optimize: bool = True):
        super().__init__(graph, device)
        from kport.exporters.onnx.export import DEFAULT_OPSET, write_onnx

        providers_for(device)  # fail before exporting when the device is unusable
        self.opset = opset or DEFAULT_OPSET
        with tempfile.TemporaryDirectory(prefix="kport-ort-") as tmp:
            path = os.path.join(tmp, "model.onnx")
            write_onnx(graph, path, opset=self.opset, optimize=optimize)
            self.session = open_session(path, device)
        self._output_names = [o.name for o in self.session.get_outputs()]

    def _run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(self.session.run(self._output_names, feeds))


def run_onnx_file(path: str, feeds: dict[str, np.ndarray], output_names: list[str] | None = None,
                  device: str = "cpu") -> list[np.ndarray]:
    """Runs any ONNX file (made by kport or another converter) on model-ordered inputs.

    Inputs are matched to the file's inputs by name when every name matches,
    else by position; a rank-4/5 array is transposed to channels-first when the
    file's fixed input dims say it wants NCHW. Outputs come back matched by
    name to `output_names` when all names match, else in the file's order.

    Raises:
        ShapeError: the file takes a different number of inputs.
    """
    from kport.errors import ShapeError

    session = open_session(str(path), device)
    file_inputs = session.get_inputs()
    names = [i.name for i in file_inputs]
    arrays = list(feeds.values())
    if len(arrays) != len(names):
        raise ShapeError(f"the ONNX file takes {len(names)} input(s) {names}, the model {len(arrays)}", path=path,
                         hint="compare files of the same model")
    if set(names) == set(feeds):
        arrays = [feeds[n] for n in names]
    bound = {info.name: _fit_layout(arr, info) for info, arr in zip(file_inputs, arrays)}
    file_outputs = [o.name for o in session.get_outputs()]
    values = session.run(file_outputs, bound)
    if output_names and set(output_names) <= set(file_outputs):
        by_name = dict(zip(file_outputs, values))
        return [by_name[n] for n in output_names]
    return list(values)


def _fit_layout(arr: np.ndarray, info) -> np.ndarray:
    """Casts to the file's input type; moves channels first when the file's fixed dims ask for it."""
    want = _ORT_TYPES.get(info.type)
    if want is not None and arr.dtype != want:
        arr = arr.astype(want)
    dims = list(info.shape)
    if arr.ndim in (4, 5) and len(dims) == arr.ndim and not _fits(arr.shape, dims):
        moved = np.ascontiguousarray(np.moveaxis(arr, -1, 1))
        if _fits(moved.shape, dims):
            return moved
    return arr


def _fits(shape, dims) -> bool:
    return all(not isinstance(d, int) or d == s for s, d in zip(shape[1:], dims[1:]))


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
              "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(bool)": np.bool_,
              "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}


def onnx_batch_size(path: str) -> int | None:
    """The fixed batch size of an ONNX file's first input, or None when it is symbolic."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    inputs = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    if not inputs or not inputs[0].type.tensor_type.shape.dim:
        return None
    first = inputs[0].type.tensor_type.shape.dim[0]
    return int(first.dim_value) if first.HasField("dim_value") and first.dim_value > 0 else None
