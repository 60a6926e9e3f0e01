"""LocallyConnected2D: unshared-weight Conv2D; kernel (out_rows * out_cols, kh * kw * in, filters)."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.locally_connected_common import LocallyConnectedND


@dataclass
class LocallyConnected2D(LocallyConnectedND):
    kind = "LocallyConnected2D"
    keras_classes = ("LocallyConnected2D",)
    rank = 2
