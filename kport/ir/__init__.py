"""The IR: graph, tensors, layers, nodes; validation and the .kport file."""
from kport.ir.graph import Graph, Layer, Node, Shape, SourceInfo, TensorSpec

__all__ = ["Graph", "Layer", "Node", "Shape", "SourceInfo", "TensorSpec"]
