"""LocallyConnected1D/2D against real tf_keras 2.21 (fixtures/locally_connected, made by
fixtures/make_locally_connected_cases.py): implementations 1/2/3, both data formats, strides,
bias on and off, 'valid' and tf.keras 'same', on numpy, ONNX Runtime (opsets 13 and 17), torch, and (slow) the tf backend
and a Keras 3 `.keras` file loaded by real Keras 3. The Theano-made Keras 1/2 files are in
tests/test_legacy_fixtures.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import kport
from kport.errors import UnsupportedLayerError
from kport.ops.base import ImportContext
from kport.ops.registry import op_for_keras_class

HERE = Path(__file__).resolve().parent.parent / "fixtures" / "locally_connected"
CASES = [c["case"] for c in json.loads((HERE / "manifest.json").read_text())["cases"]]
ATOL, RTOL = 1e-5, 1e-4


def _case(case: str):
    data = np.load(HERE / f"{case}.npz")
    return kport.load(str(HERE / f"{case}.h5")), data["input_0"], data["output_0"]


def _close(got, want, what: str):
    got = np.asarray(got)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, tf_keras {want.shape}"
    excess = np.abs(got - want) - (ATOL + RTOL * np.abs(want))
    k = int(np.argmax(excess))
    assert excess.flat[k] <= 0, (f"{what}: worst at {np.unravel_index(k, want.shape)}: kport {got.flat[k]!r}, "
                                 f"tf_keras {want.flat[k]!r}")


def _onnx(graph, x, opset):
    ort = pytest.importorskip("onnxruntime")
    from kport.exporters.onnx.export import export_onnx

    model = export_onnx(graph, opset=opset)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {graph.inputs[0].name: x})[0]


@pytest.mark.parametrize("case", CASES)
def test_numpy_matches_tf_keras(case):
    graph, x, y = _case(case)
    _close(kport.run(graph, [x])[0], y, f"{case} numpy")


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("case", CASES)
def test_onnxruntime_matches_tf_keras_with_any_batch(case, opset):
    graph, x, y = _case(case)
    assert graph.inputs[0].shape[0] is None
    _close(_onnx(graph, x, opset), y, f"{case} onnxruntime opset {opset}")
    _close(_onnx(graph, x[:1], opset), y[:1], f"{case} onnxruntime opset {opset}, batch 1")


@pytest.mark.parametrize("case", CASES)
def test_torch_matches_tf_keras(case):
    pytest.importorskip("torch")
    graph, x, y = _case(case)
    _close(kport.run(graph, [x], backend="torch")[0], y, f"{case} torch")


def test_torch_code_is_scriptable():
    torch = pytest.importorskip("torch")
    from kport.runtime.torch_backend import build_module

    graph, x, y = _case("lc2d_cf_impl2")
    scripted = torch.jit.script(build_module(graph))
    _close(scripted(torch.from_numpy(x)).detach().numpy(), y, "TorchScript")


@pytest.mark.parametrize("case", [c for c in CASES if "_cf_" in c])
def test_layout_channels_last_moves_kernel_rows_and_bias(case):
    graph = kport.load(str(HERE / f"{case}.h5"), layout="channels_last")
    data = np.load(HERE / f"{case}.npz")
    (name,) = [n for n, layer in graph.layers.items() if layer.op.kind.startswith("LocallyConnected")]
    assert graph.layers[name].op.data_format == "channels_last"
    assert graph.moved_inputs and graph.moved_outputs
    x = np.transpose(data["input_0"], graph.moved_axes[graph.inputs[0].name])
    want = np.transpose(data["output_0"], graph.moved_axes[graph.outputs[0]])
    _close(kport.run(graph, [x])[0], want, f"{case} channels_last")
    _close(_onnx(graph, x, 17), want, f"{case} channels_last onnxruntime")


def test_implementations_2_and_3_load_as_implementation_1_kernels():
    graph, _, _ = _case("lc2d_cl_impl2_s2_nobias")
    layer = next(iter(graph.layers.values()))
    # 5x5 input, 2x2 kernel, stride 2: 2x2 positions, 2*2*3 patch, 2 filters
    assert layer.weights["kernel"].shape == (4, 12, 2)
    assert layer.op.keras_config("tf.keras")["implementation"] == 1


@pytest.mark.parametrize("cls,config", [
    ("LocallyConnected2D", {"filters": 2, "kernel_size": 3, "padding": "causal", "implementation": 2}),
    ("LocallyConnected1D", {"filters": 2, "kernel_size": 3, "implementation": 4}),
])
def test_unsupported_settings_are_refused(cls, config):
    with pytest.raises(UnsupportedLayerError) as err:
        op_for_keras_class(cls).from_keras(config, ImportContext(keras_major=2, flavor="tf.keras"))
    assert cls in err.value.message


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_tf_backend_matches_tf_keras(case):
    pytest.importorskip("tf_keras")
    graph, x, y = _case(case)
    _close(kport.run(graph, [x], backend="tf")[0], y, f"{case} tf backend")


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_keras3_file_is_an_exact_construction(case, tmp_path):
    keras = pytest.importorskip("keras")
    from kport.exporters.keras.keras3_file import write_keras

    graph, x, y = _case(case)
    write_keras(graph, tmp_path / "m.keras")
    model = keras.models.load_model(tmp_path / "m.keras", compile=False)
    assert not any("Locally" in type(layer).__name__ for layer in model.layers)
    _close(np.asarray(model(x, training=False)), y, f"{case} as a Keras 3 file")
    _close(kport.run(kport.load(str(tmp_path / "m.keras")), [x])[0], y, f"{case} Keras 3 file read back")


def test_kport_file_round_trip_is_exact(tmp_path):
    from kport.ir import kport_file

    graph, x, y = _case("lc2d_cf_impl3")
    kport_file.save(graph, tmp_path / "m.kport")
    back = kport_file.load(tmp_path / "m.kport")
    (name,) = graph.layers
    for key, value in graph.layers[name].weights.items():
        np.testing.assert_array_equal(back.layers[name].weights[key], value)
    _close(kport.run(back, [x])[0], y, "read back from .kport")


def test_unknown_spatial_size_is_refused_by_name_for_onnx():
    from layer_harness import single_layer_graph

    from kport.errors import KportError
    from kport.exporters.onnx.export import export_onnx

    graph, _, _ = _case("lc1d_cl_impl1_s2")
    layer = next(iter(graph.layers.values()))
    dynamic = single_layer_graph(layer.op, [(None, None, 2)], layer.weights, name="local")
    with pytest.raises(KportError) as err:
        export_onnx(dynamic)
    assert err.value.layer == "local" and "fully known input shape" in err.value.message
