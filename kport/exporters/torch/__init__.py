"""IR -> PyTorch: op hooks emit readable plain-PyTorch source; the same source serves the
torch runtime, the standalone `model.py`, TorchScript and torch.export."""
