"""`kport convert` / `kport check` on the command line, and what the light commands import."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import kport
from kport.cli.main import cli
from kport.ops.dense import Dense
from onnx_models import mlp, small_cnn

pytest.importorskip("onnxruntime")


@pytest.fixture()
def cnn_file(tmp_path):
    path = tmp_path / "cnn.kport"
    kport.save(small_cnn(), path)
    return path


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_convert_default_output_and_verdict(cnn_file):
    result = invoke("convert", cnn_file, "--to", "onnx")
    assert result.exit_code == 0, result.output
    assert os.path.exists(cnn_file.with_suffix(".onnx"))
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("OK:") and "PASS" in line and "max |diff|" in line


def test_convert_options(tmp_path, cnn_file):
    out = tmp_path / "x.onnx"
    result = invoke("convert", cnn_file, "-o", out, "--opset", "13", "--no-check", "--inputs-as-nchw")
    assert result.exit_code == 0, result.output
    assert "not checked" in result.output
    import onnx

    model = onnx.load(str(out))
    assert model.opset_import[0].version == 13
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]] == [3, 12, 12]


def test_convert_errors_are_one_line(tmp_path, cnn_file):
    result = invoke("convert", cnn_file, "--opset", "9")
    assert result.exit_code == 2 and "opset 9 is too old" in result.output
    result = invoke("convert", tmp_path / "missing.h5")
    assert result.exit_code == 2 and "no such file" in result.output


def test_convert_parity_failure_exits_nonzero(tmp_path, monkeypatch):
    original = Dense.to_onnx
    monkeypatch.setattr(Dense, "to_onnx", lambda self, g, xs, w, node: [
        g.op("Mul", [original(self, g, xs, w, node)[0], g.const(np.array(1.5, np.float32))])])
    src = tmp_path / "mlp.kport"
    kport.save(mlp(), src)
    result = invoke("convert", src)
    assert result.exit_code == 2 and "FAIL" in result.output and "worst" in result.output
    assert not os.path.exists(tmp_path / "mlp.onnx")
    result = invoke("convert", src, "--keep-on-mismatch")
    assert result.exit_code == 1 and os.path.exists(tmp_path / "mlp.onnx")


def test_check_backends_and_json(tmp_path, cnn_file):
    report = tmp_path / "r.json"
    result = invoke("check", cnn_file, "--backends", "numpy,onnxruntime", "--json", report)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["passed"] is True and data["comparisons"][0]["actual"] == "onnxruntime"


def test_check_other_file_mismatch_exits_1(tmp_path, cnn_file, monkeypatch):
    onnx_path = tmp_path / "m.onnx"
    original = Dense.to_onnx
    monkeypatch.setattr(Dense, "to_onnx", lambda self, g, xs, w, node: [
        g.op("Neg", [original(self, g, xs, w, node)[0]])])
    kport.convert(cnn_file, onnx_path, check=False)
    monkeypatch.undo()
    report = tmp_path / "r.json"
    result = invoke("check", cnn_file, onnx_path, "--json", report, "--atol", "1e-6")
    assert result.exit_code == 1 and "FAIL" in result.output
    assert json.loads(report.read_text())["passed"] is False
    assert invoke("check", cnn_file, onnx_path, "--atol", "100").exit_code == 0


_PROBE = """
import sys
sys.argv = ["kport", *sys.argv[1:]]
from kport.cli.main import main
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
else:
    code = 0
heavy = sorted(m for m in ("tensorflow", "torch", "keras", "tf_keras", "jax") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
sys.exit(code)
"""


@pytest.mark.parametrize("command", ["help", "inspect", "run", "convert", "check"])
def test_light_commands_never_import_tensorflow_or_torch(tmp_path, cnn_file, command):
    inputs = tmp_path / "in.npz"
    np.savez(inputs, image=np.zeros((1, 12, 12, 3), np.float32))
    args = {"help": ["--help"],
            "inspect": ["inspect", cnn_file],
            "run": ["run", cnn_file, "--input", inputs, "--output", tmp_path / "out.npz", "--backend", "numpy"],
            "convert": ["convert", cnn_file, "--to", "onnx", "-o", tmp_path / "m.onnx"],
            "check": ["check", cnn_file, "--backends", "numpy,onnxruntime"]}[command]
    proc = subprocess.run([sys.executable, "-c", _PROBE, *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "HEAVY=\n" in proc.stdout or proc.stdout.rstrip().endswith("HEAVY="), proc.stdout[-500:]
