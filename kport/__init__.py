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
        **options: format-specific options (`arch` for Theano parameter pickles), and
            `layout`: 'keep' (default) or 'channels_last' to move a channels_first
            (Theano-era) model to channels_last (see kport.ir.layout).
            `trust_lambda`: True evaluates Lambda layers' code from the file symbolically
            into ordinary ops (a warning says so); without it Lambda layers are refused.

    Returns:
        kport.ir.Graph
    """
    from kport.importers.detect import sniff
    from kport.ir import kport_file

    layout = options.pop("layout", "keep")  # 'channels_last' moves a channels_first model to NHWC
    if layout not in ("keep", "channels_last"):
        from kport.errors import KportError

        raise KportError(f"unknown layout '{layout}'", hint="use 'keep' or 'channels_last'")
    if kport_file.is_kport_file(path):
        graph = kport_file.load(path)
    else:
        sniff(str(path))
        from kport.importers import load_model

        graph = load_model(path, weights, **options)
    if layout == "channels_last":
        from kport.ir.layout import to_channels_last

        graph = to_channels_last(graph)
    return graph


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
