"""The Keras 2 module path `keras.layers.noise`: the same classes as `kport.keras.layers`."""
from kport.keras.layers import GaussianNoise, GaussianDropout, AlphaDropout  # noqa: F401
