"""The Keras 2 module path `keras.layers.normalization`: the same classes as `kport.keras.layers`."""
from kport.keras.layers import BatchNormalization, LayerNormalization  # noqa: F401
