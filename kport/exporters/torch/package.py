"""Writes the torch deliverables: a standalone model folder, TorchScript, or a torch.export program."""
from __future__ import annotations

import os

import numpy as np

from kport.errors import BackendUnavailableError, ExportError
from kport.exporters.torch.codegen import generate
from kport.ir.graph import Graph
from kport.util.atomic import atomic_write


def write_model_folder(graph: Graph, folder) -> None:
    """Writes `model.py` and `weights.safetensors` into `folder` (atomically, as a whole)."""
    from safetensors.numpy import save_file

    source, state = generate(graph)
    with atomic_write(folder, directory=True) as tmp:
        with open(os.path.join(tmp, "model.py"), "w") as fh:
            fh.write(source)
        save_file({k: np.require(v, requirements="C") for k, v in state.items()}, os.path.join(tmp, "weights.safetensors"))


def _module(graph: Graph):
    from kport.runtime.torch_backend import build_module

    return build_module(graph, "cpu")


def example_inputs(graph: Graph, batch: int = 2, open_size: int = 4):
    """Seeded example tensors in the model's input order (for tracing and export).

    Args:
        graph: the model.
        batch: the batch size.
        open_size: the size of every other axis the model leaves open (None).
    """
    import torch

    rng = np.random.default_rng(0)
    tensors = []
    for spec in graph.inputs:
        shape = [batch if i == 0 else (d if d is not None else open_size) for i, d in enumerate(spec.shape)]
        if spec.dtype.startswith("int"):
            tensors.append(torch.from_numpy(rng.integers(0, 2, size=shape).astype(spec.dtype)))
        else:
            tensors.append(torch.from_numpy(rng.standard_normal(shape).astype(np.float32)))
    return tuple(tensors)


def write_torchscript(graph: Graph, path) -> None:
    """Writes a TorchScript archive (`torch.jit.load` runs it without kport or the source)."""
    torch = _torch()
    scripted = torch.jit.script(_module(graph))
    with atomic_write(path) as tmp:
        scripted.save(tmp)


def write_pt2(graph: Graph, path) -> None:
    """Writes a `torch.export` program (`torch.export.load`) with the batch and unknown sizes dynamic.

    Raises:
        ExportError: torch.export cannot trace the model, or it fixes a size the Keras
            model leaves open (a recurrent time loop does); the torch folder and
            TorchScript keep every size open.
    """
    torch = _torch()
    net = _module(graph)
    args = example_inputs(graph)
    batch = torch.export.Dim("batch", min=1)
    dynamic = tuple({axis: (batch if axis == 0 else torch.export.Dim.AUTO)
                     for axis, size in enumerate(spec.shape) if size is None} for spec in graph.inputs)
    try:
        program = torch.export.export(net, args, dynamic_shapes=dynamic)
    except Exception as err:  # torch.export reports unsupported constructs with many exception types
        raise ExportError(f"torch.export failed: {err}", path=graph.source.path,
                          hint="use --to torch (model.py) or --to torchscript instead")
    open_axes = [(spec.name, axis) for spec in graph.inputs for axis, size in enumerate(spec.shape[1:], 1)
                 if size is None]
    if open_axes:
        # torch.export may still fix a size (a recurrent time loop does): run other sizes to find out
        try:
            program.module()(*example_inputs(graph, batch=3, open_size=5))
        except Exception:  # a failed shape guard raises several exception types
            names = ", ".join(f"axis {axis} of '{name}'" for name, axis in open_axes)
            raise ExportError(f"torch.export fixes sizes the Keras model leaves open ({names})",
                              path=graph.source.path,
                              hint="use --to torch (model.py) or --to torchscript, which keep them open")
    with atomic_write(path) as tmp:
        torch.export.save(program, tmp)


def _torch():
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError("PyTorch export needs torch", hint="pip install 'kport[torch]'")
    return torch




# ---- `kport convert` targets: write(graph, path) -> paths; run(path, feeds, names) -> outputs ----
def write_torch(graph: Graph, path) -> list[str]:
    """Target `torch`: the standalone model folder."""
    write_model_folder(graph, path)
    return [os.fspath(path)]


def write_torchscript_target(graph: Graph, path) -> list[str]:
    """Target `torchscript`."""
    write_torchscript(graph, path)
    return [os.fspath(path)]


def write_pt2_target(graph: Graph, path) -> list[str]:
    """Target `pt2`."""
    write_pt2(graph, path)
    return [os.fspath(path)]


def _tensors(feeds: dict[str, np.ndarray]):
    import torch

    return [torch.from_numpy(np.require(v, requirements="C")) for v in feeds.values()]


def _numpy(out) -> list[np.ndarray]:
    out = out if isinstance(out, (tuple, list)) else (out,)
    return [o.detach().cpu().numpy() for o in out]


def run_torch_folder(path, feeds: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
    """Imports the written `model.py` as a user would and runs it."""
    import importlib.util
    import sys

    import torch

    spec = importlib.util.spec_from_file_location(f"kport_written_model_{abs(hash(os.fspath(path)))}",
                                                  os.path.join(path, "model.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        net = module.load(os.path.join(path, "weights.safetensors"))
        with torch.no_grad():
            return _numpy(net(*_tensors(feeds)))
    finally:
        sys.modules.pop(spec.name, None)


def run_torchscript_file(path, feeds: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
    """Runs a TorchScript archive with torch.jit.load."""
    import torch

    net = torch.jit.load(os.fspath(path), map_location="cpu").eval()
    with torch.no_grad():
        return _numpy(net(*_tensors(feeds)))


def run_pt2_file(path, feeds: dict[str, np.ndarray], names: list[str]) -> list[np.ndarray]:
    """Runs a torch.export program with torch.export.load."""
    import torch

    program = torch.export.load(os.fspath(path))
    with torch.no_grad():
        return _numpy(program.module()(*_tensors(feeds)))
