"""The committed fixture set is complete, consistent and reproducible.

Fast checks read the manifest and the case modules (no TensorFlow): every case
was built by every producer it declares, every format a producer writes is
either recorded or skipped with a reason, every listed file exists. The slow
check rebuilds a few cases with real Keras and compares the outputs bit for bit.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from fixture_manifest import MANIFEST, MODELS, ROOT

FIXTURES = ROOT / "fixtures"
FORMATS = {"keras3": {"h5", "keras", "json"}, "tfkeras": {"h5", "keras", "json"}}
# generous cap: the set is tiny models; growth past this means a case got too big
MAX_TOTAL_BYTES = 8 * 1024 * 1024


def _make_fixtures_module():
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _manifest() -> list[dict]:
    assert MANIFEST.exists(), f"{MANIFEST} is missing; run `make fixtures`"
    return json.loads(MANIFEST.read_text())


def test_every_case_built_by_each_of_its_producers():
    maker = _make_fixtures_module()
    built = {(e["case"], e["producer"]) for e in _manifest()}
    expected = {(name, producer) for name in maker.case_names()
                for producer in maker.case_producers(maker.load_case(name))}
    assert expected - built == set(), f"cases never built: {sorted(expected - built)}"
    assert built - expected == set(), f"manifest entries without a case module: {sorted(built - expected)}"


@pytest.mark.parametrize("entry", _manifest() if MANIFEST.exists() else [None],
                         ids=lambda e: f"{e['case']}-{e['producer']}" if e else "no-manifest")
def test_manifest_entry_is_complete(entry):
    assert entry is not None, f"{MANIFEST} is missing; run `make fixtures`"
    recorded, skipped = set(entry["files"]), set(entry["skipped"])
    assert recorded | skipped == FORMATS[entry["producer"]], "a format is neither recorded nor skipped"
    assert not recorded & skipped
    assert all(reason for reason in entry["skipped"].values()), "a skipped format needs its reason"
    for rel in list(entry["files"].values()) + list(entry["weights"].values()) + [entry["io"]]:
        assert (MODELS / rel).is_file(), f"{rel} is listed but missing"
    assert set(entry["weights"]) <= recorded
    with np.load(MODELS / entry["io"], allow_pickle=False) as io:
        names = set(io.files)
    assert "input_0" in names and "output_0" in names
    assert entry["atol"] > 0 and entry["rtol"] >= 0


def test_fixture_set_stays_small():
    total = sum(p.stat().st_size for p in MODELS.rglob("*") if p.is_file())
    assert total < MAX_TOTAL_BYTES, f"fixtures/models holds {total / 1e6:.1f} MB"


@pytest.mark.slow
def test_rebuilding_cases_reproduces_committed_outputs(tmp_path):
    pytest.importorskip("tensorflow")
    pytest.importorskip("keras")
    pytest.importorskip("tf_keras")
    cases = ["mlp", "shared_layer", "recurrent"]
    cmd = [sys.executable, str(FIXTURES / "make_fixtures.py"), "--out", str(tmp_path)]
    for case in cases:
        cmd += ["--case", case]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    committed = {(e["case"], e["producer"]): e for e in _manifest()}
    for entry in json.loads((tmp_path / "manifest.json").read_text()):
        assert entry == committed[(entry["case"], entry["producer"])]
        with np.load(tmp_path / entry["io"]) as new, np.load(MODELS / entry["io"]) as old:
            assert sorted(new.files) == sorted(old.files)
            for key in new.files:
                assert new[key].tobytes() == old[key].tobytes(), f"{entry['io']}:{key} changed on rebuild"


def test_demo_model_is_recorded():
    """`make demo` converts fixtures/models/tfkeras/mlp.h5; it must be a verified fixture."""
    entry = next((e for e in _manifest() if (e["case"], e["producer"]) == ("mlp", "tfkeras")), None)
    assert entry is not None and entry["files"].get("h5") == "tfkeras/mlp.h5"
