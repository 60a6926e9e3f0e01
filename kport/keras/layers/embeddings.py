"""The Keras 2 module path `keras.layers.embeddings`: the same classes as `kport.keras.layers`."""
from kport.keras.layers import Embedding  # noqa: F401
