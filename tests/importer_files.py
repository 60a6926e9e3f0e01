"""Shared helpers for the importer tests: fixture paths, parity, and file rewriting.

The rewriting helpers turn real files made by tf_keras / Keras 3 into the
variants other Keras versions or damaged copies produce, with h5py and zipfile.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

import kport

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "importers"
MANIFEST = json.loads((ROOT / "manifest.json").read_text())
REALWORLD = Path(__file__).resolve().parent.parent.parent / "shared" / "realworld"


def entry(case: str, producer: str) -> dict:
    """The manifest entry of one case saved by one producer."""
    return next(e for e in MANIFEST if e["case"] == case and e["producer"] == producer)


def fixture(producer: str, name: str) -> str:
    return str(ROOT / producer / name)


def file_of(case: str, producer: str, fmt: str) -> str:
    """Path of one saved format of a case."""
    return fixture(producer, entry(case, producer)["files"][fmt])


def load_format(e: dict, fmt: str):
    """Loads one format of a case; JSON gets the case's weights file."""
    weights = fixture(e["producer"], e["files"]["weights"]) if fmt.startswith("json") else None
    return kport.load(fixture(e["producer"], e["files"][fmt]), weights=weights)


def assert_parity(graph, e: dict) -> None:
    """Runs the graph on the case's inputs and compares with real Keras's outputs."""
    data = np.load(fixture(e["producer"], e["io"]))
    xs = [data[f"input_{i}"] for i in range(len(graph.inputs))]
    ys = kport.run(graph, xs)
    assert len(ys) == len([k for k in data.files if k.startswith("output_")])
    for i, y in enumerate(ys):
        want = data[f"output_{i}"]
        assert np.abs(want).max() > 0.05, "the expected output is trivial"
        np.testing.assert_allclose(y, want, atol=e["atol"], rtol=e["rtol"])


def rewrite_keras_zip(src: str, dst: Path, edit_weights: Callable[[h5py.File], None] | None = None,
                      edit_config: Callable[[dict], dict] | None = None) -> str:
    """Copies a `.keras` zip, letting callbacks edit its weights HDF5 and its config."""
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    if edit_weights is not None:
        buf = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buf, "r+") as h5:
            edit_weights(h5)
        members["model.weights.h5"] = buf.getvalue()
    if edit_config is not None:
        members["config.json"] = json.dumps(edit_config(json.loads(members["config.json"]))).encode()
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(dst)


def copy_h5(src: str, dst: Path, edit: Callable[[h5py.File], None]) -> str:
    """Copies an HDF5 file and edits the copy in place."""
    dst.write_bytes(Path(src).read_bytes())
    with h5py.File(dst, "r+") as h5:
        edit(h5)
    return str(dst)


def set_json_attr(obj, name: str, value) -> None:
    """Writes a JSON-valued attribute (model_config) as Keras does."""
    obj.attrs[name] = json.dumps(value).encode("utf-8")


def read_json_attr(obj, name: str):
    value = obj.attrs[name]
    return json.loads(value.decode("utf-8") if isinstance(value, bytes) else value)


def set_names(obj, name: str, values: list[str]) -> None:
    """Writes a list-of-names attribute (layer_names, weight_names) as Keras does."""
    obj.attrs[name] = np.array([v.encode("utf-8") for v in values], dtype="S")
