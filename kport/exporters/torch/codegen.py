"""Generates a standalone, readable `model.py` (plain PyTorch, no kport import) from an IR graph."""
from __future__ import annotations

import numpy as np

from kport.exporters.hooks import emit_nodes
from kport.exporters.torch.emitter import TorchEmitter
from kport.ir.graph import Graph

HEADER = '''"""{name}: converted by kport from {source}.

Plain PyTorch. Inputs and outputs keep the Keras model's order and layout.

    from model import load
    net = load()            # weights from weights.safetensors beside this file, eval mode
    y = net(*inputs)
"""
import os

import torch
from torch import nn
import torch.nn.functional as F
'''

FOOTER = '''

def load(path=None, device="cpu"):
    """Returns the model with its weights loaded, in eval mode."""
    from safetensors.torch import load_file

    path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights.safetensors")
    net = {cls}()
    net.load_state_dict(load_file(path))
    return net.to(device).eval()
'''


def emit(graph: Graph) -> TorchEmitter:
    """Runs every node's `to_torch` hook into a TorchEmitter."""
    t = TorchEmitter()
    names: dict[str, str] = {}
    for spec in graph.inputs:
        names[spec.name] = t.identifier(spec.name)
    emit_nodes(graph, "torch", t, names, lambda layer: setattr(t, "layer", layer))
    t.input_vars = [names[s.name] for s in graph.inputs]
    t.output_vars = [names[x] for x in graph.outputs]
    return t


def generate(graph: Graph, class_name: str = "KerasModel") -> tuple[str, dict[str, np.ndarray]]:
    """Returns (python source of model.py, state_dict arrays)."""
    t = emit(graph)
    lines = [HEADER.format(name=graph.name, source=graph.source.path or "an IR graph")]
    for source in t.helpers.values():
        lines.append("\n" + source)
    lines.append(f"\nclass {class_name}(nn.Module):")
    lines.append(f'    """The Keras model \'{graph.name}\'; submodules carry the Keras layer names."""\n')
    lines.append("    def __init__(self):")
    lines.append("        super().__init__()")
    for sub in t.submodules:
        lines.append(f"        self.{sub.attr} = {sub.code}")
    if not t.submodules:
        lines.append("        pass")
    lines.append("")
    lines.append(f"    def forward(self, {', '.join(t.input_vars)}):")
    for line in t.forward_lines:
        lines.append(f"        {line}")
    outs = t.output_vars
    lines.append(f"        return {outs[0] if len(outs) == 1 else '(' + ', '.join(outs) + ',)'}")
    lines.append(FOOTER.format(cls=class_name))
    return "\n".join(lines), t.state
