"""Keras's classic mnist_mlp example, run on kport's Keras engine (PyTorch underneath).

The data is scikit-learn's bundled 8x8 digits (1,797 images, no download), so
the input has 64 features instead of MNIST's 784; the model, optimizer and
loop are the Keras example's. It ends by saving the trained model as a
tf.keras `.h5` file that real Keras (and `kport convert`) can read.

    python examples/mnist_mlp.py            # 20 epochs, as the Keras example
    python examples/mnist_mlp.py --quick    # 8 epochs: well under a minute
"""
from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

import kport.keras as keras
from kport.keras.layers import Dense, Dropout
from kport.keras.models import Sequential
from kport.keras.optimizers import RMSprop


def load_digits(test_fraction: float = 0.25, seed: int = 0):
    """Digits scaled to [0, 1], split into train and test sets (stratified by a seeded shuffle)."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target
    order = np.random.RandomState(seed).permutation(len(x))
    x, y = x[order], y[order]
    split = int(len(x) * (1 - test_fraction))
    return (x[:split], y[:split]), (x[split:], y[split:])


def build_model(input_dim: int, num_classes: int, units: int = 512) -> Sequential:
    model = Sequential()
    model.add(Dense(units, activation="relu", input_shape=(input_dim,)))
    model.add(Dropout(0.2))
    model.add(Dense(units, activation="relu"))
    model.add(Dropout(0.2))
    model.add(Dense(num_classes, activation="softmax"))
    return model


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 epochs instead of 20")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--save", default=os.path.join(tempfile.gettempdir(), "kport_mnist_mlp.h5"))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (one is fastest for a model this small)")
    parser.add_argument("--verbose", type=int, default=1, help="fit's verbose: 0 silent, 1 bar, 2 one line per epoch")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(1)
    # digits has 1,347 training images to MNIST's 60,000: batches of 32 instead of 128 keep
    # a useful number of updates per epoch
    batch_size, num_classes = 32, 10
    epochs = args.epochs or (8 if args.quick else 20)
    (x_train, y_train), (x_test, y_test) = load_digits()
    print(x_train.shape[0], "train samples")
    print(x_test.shape[0], "test samples")
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = build_model(x_train.shape[1], num_classes)
    model.summary()
    model.compile(loss="categorical_crossentropy", optimizer=RMSprop(decay=0.01), metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=args.verbose,
              validation_data=(x_test, y_test))
    score = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", score[0])
    print("Test accuracy:", score[1])
    model.save(args.save)
    print("Saved the trained model (tf.keras HDF5) to", args.save)
    return score[1]


if __name__ == "__main__":
    main()
