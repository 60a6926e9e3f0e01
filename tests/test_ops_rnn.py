"""SimpleRNN / LSTM / GRU against real Keras 3 and tf_keras outputs: numpy reference and onnxruntime."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from kport.errors import ExportError, ShapeError
from kport.ops.base import ImportContext
from kport.ops.gru import GRU
from kport.ops.lstm import LSTM
from tests.rnn_cases import assert_close, case_paths, load_case, run_onnx

PATHS = case_paths("rnn_*.npz")
IDS = [p.stem for p in PATHS]


def test_fixtures_present():
    assert len(PATHS) >= 100, "run fixtures/make_layer_cases_rnn.py"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_numpy_reference_matches_keras(path):
    case = load_case(path)
    graph = case.graph()
    layer = graph.layers["rnn"]
    got = layer.op.reference_node(case.inputs, layer.weights, case.call)
    assert len(got) == len(case.outputs)
    for i, (a, b) in enumerate(zip(got, case.outputs)):
        assert_close(a, b, f"output {i}")


def _needs_unrolled(case) -> bool:
    """Activations the ONNX recurrent operators lack need the unrolled form (a static time axis);
    masks do not (they compact each row's unmasked steps for the native operator)."""
    return any(a in ("selu", "silu") for a in case.op().onnx_activation_names())


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_onnx_matches_keras(path, opset):
    pytest.importorskip("onnxruntime")
    case = load_case(path)
    dynamic = not _needs_unrolled(case) and "time_major" not in path.stem
    got = run_onnx(case.graph(dynamic_time=dynamic), case.inputs, opset)
    assert len(got) == len(case.outputs)
    for i, (a, b) in enumerate(zip(got, case.outputs)):
        assert_close(a, b, f"output {i}")


@pytest.mark.parametrize("path", [p for p in PATHS if "_seq" in p.stem and "keras3" in p.stem], ids=lambda p: p.stem)
def test_onnx_dynamic_time_axis_runs_other_lengths(path):
    """A dynamic time axis stays dynamic: the exported model runs a longer sequence like numpy does."""
    pytest.importorskip("onnxruntime")
    case = load_case(path)
    graph = case.graph(dynamic_time=True)
    x = np.random.default_rng(1).normal(size=(3, 9, case.inputs[0].shape[-1])).astype(np.float32)
    expected = graph.layers["rnn"].op.reference([x], graph.layers["rnn"].weights)
    got = run_onnx(graph, [x], 17)
    for a, b in zip(got, expected):
        assert_close(a, b)


def test_unrolled_forms_need_a_static_time_axis():
    case = load_case(next(p for p in PATHS if p.stem.endswith("lstm_swish")))
    with pytest.raises(ExportError, match="fixed sequence length"):
        run_onnx(case.graph(dynamic_time=True), case.inputs, 17)


def test_hard_sigmoid_follows_the_writing_keras():
    cfg = {"units": 2, "recurrent_activation": "hard_sigmoid"}
    assert LSTM.from_keras(cfg, ImportContext(keras_major=2)).recurrent_activation == "hard_sigmoid"
    assert LSTM.from_keras(cfg, ImportContext(keras_major=3)).recurrent_activation == "hard_sigmoid_v3"


def test_recurrent_activation_default_was_hard_sigmoid_before_keras_2_3():
    old = ImportContext(keras_major=2, keras_version="2.2.4", flavor="keras")
    new = ImportContext(keras_major=2, keras_version="2.3.1", flavor="keras")
    assert LSTM.from_keras({"units": 2}, old).recurrent_activation == "hard_sigmoid"
    assert LSTM.from_keras({"units": 2}, new).recurrent_activation == "sigmoid"


def test_gru_reset_after_default_depends_on_flavor():
    assert GRU.from_keras({"units": 2}, ImportContext(flavor="keras", keras_version="2.2.4")).reset_after is False
    assert GRU.from_keras({"units": 2}, ImportContext(flavor="tf.keras", keras_version="2.4.0")).reset_after is True


def test_stateful_is_imported_with_a_warning():
    with pytest.warns(UserWarning, match="stateless"):
        op = LSTM.from_keras({"units": 2, "stateful": True}, ImportContext(layer="l"))
    assert op.stateful


def test_wrong_number_of_initial_states_is_a_shape_error():
    op = LSTM(units=2)
    w = {"kernel": np.zeros((3, 8), np.float32), "recurrent_kernel": np.zeros((2, 8), np.float32),
         "bias": np.zeros(8, np.float32)}
    with pytest.raises(ShapeError, match="initial state"):
        op.reference([np.zeros((1, 4, 3), np.float32), np.zeros((1, 2), np.float32)], w)


def test_num_outputs_counts_states():
    assert LSTM(units=2, return_state=True).num_outputs(1) == 3
    assert GRU(units=2, return_state=True).num_outputs(1) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert LSTM(units=2).num_outputs(1) == 1


@pytest.mark.parametrize("path", [p for p in PATHS if "_mask" in p.stem], ids=lambda p: p.stem)
def test_masked_onnx_keeps_a_dynamic_time_axis(path):
    """Masked layers export with the native operator: a longer sequence with a new mask runs like numpy."""
    pytest.importorskip("onnxruntime")
    case = load_case(path)
    if _needs_unrolled(case):
        pytest.skip("activation without an ONNX recurrent form")
    graph = case.graph(dynamic_time=True)
    rng = np.random.default_rng(5)
    inputs = [rng.normal(size=(4, 9) + a.shape[2:]).astype(np.float32) if i == 0 else
              (rng.random((4, 9)) > 0.4 if a.dtype == bool else rng.normal(size=(4,) + a.shape[1:]).astype(np.float32))
              for i, a in enumerate(case.inputs)]
    inputs[case.call["tensor:mask"][0]][1] = False  # a row with every step masked
    expected = graph.layers["rnn"].op.reference_node(inputs, graph.layers["rnn"].weights, case.call)
    for a, b in zip(run_onnx(graph, inputs, 17), expected):
        assert_close(a, b)
