"""Optimization passes over the ONNX builder graph, one small module per rewrite.

Every pass takes the `OnnxGraph` and `keep` (tensor names that must survive:
the graph outputs), rewrites in place, and returns True when it changed
anything. `kport.exporters.onnx.passes.optimize` runs them as a pipeline.
"""
