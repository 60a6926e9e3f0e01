"""The Keras 2 module path `keras.layers.core`: the same classes as `kport.keras.layers`."""
from kport.keras.layers import Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector, ActivityRegularization, Masking, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D, Lambda  # noqa: F401
