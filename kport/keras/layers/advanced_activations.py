"""The Keras 2 module path `keras.layers.advanced_activations`: the same classes as `kport.keras.layers`."""
from kport.keras.layers import LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax, ReLU  # noqa: F401
