"""`kport.convert` to every target writes a file that, run as its users run it, matches the source."""
from pathlib import Path

import numpy as np
import pytest

import kport
from kport.api import TARGETS

ROOT = Path(__file__).resolve().parents[1]
MODELS = [ROOT / "fixtures" / "models" / "tfkeras" / "cnn2d.h5",
          ROOT / "fixtures" / "models" / "keras3" / "multi_io.keras"]
FAST = ["onnx", "torch", "torchscript", "pt2", "kport"]
NEEDS_TF = ["keras", "h5", "savedmodel"]


def _convert(src, to, tmp_path):
    dst = tmp_path / f"out{TARGETS[to].suffix}"
    report = kport.convert(str(src), str(dst), to=to)
    assert report.ok and report.parity is not None and report.parity.passed, report.summary()
    assert Path(report.output).exists()
    return report


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
@pytest.mark.parametrize("to", FAST)
def test_convert_proves_each_target(model, to, tmp_path):
    if to != "kport":
        pytest.importorskip("torch" if to in ("torch", "torchscript", "pt2") else "onnxruntime")
    _convert(model, to, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
@pytest.mark.parametrize("to", NEEDS_TF)
def test_convert_proves_keras_and_tf_targets_in_real_keras(model, to, tmp_path):
    pytest.importorskip("tensorflow")
    _convert(model, to, tmp_path)


def test_torch_folder_is_standalone(tmp_path):
    """The generated model.py imports no kport and loads its own weights."""
    pytest.importorskip("torch")
    import subprocess
    import sys

    report = _convert(MODELS[0], "torch", tmp_path)
    folder = Path(report.output)
    source = (folder / "model.py").read_text()
    assert "kport" not in source.split('"""', 2)[2]
    graph = kport.load(str(MODELS[0]))
    x = np.random.default_rng(0).standard_normal((2,) + graph.inputs[0].shape[1:]).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = ("import numpy as np, torch; from model import load; net = load(); "
            f"print(repr(net(torch.from_numpy(np.load(r'{tmp_path / 'x.npy'}'))).detach().numpy().tolist()))")
    out = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, check=True)
    got = np.array(eval(out.stdout))
    np.testing.assert_allclose(got, kport.run(graph, [x])[0], atol=1e-5, rtol=1e-4)
