"""MaxPooling1D: window maximum (valid/same), both data formats."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import MaxPoolingND


@dataclass
class MaxPooling1D(MaxPoolingND):
    kind = "MaxPooling1D"
    keras_classes = ('MaxPooling1D', 'MaxPool1D')
    rank = 1
