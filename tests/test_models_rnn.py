"""Whole recurrent models made by real Keras (fixtures/rnn): file -> IR -> numpy and onnxruntime.

Covers stacked RNNs, implicit masks (Embedding mask_zero, Masking) through RNNs,
merges and Bidirectional, Keras 3's recorded mask ops, TimeDistributed,
initial states, and a variable time axis; plus the real-world tf.keras file
rnn_121.h5 (Bidirectional SimpleRNN) when the shared folder is present.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kport
from tests.rnn_cases import assert_close, run_onnx

ROOT = Path(__file__).resolve().parents[1]
RNN = ROOT / "fixtures" / "rnn"
REALWORLD = ROOT.parent / "shared" / "realworld"
MODELS = sorted(p for p in RNN.iterdir() if p.suffix in (".h5", ".keras") and (RNN / f"{p.stem}.npz").exists())


def _io(npz: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    data = np.load(npz)
    count = lambda prefix: sum(1 for k in data.files if k.startswith(prefix))  # noqa: E731
    return ([data[f"input_{i}"] for i in range(count("input_"))],
            [data[f"output_{i}"] for i in range(count("output_"))])


def test_fixtures_present():
    assert len(MODELS) >= 20, "run fixtures/make_model_cases_rnn.py"


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
def test_numpy_matches_keras(path):
    inputs, expected = _io(RNN / f"{path.stem}.npz")
    got = kport.run(kport.load(path), inputs)
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        assert_close(a, b, f"output {i}")


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
def test_onnx_matches_keras(path, opset):
    pytest.importorskip("onnxruntime")
    inputs, expected = _io(RNN / f"{path.stem}.npz")
    got = run_onnx(kport.load(path), inputs, opset)
    for i, (a, b) in enumerate(zip(got, expected)):
        assert_close(a, b, f"output {i}")


def test_implicit_masks_become_explicit_inputs():
    graph = kport.load(RNN / "tf_keras_masked_embedding.h5")
    masked = [n for n in graph.nodes if "tensor:mask" in n.call]
    assert [graph.layers[n.layer].op.kind for n in masked] == ["LSTM", "GRU"]
    # the Dense between the two RNNs passes the Embedding's mask on
    assert masked[0].inputs[-1] == masked[1].inputs[-1]
    assert graph.tensors[masked[0].inputs[-1]].dtype == "bool"


def test_variable_time_axis_stays_dynamic_in_onnx():
    pytest.importorskip("onnxruntime")
    graph = kport.load(RNN / "keras3_variable_time.h5")
    x = np.random.default_rng(3).normal(size=(2, 11, 3)).astype(np.float32)
    assert_close(run_onnx(graph, [x], 17)[0], kport.run(graph, [x])[0])


@pytest.mark.skipif(not (REALWORLD / "tfkeras" / "rnn_121.h5").exists(), reason="shared real-world files absent")
@pytest.mark.parametrize("runner", ["numpy", "onnx"])
def test_realworld_bidirectional_simple_rnn(runner):
    inputs, expected = _io(RNN / "realworld_rnn_121.npz")
    graph = kport.load(REALWORLD / "tfkeras" / "rnn_121.h5")
    got = kport.run(graph, inputs) if runner == "numpy" else run_onnx(graph, inputs, 13)
    assert_close(got[0], expected[0])


@pytest.mark.parametrize("path", [p for p in MODELS if p.suffix == ".h5"], ids=lambda p: p.name)
def test_kport_file_round_trip_keeps_nested_ops_masks_and_call_records(path, tmp_path):
    graph = kport.load(path)
    kport.save(graph, tmp_path / "model.kport")
    again = kport.load(tmp_path / "model.kport")
    assert [n.call for n in again.nodes] == [n.call for n in graph.nodes]
    inputs, _ = _io(RNN / f"{path.stem}.npz")
    for a, b in zip(kport.run(again, inputs), kport.run(graph, inputs)):
        np.testing.assert_array_equal(a, b)


KERAS1_LSTM = REALWORLD / "keras1-theano" / "simple_lstm_th_keras_1_model.h5"


@pytest.mark.skipif(not KERAS1_LSTM.exists(), reason="shared real-world files absent")
@pytest.mark.parametrize("runner", ["numpy", "onnx"])
def test_realworld_keras1_theano_lstm_matches_its_recorded_predictions(runner):
    import h5py

    with h5py.File(REALWORLD / "keras1-theano" / "simple_lstm_th_keras_1_inputs_and_outputs.h5", "r") as f:
        x = f["inputs/lstm_input_1"][()].astype(np.float32)
        expected = f["predictions/dense_1"][()]
    graph = kport.load(KERAS1_LSTM)
    got = kport.run(graph, [x]) if runner == "numpy" else run_onnx(graph, [x], 13)
    assert_close(got[0], expected)
