"""Attention, AdditiveAttention and MultiHeadAttention against real Keras 3 and tf_keras:
numpy reference and onnxruntime."""
from __future__ import annotations

import pytest

from tests.rnn_cases import assert_close, case_paths, load_case, run_onnx

ATTENTION = case_paths("attn_*.npz")
MULTI_HEAD = case_paths("mha_*.npz")
PATHS = ATTENTION + MULTI_HEAD
IDS = [p.stem for p in PATHS]


def test_fixtures_present():
    assert len(ATTENTION) >= 20, "run fixtures/make_layer_cases_attention.py"
    assert len(MULTI_HEAD) >= 14, "run fixtures/make_layer_cases_mha.py"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_numpy_reference_matches_keras(path):
    case = load_case(path)
    layer = case.graph().layers["rnn"]
    got = layer.op.reference_node(case.inputs, layer.weights, case.call)
    for i, expected in enumerate(case.outputs):  # Keras gives the scores only when asked
        assert_close(got[i], expected, f"output {i}")


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_onnx_matches_keras(path, opset):
    pytest.importorskip("onnxruntime")
    case = load_case(path)
    got = run_onnx(case.graph(dynamic_time=True), case.inputs, opset)
    for i, expected in enumerate(case.outputs):
        assert_close(got[i], expected, f"output {i}")
