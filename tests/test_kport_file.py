"""The `.kport` file round trip is bit-exact for every real-Keras fixture.

Each fixture file is imported, saved as `.kport`, read back, and the two
graphs are compared field by field: weights byte for byte (dtype, shape,
order), typed attributes (tuples stay tuples, nested ops stay ops), nodes,
inputs, outputs, tensor specs and provenance. Running both graphs on the numpy
reference must then give identical bytes.
"""
from __future__ import annotations

import pytest

import kport
from fixture_manifest import fixture_params, require
from graph_compare import graph_difference


def _load(fixture):
    return kport.load(fixture.path, weights=fixture.weights)


@pytest.mark.parametrize("fixture", fixture_params())
def test_kport_file_round_trip_is_exact(fixture, tmp_path):
    fixture = require(fixture)
    graph = _load(fixture)
    target = tmp_path / f"{fixture.case}.kport"
    kport.save(graph, target)
    again = kport.load(target)
    found = graph_difference(graph, again)
    assert found is None, f"{fixture.id}: .kport round trip changed {found}"
    assert again.param_count() == graph.param_count()


@pytest.mark.parametrize("fixture", fixture_params())
def test_kport_file_round_trip_same_outputs(fixture, tmp_path):
    fixture = require(fixture)
    graph = _load(fixture)
    target = tmp_path / f"{fixture.case}.kport"
    kport.save(graph, target)
    inputs = fixture.inputs()
    before = kport.run(graph, inputs, backend="numpy")
    after = kport.run(kport.load(target), inputs, backend="numpy")
    for k, (a, b) in enumerate(zip(before, after)):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), (
            f"{fixture.id}: output {k} differs after the .kport round trip")


@pytest.mark.parametrize("fixture", fixture_params())
def test_kport_file_is_deterministic(fixture, tmp_path):
    fixture = require(fixture)
    graph = _load(fixture)
    kport.save(graph, tmp_path / "a.kport")
    kport.save(kport.load(tmp_path / "a.kport"), tmp_path / "b.kport")
    assert (tmp_path / "a.kport").read_bytes() == (tmp_path / "b.kport").read_bytes(), (
        f"{fixture.id}: saving the reloaded graph gives different bytes")
