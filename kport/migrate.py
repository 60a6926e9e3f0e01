"""Trained weights across frameworks: Keras model -> torch state_dict, and a (fine-tuned) state_dict back."""
from __future__ import annotations

import os

import numpy as np

from kport.errors import FormatError, KportError
from kport.ir.graph import Graph
from kport.util.atomic import atomic_write


def export_state_dict(graph: Graph, path) -> dict[str, np.ndarray]:
    """Writes the torch state_dict of the module `kport convert --to torch` generates, as safetensors."""
    from safetensors.numpy import save_file

    from kport.exporters.torch.state_dict import to_state_dict

    state = to_state_dict(graph)
    with atomic_write(path) as tmp:
        save_file({k: np.require(v, requirements="C") for k, v in state.items()}, tmp)
    return state


def read_state_dict(path) -> dict[str, np.ndarray]:
    """Reads a state_dict from safetensors (or a torch `.pt` saved with weights only)."""
    path = os.fspath(path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[:2] == b"PK":  # torch.save zip: load tensors only, never objects
        import torch

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises several types for unsafe or corrupt files
            raise FormatError(f"cannot read the torch state_dict ({err})", path=path,
                              hint="save it with torch.save(model.state_dict(), path) or as safetensors")
        return {k: v.detach().cpu().numpy() for k, v in state.items()}
    from safetensors.numpy import load_file

    try:
        return load_file(path)
    except Exception as err:  # safetensors raises its own error type for corrupt headers
        raise FormatError(f"cannot read the safetensors file ({err})", path=path)


def import_state_dict(graph: Graph, state_path) -> Graph:
    """Returns `graph` with its weights replaced from a state_dict file (exact inverse layouts)."""
    from kport.exporters.torch.state_dict import from_state_dict

    return from_state_dict(graph, read_state_dict(state_path), source=os.fspath(state_path))


def write_keras_file(graph: Graph, path) -> None:
    """Writes a Keras file chosen by extension: `.keras` (Keras 3), `.h5`/`.hdf5` (tf.keras), `.kport`."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext == ".keras":
        from kport.exporters.keras.keras3_file import write_keras

        write_keras(graph, path)
    elif ext in (".h5", ".hdf5"):
        from kport.exporters.keras.legacy_h5_file import write_h5

        write_h5(graph, path)
    elif ext == ".kport":
        from kport.ir import kport_file

        kport_file.save(graph, path)
    else:
        raise KportError(f"cannot tell which format to write from '{ext}'", path=os.fspath(path),
                         hint="name the output .keras, .h5 or .kport")
