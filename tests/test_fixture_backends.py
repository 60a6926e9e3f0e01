"""Every fixture through kport's other routes must still give what Keras computed.

One source file per (case, producer) is enough here (the formats are compared
in test_fixture_parity.py); these tests vary the way out instead:

- the torch runtime (kport's generated PyTorch module);
- kport's own Keras writers (Keras 3 `.keras`, tf.keras `.h5`) read back by kport;
- slow: real tf_keras running kport's tf.keras file (the `tf` runtime) and real
  Keras 3 loading kport's `.keras` file;
- gpu: the torch and ONNX Runtime runtimes on CUDA (skipped without a GPU).

No fixture may be refused by a Keras writer: what a target Keras cannot spell is
written as an exact construction (tests/test_keras_writer_constructions.py).
"""
from __future__ import annotations

import os

import pytest

import kport
from fixture_manifest import FixtureFile, assert_outputs_close, fixture_files

PREFERRED_FORMATS = ("h5", "keras", "json")


def one_file_per_entry() -> list:
    """The h5 file of each (case, producer), else its first recorded format."""
    chosen: dict[tuple[str, str], FixtureFile] = {}
    for f in fixture_files():
        key = (f.case, f.producer)
        rank = PREFERRED_FORMATS.index(f.format) if f.format in PREFERRED_FORMATS else len(PREFERRED_FORMATS)
        old = chosen.get(key)
        if old is None or rank < PREFERRED_FORMATS.index(old.format):
            chosen[key] = f
    if not chosen:
        return [pytest.param(None, id="no-manifest")]
    return [pytest.param(f, id=f"{f.case}-{f.producer}") for f in chosen.values()]


def _load(fixture: FixtureFile | None):
    if fixture is None:
        pytest.fail("fixtures/models/manifest.json is missing; run `make fixtures`")
    return kport.load(fixture.path, weights=fixture.weights)


@pytest.mark.parametrize("fixture", one_file_per_entry())
def test_torch_runtime_matches_keras(fixture):
    pytest.importorskip("torch")
    graph = _load(fixture)
    got = kport.run(graph, fixture.inputs(), backend="torch")
    assert_outputs_close(got, fixture.outputs(), fixture.atol, fixture.rtol, f"{fixture.id} on torch")


def _write_keras3(graph, path):
    from kport.exporters.keras.keras3_file import write_keras

    write_keras(graph, path)


def _write_tf_keras_h5(graph, path):
    from kport.exporters.keras.legacy_h5_file import write_h5

    write_h5(graph, path)


WRITERS = {"keras3.keras": (_write_keras3, ".keras"), "tf.keras.h5": (_write_tf_keras_h5, ".h5")}


@pytest.mark.parametrize("writer", list(WRITERS))
@pytest.mark.parametrize("fixture", one_file_per_entry())
def test_kport_written_keras_file_reads_back(fixture, writer, tmp_path):
    graph = _load(fixture)
    write, suffix = WRITERS[writer]
    target = tmp_path / f"{fixture.case}{suffix}"
    write(graph, target)
    again = kport.load(target)
    got = kport.run(again, fixture.inputs(), backend="numpy")
    assert_outputs_close(got, fixture.outputs(), fixture.atol, fixture.rtol,
                         f"{fixture.id} written as {writer} and read back")


@pytest.mark.slow
@pytest.mark.parametrize("fixture", one_file_per_entry())
def test_tf_runtime_matches_keras(fixture):
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf_keras")
    graph = _load(fixture)
    got = kport.run(graph, fixture.inputs(), backend="tf")
    assert_outputs_close(got, fixture.outputs(), fixture.atol, fixture.rtol, f"{fixture.id} on tf")


@pytest.mark.slow
@pytest.mark.parametrize("fixture", one_file_per_entry())
def test_real_keras3_loads_kport_keras_file(fixture, tmp_path):
    pytest.importorskip("tensorflow")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras")
    if not str(keras.__version__).startswith("3"):
        pytest.skip("needs Keras 3")
    graph = _load(fixture)
    target = tmp_path / f"{fixture.case}.keras"
    _write_keras3(graph, target)
    model = keras.models.load_model(str(target), compile=False)
    inputs = fixture.inputs()
    out = model.predict(inputs[0] if len(inputs) == 1 else inputs, verbose=0)
    got = list(out) if isinstance(out, (list, tuple)) else [out]
    assert_outputs_close(got, fixture.outputs(), fixture.atol, fixture.rtol,
                         f"{fixture.id} written as .keras and run by Keras {keras.__version__}")


def _cuda_available(backend: str) -> bool:
    if backend == "torch":
        torch = pytest.importorskip("torch")
        return torch.cuda.is_available()
    ort = pytest.importorskip("onnxruntime")
    return "CUDAExecutionProvider" in ort.get_available_providers()


@pytest.mark.gpu
@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
@pytest.mark.parametrize("fixture", one_file_per_entry())
def test_cuda_runtime_matches_keras(fixture, backend):
    """The same parity on the GPU: CUDA kernels (TF32 convs, fused ops) must stay within tolerance."""
    if not _cuda_available(backend):
        pytest.skip(f"{backend} sees no CUDA device")
    graph = _load(fixture)
    got = kport.run(graph, fixture.inputs(), backend=backend, device="cuda")
    assert_outputs_close(got, fixture.outputs(), fixture.atol, fixture.rtol, f"{fixture.id} on {backend}/cuda")
