"""ZeroPadding, Cropping and UpSampling against real Keras outputs: numpy and ONNX (opsets 13, 17, 21)."""
from __future__ import annotations

import pytest

from layer_harness import check_case, load_cases

KINDS = [f"{family}{r}D" for family in ("ZeroPadding", "Cropping", "UpSampling") for r in (1, 2, 3)]
CASES = [c for kind in KINDS for c in load_cases(kind)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_numpy_reference_matches_keras(case):
    check_case(case, "numpy")


@pytest.mark.parametrize("opset", [13, 17, 21])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_onnx_matches_keras(case, opset):
    pytest.importorskip("onnxruntime")
    check_case(case, f"onnx{opset}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_onnx_with_unknown_spatial_sizes(case):
    pytest.importorskip("onnxruntime")
    check_case(case, "onnx17-dynamic")


def test_every_kind_has_a_fixture():
    assert {c.class_name for c in CASES} == set(KINDS)
