"""The PyTorch runtime: runs the same generated source as the standalone `model.py`."""
from __future__ import annotations

import hashlib
import linecache
import sys
import types

import numpy as np

from kport.errors import BackendUnavailableError
from kport.ir.graph import Graph
from kport.runtime.base import Runtime


def build_module(graph: Graph, device: str = "cpu"):
    """Generates, compiles and instantiates the torch module of `graph`, weights loaded, eval mode."""
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError("the torch backend needs PyTorch", hint="pip install 'kport[torch]'")
    from kport.exporters.torch.codegen import generate

    source, state = generate(graph)
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    filename = f"<kport-model-{digest}>"
    # TorchScript reads class sources through inspect, which finds them in linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(f"kport_model_{digest}")
    module.__file__ = filename
    sys.modules[module.__name__] = module
    exec(compile(source, filename, "exec"), module.__dict__)
    net = module.KerasModel()
    net.load_state_dict({k: torch.from_numpy(np.require(v, requirements="C")) for k, v in state.items()})
    if device == "cuda":
        if not torch.cuda.is_available():
            raise BackendUnavailableError("CUDA was asked for but torch sees no GPU", hint="use --device cpu")
        # TF32 matmuls/convolutions lose ~3 decimal digits: parity with Keras float32 needs them off
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return net.to(device).eval()


class TorchRuntime(Runtime):
    """Runs a graph with PyTorch on CPU or CUDA."""

    name = "torch"

    def __init__(self, graph: Graph, device: str = "cpu"):
        super().__init__(graph, device)
        self.module = build_module(graph, device)

    def _run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        import torch

        args = [torch.from_numpy(np.ascontiguousarray(feeds[s.name])).to(self.device) for s in self.graph.inputs]
        with torch.no_grad():
            out = self.module(*args)
        out = out if isinstance(out, tuple) else (out,)
        return [o.detach().cpu().numpy() for o in out]
