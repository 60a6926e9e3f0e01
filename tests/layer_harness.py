"""Single-layer test harness: one op in a one-node IR graph, run by numpy and onnxruntime.

Layer fixtures (`fixtures/layers/<Kind>.npz`, written by the
`fixtures/make_layer_cases_*.py` scripts with real Keras) hold several cases
of one layer kind. Keys:
  `cases`          a JSON string: a list of {class_name, config, producer, weights, note, call}
                   (`call`, optional: the node's call record, e.g. {"tensor:mask": [1]})
  `c{i}_input{j}`  inputs of case i (Keras layout, batch first; a mask is a bool input)
  `c{i}_weight{k}` weights of case i in Keras order (`layer.get_weights()`)
  `c{i}_output{j}` what Keras computed
No TensorFlow is needed to read them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kport.ir.graph import Graph, Layer, Node, TensorSpec
from kport.ops.base import ImportContext, Op
from kport.ops.registry import op_for_keras_class

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "layers"
ATOL, RTOL = 1e-5, 1e-4

# the import context of each fixture producer
PRODUCERS = {
    "keras3": ImportContext(keras_major=3, keras_version="3", flavor="keras3", backend="tensorflow"),
    "tf_keras": ImportContext(keras_major=2, keras_version="2.21", flavor="tf.keras", backend="tensorflow"),
    "keras2": ImportContext(keras_major=2, keras_version="2.2.4", flavor="keras", backend="tensorflow"),
}


@dataclass
class LayerCase:
    """One configuration of a layer kind with the inputs, weights and output Keras gave."""

    kind_file: str
    index: int
    class_name: str
    config: dict
    producer: str = "keras3"
    note: str = ""
    call: dict = field(default_factory=dict)
    inputs: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)
    outputs: list[np.ndarray] = field(default_factory=list)

    @property
    def id(self) -> str:
        """A readable pytest id: file, index and the attributes that vary."""
        keys = ("kernel_size", "pool_size", "strides", "padding", "dilation_rate", "groups", "depth_multiplier",
                "output_padding", "data_format", "size", "interpolation", "cropping", "keepdims", "activation")
        parts = []
        for k in keys:
            if k in self.config and self.config[k] is not None:
                v = self.config[k]
                if k == "data_format":
                    v = "cf" if v == "channels_first" else "cl"
                parts.append(f"{k}={v}".replace(" ", ""))
        return f"{self.kind_file}[{self.index}]-{self.producer}-" + ",".join(parts)

    def op(self) -> Op:
        """Builds the kport op from the Keras config, as an importer would."""
        cls = op_for_keras_class(self.class_name)
        assert cls is not None, f"no op registered for {self.class_name}"
        return cls.from_keras(self.config, PRODUCERS[self.producer])

    def graph(self, dynamic_spatial: bool = False) -> Graph:
        """The one-layer graph of this case (spatial sizes None when `dynamic_spatial`)."""
        shapes = []
        for x in self.inputs:
            shape = (None, *x.shape[1:])
            if dynamic_spatial:
                shape = ((None,) * x.ndim if x.dtype == bool else
                         spatial_unknown(shape, self.config.get("data_format")))
            shapes.append(shape)
        return single_layer_graph(self.op(), shapes, self.weights, name=self.config.get("name", "layer"),
                                  call=self.call, dtypes=[str(x.dtype) for x in self.inputs])


def spatial_unknown(shape: tuple, data_format: str | None) -> tuple:
    """Replaces the spatial sizes of a Keras-layout shape by None."""
    if data_format == "channels_first":
        return (shape[0], shape[1], *(None,) * (len(shape) - 2))
    return (shape[0], *(None,) * (len(shape) - 2), shape[-1])


def load_cases(kind_file: str) -> list[LayerCase]:
    """Reads every case of `fixtures/layers/<kind_file>.npz`."""
    with np.load(FIXTURES / f"{kind_file}.npz", allow_pickle=False) as data:
        meta = json.loads(str(data["cases"]))
        cases = []
        for i, m in enumerate(meta):
            def arrays(prefix):
                out, j = [], 0
                while f"c{i}_{prefix}{j}" in data.files:
                    out.append(data[f"c{i}_{prefix}{j}"])
                    j += 1
                return out
            cases.append(LayerCase(kind_file, i, m["class_name"], m["config"], m.get("producer", "keras3"),
                                   m.get("note", ""), m.get("call") or {}, arrays("input"), arrays("weight"),
                                   arrays("output")))
    return cases


def single_layer_graph(op: Op, in_shapes: list[tuple], weights: list[np.ndarray] | dict, name: str = "layer",
                       dtype: str = "float32", call: dict | None = None,
                       dtypes: list[str] | None = None) -> Graph:
    """A graph holding one layer called once on fresh inputs.

    Args:
        op: the layer's op.
        in_shapes: input shapes, batch (None) included.
        weights: arrays in Keras order (matched to `op.weight_shapes`), or a dict by canonical name.
        name: the layer name.
        dtype: the inputs' dtype (and the outputs').
        call: the node's call record (keyword-tensor positions such as 'tensor:mask').
        dtypes: per-input dtypes, when they differ (a bool mask beside float data).
    """
    g = Graph(name=f"{name}_model")
    inputs = [f"input_{i}" for i in range(len(in_shapes))]
    for t, shape, t_dtype in zip(inputs, in_shapes, dtypes or [dtype] * len(in_shapes)):
        spec = TensorSpec(t, tuple(shape), t_dtype)
        g.inputs.append(spec)
        g.tensors[t] = spec
    expected = op.weight_shapes(list(in_shapes))
    if not isinstance(weights, dict):
        assert len(weights) == len(expected), f"{len(weights)} weights given, op expects {list(expected)}"
        weights = dict(zip(expected, weights))
    for key, shape in expected.items():
        got = weights[key].shape
        assert len(got) == len(shape) and all(e is None or e == a for e, a in zip(shape, got)), \
            f"weight {key}: shape {got}, op expects {shape}"
    g.layers[name] = Layer(name, op, dict(weights))
    out_shapes = op.output_shapes(list(in_shapes))
    outputs = [name if j == 0 else f"{name}:0:{j}" for j in range(len(out_shapes))]
    g.nodes.append(Node(name, inputs, outputs, dict(call or {})))
    for t, shape in zip(outputs, out_shapes):
        g.tensors[t] = TensorSpec(t, tuple(shape), dtype)
    g.outputs = outputs
    return g


def run_reference(graph: Graph, xs: list[np.ndarray]) -> list[np.ndarray]:
    """Runs the numpy reference of every node."""
    from kport.runtime.numpy_backend import run_nodes

    return run_nodes(graph, dict(zip(graph.input_names, xs)))


def run_onnx(graph: Graph, xs: list[np.ndarray], opset: int) -> list[np.ndarray]:
    """Exports the graph at `opset`, checks the model, and runs it in onnxruntime (CPU)."""
    import onnx
    import onnxruntime as ort

    from kport.exporters.onnx.export import export_onnx

    model = export_onnx(graph, opset)
    onnx.checker.check_model(model, full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip(graph.input_names, xs)))


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str = "", atol: float = ATOL,
                 rtol: float = RTOL) -> None:
    """Asserts |a - b| <= atol + rtol * |b| everywhere; names the worst element when not."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    excess = diff - (atol + rtol * np.abs(expected.astype(np.float64)))
    if excess.size and excess.max() > 0:
        idx = np.unravel_index(int(np.argmax(excess)), excess.shape)
        raise AssertionError(f"{what}: worst element {idx}: got {actual[idx]!r}, expected {expected[idx]!r} "
                             f"(|diff| {diff[idx]:.3g}, max |diff| {diff.max():.3g})")


def check_case(case: LayerCase, target: str) -> None:
    """Compares one backend's result for a fixture case with Keras's output.

    Args:
        case: the fixture case.
        target: 'numpy', 'onnx<opset>' (e.g. 'onnx13'), or 'onnx<opset>-dynamic' (spatial sizes unknown
            at export time, so shape-dependent attributes must not be baked in).
    """
    if target == "numpy":
        got = run_reference(case.graph(), case.inputs)
    else:
        opset = int(target[4:].split("-")[0])
        got = run_onnx(case.graph(dynamic_spatial=target.endswith("-dynamic")), case.inputs, opset)
    assert len(got) == len(case.outputs)
    for j, (a, b) in enumerate(zip(got, case.outputs)):
        assert_close(a, b, f"{case.id} {target} output {j}")
