"""IR -> Keras files written with h5py and zipfile (no TensorFlow): Keras 3 `.keras`, tf.keras `.h5`."""
