"""MaxPooling3D: window maximum (valid/same), both data formats."""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.pool_common import MaxPoolingND


@dataclass
class MaxPooling3D(MaxPoolingND):
    kind = "MaxPooling3D"
    keras_classes = ('MaxPooling3D', 'MaxPool3D')
    rank = 3
