"""LocallyConnected1D: unshared-weight Conv1D; kernel (out_length, kernel_size * in, filters)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.locally_connected_common import LocallyConnectedND


@dataclass
class LocallyConnected1D(LocallyConnectedND):
    kind = "LocallyConnected1D"
    keras_classes = ("LocallyConnected1D",)
    rank = 1
