"""`kport.convert` / `kport.check` and the parity report (ONNX target, no TensorFlow)."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import onnx
import pytest

import kport
from kport import api, parity
from kport.errors import ExportError, KportError, ParityError
from kport.exporters.onnx import writer
from kport.ops.base import Op
from kport.ops.dense import Dense
from onnx_models import Builder, mlp, small_cnn

pytest.importorskip("onnxruntime")


@pytest.fixture()
def cnn_file(tmp_path):
    path = tmp_path / "cnn.kport"
    kport.save(small_cnn(), path)
    return path


def test_convert_writes_default_path_and_proves_it(cnn_file):
    report = kport.convert(cnn_file)
    assert report.ok and report.kept
    assert report.output == str(cnn_file.with_suffix(".onnx"))
    assert report.parity.passed and report.parity.worst.name == "logits"
    assert report.parity.worst.max_abs_diff < 1e-5
    assert "PASS" in report.summary()
    json.dumps(report.to_dict())
    assert sorted(os.listdir(cnn_file.parent)) == ["cnn.kport", "cnn.onnx"]


def test_convert_without_check(tmp_path, cnn_file):
    report = kport.convert(cnn_file, tmp_path / "out" / "m.onnx", check=False, opset=13)
    assert report.parity is None and report.ok
    assert onnx.load(report.output).opset_import[0].version == 13


def test_unknown_target_and_option(cnn_file):
    with pytest.raises(KportError, match="unknown target"):
        kport.convert(cnn_file, to="nope")
    with pytest.raises(KportError, match="no option"):
        kport.convert(cnn_file, bogus=1)


@dataclass
class NoOnnx(Op):
    kind = "NoOnnxForTests"
    no_hook = {"onnx": "made for this test"}

    def reference(self, xs, w):
        return [xs[0]]


def test_failed_conversion_leaves_no_file(tmp_path):
    b = Builder("bad")
    x = b.input("x", (3,))
    graph = b.done(b.layer("odd", NoOnnx(), x))
    dst = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match="odd"):
        kport.convert(graph, dst)
    assert os.listdir(tmp_path) == []


def test_failure_while_writing_leaves_no_file(tmp_path, monkeypatch):
    def broken(model, initializers, tmp):
        with open(tmp, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(writer, "_write_inline", broken)
    with pytest.raises(OSError):
        kport.convert(mlp(), tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def _skew_dense(monkeypatch):
    """Makes Dense's ONNX form add 0.01: a wrong exporter the check must catch."""
    original = Dense.to_onnx

    def skewed(self, g, xs, w, node):
        (y,) = original(self, g, xs, w, node)
        return [g.op("Add", [y, g.const(np.array(0.01, np.float32))])]

    monkeypatch.setattr(Dense, "to_onnx", skewed)


def test_parity_failure_keeps_no_file(tmp_path, monkeypatch):
    _skew_dense(monkeypatch)
    dst = tmp_path / "m.onnx"
    with pytest.raises(ParityError, match="FAIL") as info:
        kport.convert(mlp(), dst)
    assert not info.value.report.ok and not info.value.report.kept
    assert os.listdir(tmp_path) == []


def test_parity_failure_kept_on_request(tmp_path, monkeypatch):
    _skew_dense(monkeypatch)
    report = kport.convert(mlp(), tmp_path / "m.onnx", keep_on_mismatch=True)
    assert not report.ok and report.kept and os.path.exists(report.output)
    worst = report.parity.worst
    assert not worst.passed and worst.max_abs_diff > 1e-3
    assert worst.actual_value != worst.expected_value


def test_check_backends(cnn_file):
    report = kport.check(cnn_file, backends=("numpy", "onnxruntime"))
    assert report.passed
    assert [(c.expected, c.actual) for c in report.comparisons] == [("numpy", "onnxruntime")]


def test_check_needs_something_to_compare(cnn_file):
    with pytest.raises(KportError, match="nothing to compare"):
        kport.check(cnn_file, backends=("numpy",))


def test_ort_runtime_with_external_data(monkeypatch):
    monkeypatch.setattr(writer, "EXTERNAL_DATA_THRESHOLD", 100)
    monkeypatch.setattr(writer, "EXTERNAL_MIN_BYTES", 64)
    graph = small_cnn()
    feeds = parity.make_inputs(graph, seed=5)
    expected = kport.run(graph, feeds, backend="numpy")
    actual = kport.run(graph, feeds, backend="onnxruntime")
    assert parity.compare(expected, actual).passed


def test_check_against_onnx_file_by_name_and_position(tmp_path, cnn_file):
    path = kport.convert(cnn_file, tmp_path / "m.onnx", check=False).output
    assert kport.check(cnn_file, path).passed
    # another converter's names: matched by position
    model = onnx.load(path)
    for node in model.graph.node:
        node.input[:] = ["renamed_in" if i == "image" else i for i in node.input]
        node.output[:] = ["renamed_out" if o == "logits" else o for o in node.output]
    model.graph.input[0].name, model.graph.output[0].name = "renamed_in", "renamed_out"
    other = tmp_path / "other.onnx"
    onnx.save(model, str(other))
    report = kport.check(cnn_file, other)
    assert report.passed and report.comparisons[0].actual == "other.onnx"


def test_check_against_fixed_batch_nchw_file(tmp_path, cnn_file):
    path = tmp_path / "nchw.onnx"
    kport.convert(cnn_file, path, check=False, inputs_as_nchw=True)
    model = onnx.load(str(path))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1  # a converter that fixed batch 1
    onnx.save(model, str(path))
    assert kport.check(cnn_file, path).passed


def test_check_detects_a_wrong_file(tmp_path, cnn_file, monkeypatch):
    _skew_dense(monkeypatch)
    path = kport.convert(cnn_file, tmp_path / "m.onnx", check=False).output
    monkeypatch.undo()
    report = kport.check(cnn_file, path)
    assert not report.passed
    data = report.to_dict()
    assert data["passed"] is False and data["comparisons"][0]["outputs"][0]["name"] == "logits"


def test_check_with_given_inputs(tmp_path, cnn_file):
    arrays = {"image": np.ones((1, 12, 12, 3), np.float32)}
    npz = tmp_path / "in.npz"
    np.savez(npz, **arrays)
    assert kport.check(cnn_file, inputs=arrays).passed
    assert "in.npz" in kport.check(cnn_file, inputs=npz).inputs


# ---- the report object ----------------------------------------------------------

def test_compare_names_worst_element():
    expected = [np.zeros((2, 3), np.float32), np.ones(4, np.float32)]
    actual = [np.zeros((2, 3), np.float32), np.ones(4, np.float32)]
    actual[0][1, 2] = 0.5
    actual[1][0] += 1e-6
    report = parity.compare(expected, actual, names=["a", "b"])
    assert not report.passed
    a, b = report.comparisons[0].outputs
    assert (a.passed, a.worst_index, a.expected_value, a.actual_value) == (False, (1, 2), 0.0, 0.5)
    assert b.passed
    assert report.worst is a and "[1, 2]" in report.summary()


def test_compare_tolerance_is_relative_to_expected():
    e = np.array([1000.0], np.float32)
    assert parity.compare([e], [e + 0.05]).passed  # 0.05 <= 1e-5 + 1e-4 * 1000
    assert not parity.compare([e], [e + 0.2]).passed


def test_compare_nan_shape_and_count():
    nan = np.array([np.nan, 1.0])
    assert parity.compare([nan], [nan.copy()]).passed
    report = parity.compare([np.array([1.0, 1.0])], [nan])
    assert not report.passed and report.worst.worst_index == (0,)
    assert not parity.compare([np.zeros(3)], [np.zeros(4)]).passed
    assert not parity.compare([np.zeros(3)], []).passed
    json.dumps(report.to_dict())


@dataclass
class FakeEmbedding(Op):
    kind = "FakeEmbeddingForTests"
    input_dim: int = 7

    def output_shapes(self, in_shapes):
        return [in_shapes[0]]


def test_make_inputs_seeded_and_in_range():
    b = Builder("ids")
    tokens = b.input("tokens", (None,), dtype="int32")
    b.input("extra", (4,))
    graph = b.done(b.layer("emb", FakeEmbedding(input_dim=7), tokens))
    feeds = parity.make_inputs(graph, seed=3, batch=5)
    assert feeds["tokens"].shape == (5, parity.DEFAULT_UNKNOWN_DIM) and feeds["tokens"].dtype == np.int32
    assert feeds["tokens"].min() >= 0 and feeds["tokens"].max() < 7
    assert feeds["extra"].dtype == np.float32 and feeds["extra"].shape == (5, 4)
    # tf.keras declares Embedding inputs float32: still valid ids
    b = Builder("float_ids")
    graph_f = b.done(b.layer("emb", FakeEmbedding(input_dim=4), b.input("tokens", (6,))))
    ids = parity.make_inputs(graph_f)["tokens"]
    assert ids.dtype == np.float32 and set(np.unique(ids)) <= {0.0, 1.0, 2.0, 3.0}
    again = parity.make_inputs(graph, seed=3, batch=5)
    assert all(np.array_equal(feeds[k], again[k]) for k in feeds)


def test_ort_runtime_device_errors():
    from kport.errors import BackendUnavailableError
    from kport.runtime.onnxruntime_backend import providers_for

    with pytest.raises(BackendUnavailableError, match="device"):
        providers_for("tpu")
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(BackendUnavailableError, match="CUDA"):
            kport.run(mlp(), [np.zeros((1, 6), np.float32)], backend="onnxruntime", device="cuda")


def test_default_output_path():
    assert api.default_output("a/model.h5") == "a/model.onnx"
    assert api.default_output("model.keras", "onnx") == "model.onnx"
