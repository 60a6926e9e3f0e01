"""Convolution layers against real Keras outputs: numpy reference and ONNX (opsets 13, 17)."""
from __future__ import annotations

import pytest

from layer_harness import check_case, load_cases

KINDS = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
         "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"]
CASES = [c for kind in KINDS for c in load_cases(kind)]
# 'same'/'causal' cases again with unknown spatial sizes at export time
DYNAMIC = [c for c in CASES if c.config.get("padding") in ("same", "causal")]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_numpy_reference_matches_keras(case):
    check_case(case, "numpy")


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_onnx_matches_keras(case, opset):
    pytest.importorskip("onnxruntime")
    check_case(case, f"onnx{opset}")


@pytest.mark.parametrize("case", DYNAMIC, ids=lambda c: c.id)
def test_onnx_with_unknown_spatial_sizes(case):
    pytest.importorskip("onnxruntime")
    check_case(case, "onnx17-dynamic")


def test_every_kind_has_a_fixture():
    assert {c.class_name for c in CASES} == set(KINDS)
