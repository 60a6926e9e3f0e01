"""Reads fixtures/models/manifest.json for the whole-model parity tests.

The fixtures are real Keras files (made by fixtures/make_fixtures.py) with the
inputs and outputs Keras recorded; these helpers list them as pytest params and
compare arrays the way the parity contract says.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "fixtures" / "models"
MANIFEST = MODELS / "manifest.json"


@dataclass(frozen=True)
class FixtureFile:
    """One saved file of one case: what `kport.load` gets and what it must reproduce."""

    case: str
    producer: str
    format: str
    path: Path
    weights: Path | None
    io: Path
    atol: float
    rtol: float

    @property
    def id(self) -> str:
        return f"{self.case}-{self.producer}-{self.format}"

    def inputs(self) -> list[np.ndarray]:
        return _arrays(self.io, "input_")

    def outputs(self) -> list[np.ndarray]:
        return _arrays(self.io, "output_")


def _arrays(npz: Path, prefix: str) -> list[np.ndarray]:
    with np.load(npz, allow_pickle=False) as data:
        count = sum(1 for k in data.files if k.startswith(prefix))
        return [data[f"{prefix}{i}"] for i in range(count)]


def fixture_files() -> list[FixtureFile]:
    """Every (case, producer, format) the manifest lists."""
    if not MANIFEST.exists():
        return []
    result = []
    for entry in json.loads(MANIFEST.read_text()):
        for fmt, rel in entry["files"].items():
            weights = entry.get("weights", {}).get(fmt)
            result.append(FixtureFile(entry["case"], entry["producer"], fmt, MODELS / rel,
                                      MODELS / weights if weights else None, MODELS / entry["io"],
                                      float(entry.get("atol", 1e-5)), float(entry.get("rtol", 1e-4))))
    return result


def fixture_params() -> list:
    """`fixture_files()` as pytest params with readable ids; one failing param if the manifest is missing."""
    files = fixture_files()
    if not files:
        return [pytest.param(None, id="no-manifest")]
    return [pytest.param(f, id=f.id) for f in files]


def require(fixture: FixtureFile | None) -> FixtureFile:
    """Fails (not skips) when there are no fixtures: a missing manifest is a broken checkout."""
    if fixture is None:
        pytest.fail(f"{MANIFEST} is missing; run `make fixtures`")
    return fixture


def assert_outputs_close(got: list, want: list[np.ndarray], atol: float, rtol: float, label: str) -> None:
    """Asserts |got-want| <= atol + rtol*|want| elementwise for every output.

    The failure message names the output, the worst element's index, both
    values, the difference and the allowed difference.
    """
    assert len(got) == len(want), f"{label}: {len(got)} outputs, Keras recorded {len(want)}"
    for k, (a, b) in enumerate(zip(got, want)):
        a = np.asarray(a)
        assert a.shape == b.shape, f"{label}: output {k} has shape {a.shape}, Keras gives {b.shape}"
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        diff = np.abs(a64 - b64)
        allowed = atol + rtol * np.abs(b64)
        bad = ~(diff <= allowed)  # NaN counts as bad
        if not bad.any():
            continue
        excess = np.where(np.isnan(diff), np.inf, diff - allowed)
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), excess.shape))
        raise AssertionError(
            f"{label}: output {k} differs at {int(bad.sum())} of {b.size} elements; worst at index {list(idx)}: "
            f"got {float(a[idx])!r}, Keras {float(b[idx])!r} (|diff| {diff[idx]:.3g} > allowed {allowed[idx]:.3g}; "
            f"atol {atol}, rtol {rtol})")
