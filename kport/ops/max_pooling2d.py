"""MaxPooling2D: window maximum (valid/same), both data formats."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import MaxPoolingND


@dataclass
class MaxPooling2D(MaxPoolingND):
    kind = "MaxPooling2D"
    keras_classes = ('MaxPooling2D', 'MaxPool2D')
    rank = 2
