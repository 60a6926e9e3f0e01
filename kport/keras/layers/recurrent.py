"""The Keras 2 module path `keras.layers.recurrent`: the same classes as `kport.keras.layers`."""
from kport.keras.layers import SimpleRNN, GRU, LSTM  # noqa: F401
