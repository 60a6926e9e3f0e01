"""Every real-Keras fixture file, through kport, must reproduce what Keras computed.

For each (case, producer, format) in fixtures/models/manifest.json: load the
file with `kport.load` (the separate weights file for JSON architectures), run
it on the numpy reference and on ONNX Runtime (opsets 13 and 17), and compare
with the outputs Keras recorded at |a-b| <= atol + rtol*|b|.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

import kport
from fixture_manifest import FixtureFile, assert_outputs_close, fixture_params, require

BACKENDS = ["numpy", "onnxruntime-opset13", "onnxruntime-opset17"]


@lru_cache(maxsize=8)
def _load(path: str, weights: str | None):
    # the three backends of one file share one import
    return kport.load(path, weights=weights)


def load_fixture(fixture: FixtureFile):
    """Imports one fixture file with kport."""
    return _load(str(fixture.path), str(fixture.weights) if fixture.weights else None)


def run_onnxruntime(graph, inputs: list[np.ndarray], opset: int) -> list[np.ndarray]:
    """Exports the graph to ONNX at `opset` and runs it on ONNX Runtime's CPU provider."""
    ort = pytest.importorskip("onnxruntime")
    from kport.exporters.onnx.export import export_onnx

    model = export_onnx(graph, opset=opset)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {spec.name: np.asarray(arr).astype(spec.dtype) for spec, arr in zip(graph.inputs, inputs)}
    return session.run(None, feeds)


def run_backend(graph, inputs: list[np.ndarray], backend: str) -> list[np.ndarray]:
    if backend == "numpy":
        return kport.run(graph, inputs, backend="numpy")
    return run_onnxruntime(graph, inputs, int(backend.rsplit("opset", 1)[1]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fixture", fixture_params())
def test_fixture_matches_keras(fixture, backend):
    fixture = require(fixture)
    if backend != "numpy":
        pytest.importorskip("onnxruntime")
    graph = load_fixture(fixture)
    inputs = fixture.inputs()
    assert len(graph.inputs) == len(inputs), (
        f"{fixture.id}: kport sees {len(graph.inputs)} model inputs, Keras was fed {len(inputs)}")
    got = run_backend(graph, inputs, backend)
    assert_outputs_close(got, fixture.outputs(), fixture.atol, fixture.rtol, f"{fixture.id} on {backend}")
