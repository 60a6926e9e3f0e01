"""The Keras 2 module path `keras.layers.merge`: the same classes as `kport.keras.layers`."""
from kport.keras.layers import Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, add, subtract, multiply, average, maximum, minimum, concatenate, dot  # noqa: F401
