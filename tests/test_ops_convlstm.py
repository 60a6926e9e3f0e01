"""ConvLSTM1D/2D/3D against real Keras 3 and tf_keras: numpy reference and onnxruntime."""
from __future__ import annotations

import pytest

from kport.errors import ExportError
from tests.rnn_cases import assert_close, case_paths, load_case, run_onnx

PATHS = case_paths("convlstm_*.npz")
IDS = [p.stem for p in PATHS]


def test_fixtures_present():
    assert len(PATHS) >= 14, "run fixtures/make_layer_cases_convlstm.py"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_numpy_reference_matches_keras(path):
    case = load_case(path)
    layer = case.graph().layers["rnn"]
    got = layer.op.reference_node(case.inputs, layer.weights, case.call)
    assert len(got) == len(case.outputs)
    for i, expected in enumerate(case.outputs):
        assert_close(got[i], expected, f"output {i}")


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_onnx_matches_keras(path, opset):
    pytest.importorskip("onnxruntime")
    case = load_case(path)
    got = run_onnx(case.graph(), case.inputs, opset)
    for i, expected in enumerate(case.outputs):
        assert_close(got[i], expected, f"output {i}")


def test_unrolled_export_needs_a_static_time_axis():
    case = load_case(next(p for p in PATHS if p.stem.endswith("2d_same_seq")))
    with pytest.raises(ExportError, match="fixed sequence length"):
        run_onnx(case.graph(dynamic_time=True), case.inputs, 17)
