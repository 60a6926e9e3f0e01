"""Fine-tune the generated PyTorch module, bring its weights back to a Keras file, and get torch's outputs."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kport

ROOT = Path(__file__).resolve().parents[1]
MODELS = [ROOT / "fixtures" / "models" / "tfkeras" / "cnn2d.h5",
          ROOT / "fixtures" / "models" / "keras3" / "multi_io.keras",
          ROOT / "fixtures" / "models" / "tfkeras" / "recurrent.h5"]


def _finetune(model_path: Path, tmp_path: Path):
    """Converts to a torch folder, trains a few SGD steps, saves the state_dict; returns (graph, inputs, outputs)."""
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    report = kport.convert(str(model_path), str(tmp_path / "net"), to="torch")
    sys.path.insert(0, report.output)
    try:
        import importlib

        module = importlib.import_module("model")
        importlib.reload(module)
        net = module.load()
    finally:
        sys.path.remove(report.output)
        sys.modules.pop("model", None)
    graph = kport.load(str(model_path))
    rng = np.random.default_rng(0)
    feeds = []
    for spec in graph.inputs:
        shape = [4] + [d or 5 for d in spec.shape[1:]]
        if spec.dtype.startswith("int"):
            feeds.append(torch.from_numpy(rng.integers(0, 3, shape).astype(spec.dtype)))
        else:
            feeds.append(torch.from_numpy(rng.standard_normal(shape).astype(np.float32)))
    net.train()
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.05)
    for _ in range(3):
        out = net(*feeds)
        loss = sum(o.float().pow(2).mean() for o in (out if isinstance(out, tuple) else (out,)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        out = net(*feeds)
    outputs = [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]
    state = tmp_path / "tuned.safetensors"
    save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(state))
    return graph, [f.numpy() for f in feeds], outputs, state


@pytest.mark.parametrize("model_path", MODELS, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_finetuned_weights_come_back_to_a_keras_file(model_path, tmp_path):
    graph, inputs, expected, state = _finetune(model_path, tmp_path)
    tuned = tmp_path / "tuned.h5"
    res = subprocess.run([sys.executable, "-m", "kport.cli.main", "weights", str(model_path), "--from", str(state),
                          "-o", str(tuned)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    back = kport.load(str(tuned))
    changed = any(not np.array_equal(graph.layers[n].weights[w], back.layers[n].weights[w])
                  for n in graph.layers for w in graph.layers[n].weights)
    assert changed, "fine-tuning changed no weight"
    for got, want in zip(kport.run(back, inputs), expected):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("model_path", MODELS, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_real_tf_keras_reproduces_the_finetuned_torch_outputs(model_path, tmp_path):
    pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")
    from kport import migrate

    graph, inputs, expected, state = _finetune(model_path, tmp_path)
    tuned = tmp_path / "tuned.h5"
    migrate.write_keras_file(migrate.import_state_dict(graph, state), tuned)
    model = tf_keras.models.load_model(str(tuned), compile=False)
    got = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    got = got if isinstance(got, (list, tuple)) else [got]
    for g, want in zip(got, expected):
        np.testing.assert_allclose(np.asarray(g), want, atol=1e-5, rtol=1e-4)
