"""Every real-Keras fixture file, through kport, must reproduce what Keras computed.

For each (case, producer, format) in fixtures/models/manifest.json: load the
file with `kport.load` (the separate weights file for JSON architectures), run
it on the numpy reference and on ONNX Runtime (opsets 13, 17, 18, 21), and compare
with the outputs Keras recorded at |a-b| <= atol + rtol*|b|. The formats of
one model must also import to the same graph.
"""
from __future__ import annotations

import copy
from functools import lru_cache

import numpy as np
import pytest

import kport
from fixture_manifest import FixtureFile, assert_outputs_close, fixture_files, fixture_params, require
from graph_compare import graph_difference

# 13 and 17 are the contract; 18 moved Reduce* axes to inputs, 21 is a common newest deployment opset
BACKENDS = ["numpy", "onnxruntime-opset13", "onnxruntime-opset17", "onnxruntime-opset18", "onnxruntime-opset21"]


@lru_cache(maxsize=8)
def _load(path: str, weights: str | None):
    # the backends of one file share one import
    return kport.load(path, weights=weights)


def load_fixture(fixture: FixtureFile):
    """Imports one fixture file with kport (a private copy, so no test sees another's changes)."""
    return copy.deepcopy(_load(str(fixture.path), str(fixture.weights) if fixture.weights else None))


def run_onnxruntime(graph, inputs: list[np.ndarray], opset: int) -> list[np.ndarray]:
    """Exports the graph to ONNX at `opset`, checks the model, runs it on ONNX Runtime's CPU provider."""
    ort = pytest.importorskip("onnxruntime")
    import onnx

    from kport.exporters.onnx.export import export_onnx

    model = export_onnx(graph, opset=opset)
    onnx.checker.check_model(model, full_check=True)  # strict: types and shapes infer cleanly
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


def _format_groups() -> list:
    groups: dict[tuple[str, str], list[FixtureFile]] = {}
    for f in fixture_files():
        groups.setdefault((f.case, f.producer), []).append(f)
    params = [pytest.param(files, id=f"{case}-{producer}") for (case, producer), files in groups.items()
              if len(files) > 1]
    return params or [pytest.param(None, id="no-manifest")]


@pytest.mark.parametrize("files", _format_groups())
def test_every_format_of_a_model_gives_the_same_graph(files):
    """One Keras model saved as h5, .keras and JSON+weights must import to one IR, bit for bit."""
    if files is None:
        pytest.fail("fixtures/models/manifest.json is missing; run `make fixtures`")
    first = files[0]
    base = load_fixture(first)
    for other in files[1:]:
        found = graph_difference(base, load_fixture(other), compare_source=False)
        assert found is None, f"{first.id} and {other.id} import differently: {found}"


@pytest.mark.parametrize("backend", ["numpy", "onnxruntime-opset17"])
@pytest.mark.parametrize("fixture", fixture_params())
def test_batch_size_is_free(fixture, backend):
    """A batch of one (the last sample) gives that sample's recorded outputs: no batch size baked in."""
    fixture = require(fixture)
    if backend != "numpy":
        pytest.importorskip("onnxruntime")
    graph = load_fixture(fixture)
    inputs = [x[-1:] for x in fixture.inputs()]
    want = [y[-1:] for y in fixture.outputs()]
    got = run_backend(graph, inputs, backend)
    assert_outputs_close(got, want, fixture.atol, fixture.rtol, f"{fixture.id} on {backend}, batch of 1")
