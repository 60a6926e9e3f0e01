"""tf.keras TFOpLambda / SlicingOpLambda models (fixtures/make_tfop_cases.py) against real tf_keras outputs.

Each case is read from its tf_keras `.h5` (and `.keras` where saved) and run on
the numpy reference, onnxruntime at opsets 13, 17, 18 and 21 (symbolic batch) and the
torch runtime; the slow test writes kport's own tf.keras `.h5` and has real
tf_keras reload and run it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kport
from layer_harness import assert_close, run_onnx

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tfop"
CASES = ["binary", "unary", "shapes", "slicing", "more", "logic", "keras3_spellable", "mixed", "nested"]
FILES = [(c, ext) for c in CASES for ext in ("h5", "keras") if (FIXTURES / f"{c}.{ext}").exists()]
# Keras 3 files whose operation nodes (keras.ops.relu, ops.mean, ...) read as the same ops
KERAS3 = ["keras3_ops"]


def _case(case: str, ext: str = "h5"):
    data = np.load(FIXTURES / f"{case}.npz")
    xs = [data[f"input_{i}"] for i in range(sum(k.startswith("input_") for k in data.files))]
    ys = [data[f"output_{j}"] for j in range(sum(k.startswith("output_") for k in data.files))]
    return kport.load(str(FIXTURES / f"{case}.{ext}")), xs, ys


def _check(got, expected, what):
    assert len(got) == len(expected), f"{what}: {len(got)} outputs, expected {len(expected)}"
    for j, (a, b) in enumerate(zip(got, expected)):
        assert_close(a, b, f"{what} output {j}")


@pytest.mark.parametrize("case,ext", FILES, ids=[f"{c}.{e}" for c, e in FILES])
def test_numpy_matches_tf_keras(case, ext):
    graph, xs, ys = _case(case, ext)
    _check(kport.run(graph, xs), ys, f"{case}.{ext} numpy")


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
@pytest.mark.parametrize("case", CASES)
def test_onnxruntime_matches_tf_keras(case, opset):
    pytest.importorskip("onnxruntime")
    graph, xs, ys = _case(case)
    _check(run_onnx(graph, xs, opset), ys, f"{case} onnx opset {opset}")


@pytest.mark.parametrize("case", CASES)
def test_torch_matches_tf_keras(case):
    pytest.importorskip("torch")
    graph, xs, ys = _case(case)
    _check(kport.run(graph, xs, backend="torch"), ys, f"{case} torch")


@pytest.mark.parametrize("case", CASES)
def test_kport_file_round_trip(case, tmp_path):
    graph, xs, ys = _case(case)
    kport.save(graph, tmp_path / f"{case}.kport")
    _check(kport.run(kport.load(str(tmp_path / f"{case}.kport")), xs), ys, f"{case} .kport")


@pytest.mark.parametrize("case", CASES)
def test_written_h5_reads_back_in_kport(case, tmp_path):
    from kport.exporters.keras.legacy_h5_file import write_h5

    graph, xs, ys = _case(case)
    write_h5(graph, tmp_path / f"{case}.h5")
    again = kport.load(str(tmp_path / f"{case}.h5"))
    assert {k: v.op for k, v in again.layers.items()} == {k: v.op for k, v in graph.layers.items()}
    _check(kport.run(again, xs), ys, f"{case} kport-written h5")


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_written_h5_runs_in_tf_keras(case, tmp_path):
    pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")
    from kport.exporters.keras.legacy_h5_file import write_h5

    graph, xs, ys = _case(case)
    write_h5(graph, tmp_path / f"{case}.h5")
    model = tf_keras.models.load_model(str(tmp_path / f"{case}.h5"), compile=False)
    out = model(xs if len(xs) > 1 else xs[0], training=False)
    _check([np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])], ys, f"{case} tf_keras")


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("case", CASES)
def test_torchscript_matches_tf_keras(case):
    torch = pytest.importorskip("torch")
    from kport.runtime.torch_backend import build_module

    graph, xs, ys = _case(case)
    scripted = torch.jit.script(build_module(graph))
    with torch.no_grad():
        out = scripted(*[torch.from_numpy(np.ascontiguousarray(x)) for x in xs])
    out = out if isinstance(out, tuple) else (out,)
    _check([o.numpy() for o in out], ys, f"{case} torchscript")


@pytest.mark.parametrize("case", KERAS3)
def test_keras3_operations_match_keras3(case):
    graph, xs, ys = _case(case, "keras")
    _check(kport.run(graph, xs), ys, f"{case} numpy")
    _check(run_onnx(graph, xs, 13), ys, f"{case} onnx opset 13")
    _check(kport.run(graph, xs, backend="torch"), ys, f"{case} torch")


@pytest.mark.parametrize("case", KERAS3)
def test_keras3_operations_write_back_to_keras3_and_tf_keras(case, tmp_path):
    from kport.exporters.keras.keras3_file import write_keras
    from kport.exporters.keras.legacy_h5_file import write_h5

    graph, xs, ys = _case(case, "keras")
    write_keras(graph, tmp_path / "out.keras")
    write_h5(graph, tmp_path / "out.h5")
    _check(kport.run(kport.load(str(tmp_path / "out.keras")), xs), ys, f"{case} kport-written .keras")
    _check(kport.run(kport.load(str(tmp_path / "out.h5")), xs), ys, f"{case} kport-written .h5")


@pytest.mark.slow
@pytest.mark.parametrize("case", KERAS3)
def test_keras3_operations_written_back_run_in_real_keras(case, tmp_path):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    tf_keras = pytest.importorskip("tf_keras")
    from kport.exporters.keras.keras3_file import write_keras
    from kport.exporters.keras.legacy_h5_file import write_h5

    graph, xs, ys = _case(case, "keras")
    write_keras(graph, tmp_path / "out.keras")
    write_h5(graph, tmp_path / "out.h5")
    for name, model in (("Keras 3", keras.models.load_model(str(tmp_path / "out.keras"), compile=False)),
                        ("tf_keras", tf_keras.models.load_model(str(tmp_path / "out.h5"), compile=False))):
        out = model(xs if len(xs) > 1 else xs[0], training=False)
        _check([np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])], ys, f"{case} {name}")
