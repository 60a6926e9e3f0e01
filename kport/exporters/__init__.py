"""Exporters: IR -> ONNX, torch, TF/Keras files."""
