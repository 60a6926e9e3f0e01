"""kport: port Keras networks and their trained weights across frameworks.

The public API is small and imports nothing heavy at import time:
`load`, `save`, `convert`, `check`.
"""
from __future__ import annotations

__version__ = "0.1.0"


def load(path, weights=None, **options):
    """Reads a model file of any supported format into a kport IR graph.

    Args:
        path: a Keras `.h5`/`.keras`/JSON file, a `.kport` file or a Theano pickle.
        weights: separate weights for an architecture-only file.
        **options: format-specific options.

    Returns:
        kport.ir.Graph
    """
    from kport.importers.detect import sniff
    from kport.ir import kport_file

    if kport_file.is_kport_file(path):
        return kport_file.load(path)
    sniff(str(path))
    from kport.importers import load_model

    return load_model(path, weights, **options)


def save(graph, path):
    """Writes a graph as a `.kport` file (graph document + safetensors weights)."""
    from kport.ir import kport_file

    kport_file.save(graph, path)


def run(graph, inputs, backend="numpy", device="cpu"):
    """Runs a graph on a backend; returns the outputs in model-output order."""
    from kport.runtime import get_runtime

    return get_runtime(backend, graph, device).run(inputs)


def __getattr__(name):
    # convert/check live in kport.api so this module stays import-light
    if name in ("convert", "check"):
        from kport import api

        return getattr(api, name)
    raise AttributeError(name)


__all__ = ["load", "save", "run", "convert", "check", "__version__"]
