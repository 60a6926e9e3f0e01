"""The recurrent and attention families through the generated PyTorch source (eager and TorchScript) against real Keras."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kport
from tests.rnn_cases import assert_close, case_paths, load_case

torch = pytest.importorskip("torch")
RNN = Path(__file__).resolve().parents[1] / "fixtures" / "rnn"
LAYER_CASES = (case_paths("rnn_*.npz") + case_paths("attn_*.npz") + case_paths("mha_*.npz")
               + case_paths("convlstm_*.npz"))
MODELS = sorted(p for p in RNN.glob("*.h5") if (RNN / f"{p.stem}.npz").exists() and "realworld" not in p.stem)


def _run(graph, inputs):
    from kport.runtime.torch_backend import build_module

    module = build_module(graph)
    args = [torch.from_numpy(np.ascontiguousarray(a)) for a in inputs]
    with torch.no_grad():
        eager, scripted = module(*args), torch.jit.script(module)(*args)
    as_list = lambda out: [o.numpy() for o in (out if isinstance(out, (tuple, list)) else [out])]  # noqa: E731
    return as_list(eager), as_list(scripted)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("path", LAYER_CASES, ids=[p.stem for p in LAYER_CASES])
def test_layer_matches_keras_eager_and_scripted(path):
    case = load_case(path)
    eager, scripted = _run(case.graph(dynamic_time=True), case.inputs)
    for i, expected in enumerate(case.outputs):  # attention layers give their scores only when asked
        assert_close(eager[i], expected, f"eager output {i}")
        assert_close(scripted[i], expected, f"scripted output {i}")


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
def test_model_matches_keras_on_the_torch_runtime(path):
    data = np.load(RNN / f"{path.stem}.npz")
    inputs = [data[f"input_{i}"] for i in range(sum(k.startswith("input_") for k in data.files))]
    expected = [data[f"output_{i}"] for i in range(sum(k.startswith("output_") for k in data.files))]
    got = kport.run(kport.load(path), inputs, backend="torch")
    for i, (a, b) in enumerate(zip(got, expected)):
        assert_close(a, b, f"output {i}")


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
def test_torch_state_dict_round_trip_is_exact(path):
    from kport.exporters.torch.state_dict import from_state_dict, to_state_dict

    graph = kport.load(path)
    back = from_state_dict(graph, to_state_dict(graph))
    for name, layer in graph.layers.items():
        for key, value in layer.weights.items():
            assert np.array_equal(back.layers[name].weights[key], value), f"{name}/{key}"
