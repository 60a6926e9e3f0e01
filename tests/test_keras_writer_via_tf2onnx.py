"""`kport convert MODEL --to onnx --via tf2onnx`: ONNX made by tf2onnx from kport's tf.keras file.

The slow test converts a fixture that needs exact constructions in tf.keras
(Keras 3 hard_sigmoid gates, log_softmax) and runs the file against what
Keras recorded; the fast ones check the refusals (no TensorFlow needed).
"""
from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

import kport
from kport.cli.main import cli
from kport.errors import KportError
from fixture_manifest import assert_outputs_close, fixture_files


def _fixture(case: str, producer: str):
    return next(f for f in fixture_files() if f.case == case and f.producer == producer and f.format == "h5")


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.slow
@pytest.mark.parametrize("case", ["recurrent", "keras3_activations"])
def test_via_tf2onnx_writes_a_checked_onnx_file(case, tmp_path):
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf_keras")
    pytest.importorskip("tf2onnx")
    from kport.runtime.onnxruntime_backend import run_onnx_file

    fixture = _fixture(case, "keras3")
    out = tmp_path / "model.onnx"
    result = _invoke("convert", fixture.path, "--to", "onnx", "--via", "tf2onnx", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("OK:")
    import onnx

    assert "tf2onnx" in onnx.load(str(out)).producer_name  # made by tf2onnx, not kport's exporter
    graph = kport.load(fixture.path)
    got = run_onnx_file(str(out), dict(zip(graph.input_names, fixture.inputs())), graph.outputs)
    assert_outputs_close(got, fixture.outputs(), fixture.atol, fixture.rtol, f"{fixture.id} via tf2onnx")


def test_via_tf2onnx_without_tensorflow_fails_cleanly(tmp_path, monkeypatch):
    for module in ("tensorflow", "tf2onnx"):
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    out = tmp_path / "model.onnx"
    result = _invoke("convert", _fixture("mlp", "tfkeras").path, "--to", "onnx", "--via", "tf2onnx", "-o", out)
    assert result.exit_code != 0
    assert "tf2onnx" in result.output and "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.iterdir())


def test_via_takes_only_the_targets_it_makes(tmp_path):
    with pytest.raises(KportError, match="--via tf2onnx does not make torch"):
        kport.convert(_fixture("mlp", "tfkeras").path, tmp_path / "m_torch", to="torch", via="tf2onnx")
    assert not list(tmp_path.iterdir())
