"""Loads the single-layer recurrent fixtures (fixtures/layers/rnn_*.npz) and runs them as one-node graphs."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kport.ir.graph import Graph, Layer, Node, TensorSpec
from kport.ops.base import ImportContext
from kport.ops.registry import op_for_keras_class

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ROOT / "fixtures" / "layers"


@dataclass
class LayerCase:
    """One real-Keras layer call: config, inputs, weights and the outputs Keras gave."""

    name: str
    class_name: str
    config: dict
    ctx: ImportContext
    call: dict
    inputs: list[np.ndarray]
    weights: list[np.ndarray]
    outputs: list[np.ndarray] = field(default_factory=list)

    def op(self):
        return op_for_keras_class(self.class_name).from_keras(self.config, self.ctx)

    def graph(self, dynamic_time: bool = False) -> Graph:
        """A one-node graph of this call; `dynamic_time` leaves every input's axis 1 unknown."""
        op = self.op()
        g = Graph(name=self.name)
        names = []
        for i, arr in enumerate(self.inputs):
            shape = (None,) + tuple(arr.shape[1:])
            if dynamic_time and arr.ndim >= 2 and i in _sequence_positions(self):
                shape = (None, None) + shape[2:]
            spec = TensorSpec(f"in_{i}", shape, "bool" if arr.dtype == bool else "float32")
            g.inputs.append(spec)
            g.tensors[spec.name] = spec
            names.append(spec.name)
        g.layers["rnn"] = Layer("rnn", op)
        outs = [f"rnn:0:{j}" for j in range(op.num_outputs(len(names)))]
        g.nodes.append(Node("rnn", names, outs, dict(self.call)))
        for t, s in zip(outs, op.output_shapes([g.tensors[n].shape for n in names])):
            g.tensors[t] = TensorSpec(t, s)
        g.outputs = outs
        expected = op.weight_shapes([g.tensors[n].shape for n in names])
        g.layers["rnn"].weights = dict(zip(expected, self.weights))
        return g


def _sequence_positions(case: LayerCase) -> set[int]:
    # the sequence and a mask have a time axis; initial states do not
    return {0} | set(case.call.get("tensor:mask", []))


def load_case(path: Path) -> LayerCase:
    data = np.load(path, allow_pickle=False)
    version = str(data["keras_version"])
    flavor = str(data["flavor"])
    ctx = ImportContext(path=str(path), layer="rnn", keras_major=int(version.split(".")[0]),
                        keras_version=version, flavor=flavor)
    count = lambda prefix: sum(1 for k in data.files if k.startswith(prefix))  # noqa: E731
    return LayerCase(path.stem, str(data["class_name"]), json.loads(str(data["config"])), ctx,
                     json.loads(str(data["call"])), [data[f"in_{i}"] for i in range(count("in_"))],
                     [data[f"w_{i}"] for i in range(count("w_"))], [data[f"out_{i}"] for i in range(count("out_"))])


def case_paths(pattern: str = "rnn_*.npz") -> list[Path]:
    return sorted(LAYERS.glob(pattern))


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str = "") -> None:
    """Parity tolerance |a-b| <= 1e-5 + 1e-4*|b|, naming the worst element."""
    actual, expected = np.asarray(actual, np.float32), np.asarray(expected, np.float32)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    excess = np.abs(actual - expected) - (1e-5 + 1e-4 * np.abs(expected))
    if excess.size and excess.max() > 0:
        i = np.unravel_index(np.argmax(excess), excess.shape)
        raise AssertionError(f"{what}: worst at {i}: {actual[i]} vs expected {expected[i]}")


def run_onnx(graph: Graph, inputs: list[np.ndarray], opset: int) -> list[np.ndarray]:
    """Exports `graph` to ONNX at `opset` and runs it on onnxruntime (CPU)."""
    import onnx
    import onnxruntime as ort

    from kport.exporters.onnx.export import export_onnx

    model = export_onnx(graph, opset=opset)
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feeds = {spec.name: arr for spec, arr in zip(graph.inputs, inputs)}
    return session.run(None, feeds)
