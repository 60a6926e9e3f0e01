"""The Keras 2 module path `keras.layers.merge`, which is also Keras 1's `merge([...], mode=...)` function.

Importing this module makes `kport.keras.layers.merge` the module; it stays
callable so Keras 1 code calling `merge(...)` keeps working.
"""
import sys
import types

from kport.keras.layers import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract,  # noqa: F401
                                add, average, concatenate, dot, maximum, minimum, multiply, subtract)
from kport.keras.layers import merge as _keras1_merge


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return _keras1_merge(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
