"""Conv/pool/resize ops through the generated PyTorch source (eager and TorchScript) against Keras outputs."""
from __future__ import annotations

import numpy as np
import pytest

from layer_harness import assert_close, load_cases
from test_ops_conv import KINDS as CONV_KINDS
from test_ops_pool import KINDS as POOL_KINDS
from test_ops_resize import KINDS as RESIZE_KINDS

torch = pytest.importorskip("torch")
CASES = [c for kind in CONV_KINDS + POOL_KINDS + RESIZE_KINDS for c in load_cases(kind)]


def run_torch(graph, inputs):
    from kport.runtime.torch_backend import build_module

    module = build_module(graph)
    args = [torch.from_numpy(np.ascontiguousarray(x)) for x in inputs]
    with torch.no_grad():
        eager = module(*args)
        scripted = torch.jit.script(module)(*args)
    return eager.numpy(), scripted.numpy()


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "unknown-sizes"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_torch_matches_keras(case, dynamic):
    eager, scripted = run_torch(case.graph(dynamic_spatial=dynamic), case.inputs)
    assert_close(eager, case.outputs[0], f"{case.id} torch eager")
    assert_close(scripted, case.outputs[0], f"{case.id} torchscript")


@pytest.mark.parametrize("case", [c for c in CASES if c.weights], ids=lambda c: c.id)
def test_torch_state_dict_round_trip_is_exact(case):
    from kport.exporters.torch.state_dict import from_state_dict, to_state_dict

    graph = case.graph()
    back = from_state_dict(graph, to_state_dict(graph))
    for name, layer in graph.layers.items():
        for key, value in layer.weights.items():
            got = back.layers[name].weights[key]
            assert got.dtype == value.dtype and np.array_equal(got, value), f"{name}/{key}"
