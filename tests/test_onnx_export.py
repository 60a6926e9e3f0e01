"""ONNX export: opsets, names, dynamic batch, checker, determinism, NCHW inputs, external data."""
from __future__ import annotations

import hashlib
import os

import numpy as np
import onnx
import pytest

from kport.errors import ExportError
from kport.exporters.onnx import writer
from kport.exporters.onnx.export import MIN_OPSET, export_onnx, max_opset, write_onnx
from kport.runtime import get_runtime
from onnx_models import mlp, small_cnn

ort = pytest.importorskip("onnxruntime")


def run_file(path, feeds):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def seeded(graph, batch=3):
    rng = np.random.default_rng(1)
    return {s.name: rng.standard_normal((batch, *s.shape[1:])).astype(np.float32) for s in graph.inputs}


@pytest.mark.parametrize("opset", sorted({13, 17, max_opset()}))
@pytest.mark.parametrize("make", [mlp, small_cnn])
def test_opsets_checker_and_parity(tmp_path, opset, make):
    graph = make()
    path = tmp_path / "m.onnx"
    write_onnx(graph, path, opset=opset)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset
    feeds = seeded(graph)
    expected = get_runtime("numpy", graph).run(feeds)
    for a, b in zip(run_file(path, feeds), expected):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4)


def test_opset_out_of_range():
    with pytest.raises(ExportError, match="too old"):
        export_onnx(mlp(), opset=MIN_OPSET - 1)
    with pytest.raises(ExportError, match="newer than"):
        export_onnx(mlp(), opset=max_opset() + 1)


def test_names_and_dynamic_batch(tmp_path):
    graph = small_cnn()
    model = export_onnx(graph)
    assert [i.name for i in model.graph.input] == ["image"]
    assert [o.name for o in model.graph.output] == ["logits"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [12, 12, 3]
    path = tmp_path / "m.onnx"
    write_onnx(graph, path)
    for batch in (1, 5):
        (out,) = run_file(path, seeded(graph, batch))
        assert out.shape == (batch, 2)


def test_written_file_equals_protobuf_serialization(tmp_path):
    """The streaming writer produces a file that parses to exactly the in-memory model."""
    graph = small_cnn()
    path = tmp_path / "m.onnx"
    write_onnx(graph, path)
    assert onnx.load(str(path)) == export_onnx(graph)


def test_deterministic_bytes(tmp_path):
    digests = set()
    for i in range(2):
        path = tmp_path / f"m{i}.onnx"
        write_onnx(small_cnn(), path)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1


def test_inputs_as_nchw(tmp_path):
    graph = small_cnn()
    path = tmp_path / "nchw.onnx"
    write_onnx(graph, path, inputs_as_nchw=True)
    model = onnx.load(str(path))
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    assert dims == [3, 12, 12]
    # the input transpose cancels against the first conv's: no Transpose left at all
    assert "Transpose" not in [n.op_type for n in model.graph.node]
    feeds = seeded(graph)
    expected = get_runtime("numpy", graph).run(feeds)
    (out,) = run_file(path, {"image": np.ascontiguousarray(feeds["image"].transpose(0, 3, 1, 2))})
    np.testing.assert_allclose(out, expected[0], atol=1e-5, rtol=1e-4)


def test_inputs_as_nchw_rejects_bad_names():
    with pytest.raises(ExportError, match="not a model input"):
        export_onnx(small_cnn(), inputs_as_nchw=["nope"])
    with pytest.raises(ExportError, match="rank"):
        export_onnx(mlp(), inputs_as_nchw=["features"])


def test_external_data_above_threshold(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "EXTERNAL_DATA_THRESHOLD", 100)
    monkeypatch.setattr(writer, "EXTERNAL_MIN_BYTES", 64)
    graph = small_cnn()
    path = tmp_path / "big.onnx"
    written = write_onnx(graph, path)
    assert written == [str(path), str(path) + ".data"]
    assert os.path.getsize(str(path) + ".data") > 0
    model = onnx.load(str(path), load_external_data=False)
    assert any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    onnx.checker.check_model(str(path), full_check=True)
    feeds = seeded(graph)
    expected = get_runtime("numpy", graph).run(feeds)
    np.testing.assert_allclose(run_file(path, feeds)[0], expected[0], atol=1e-5, rtol=1e-4)
    assert sorted(os.listdir(tmp_path)) == ["big.onnx", "big.onnx.data"]  # no temporary files left


def test_unoptimized_export_matches_optimized(tmp_path):
    graph = small_cnn()
    feeds = seeded(graph)
    outs = []
    for optimize in (False, True):
        path = tmp_path / f"o{optimize}.onnx"
        write_onnx(graph, path, optimize=optimize)
        outs.append(run_file(path, feeds)[0])
    np.testing.assert_allclose(outs[1], outs[0], atol=1e-5, rtol=1e-4)


def test_inputs_as_nchw_leaves_channels_first_models_alone():
    from kport.ops.conv2d import Conv2D
    from onnx_models import Builder

    b = Builder("cf")
    x = b.input("image", (3, 8, 8))
    graph = b.done(b.layer("conv", Conv2D(filters=2, kernel_size=(3, 3), data_format="channels_first"), x))
    model = export_onnx(graph, inputs_as_nchw=True)
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]] == [3, 8, 8]
    assert [n.op_type for n in model.graph.node] == ["Conv"]
