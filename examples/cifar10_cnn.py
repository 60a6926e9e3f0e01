"""Keras's classic cifar10_cnn example (small CNN, real-time data augmentation) on kport's Keras engine.

CIFAR-10 needs a download, so the images are scikit-learn's bundled 8x8 digits
made CIFAR-shaped: upsampled 4x to 32x32 and painted in a random colour on a
random dark background per image (3 channels), 10 classes. Augmentation runs in
real time in a `keras.utils.Sequence` (random shifts of up to 4 pixels and
colour jitter, new each epoch), as `ImageDataGenerator.flow` does in the Keras
example; there are no horizontal flips because digits are not mirror-symmetric.
The network is the Keras example's; RMSprop's learning rate is 1e-3 (the example's
1e-4 needs its 100 epochs).

    python examples/cifar10_cnn.py            # 10 epochs
    python examples/cifar10_cnn.py --quick    # 3 epochs on 800 training images
"""
from __future__ import annotations

import argparse

import numpy as np

import kport.keras as keras
from kport.keras.layers import Activation, Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from kport.keras.models import Sequential

NUM_CLASSES = 10


def load_colour_digits(seed: int = 0):
    """sklearn digits as 32x32x3 float images in [0, 1], split 75/25 (see the module docstring)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.RandomState(seed)
    gray = np.kron(digits.images / 16.0, np.ones((4, 4)))[..., None]  # (n, 32, 32, 1)
    ink = rng.uniform(0.5, 1.0, (len(gray), 1, 1, 3))
    paper = rng.uniform(0.0, 0.3, (len(gray), 1, 1, 3))
    x = (gray * ink + (1 - gray) * paper).astype("float32")
    order = rng.permutation(len(x))
    x, y = x[order], digits.target[order]
    split = int(0.75 * len(x))
    return (x[:split], y[:split]), (x[split:], y[split:])


class AugmentedBatches(keras.utils.Sequence):
    """Shuffled batches with random shifts and colour jitter, drawn anew for every epoch."""

    def __init__(self, x, y, batch_size: int, max_shift: int = 4, seed: int = 0):
        self.x, self.y, self.batch_size, self.max_shift = x, y, batch_size, max_shift
        self.rng = np.random.RandomState(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self) -> int:
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, index):
        idx = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        batch = np.empty_like(self.x[idx])
        for i, j in enumerate(idx):
            dy, dx = self.rng.randint(-self.max_shift, self.max_shift + 1, 2)
            # np.roll wraps edge pixels around; the digits' borders are mostly background, so this is nearly a shift
            batch[i] = np.roll(self.x[j], (dy, dx), axis=(0, 1))
        batch *= self.rng.uniform(0.8, 1.2, (len(idx), 1, 1, 3)).astype("float32")
        return np.clip(batch, 0, 1), self.y[idx]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.x))


def build_model(input_shape) -> Sequential:
    """The Keras cifar10_cnn network: two conv blocks, Dense(512), softmax."""
    model = Sequential()
    model.add(Conv2D(32, (3, 3), padding="same", input_shape=input_shape))
    model.add(Activation("relu"))
    model.add(Conv2D(32, (3, 3)))
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Conv2D(64, (3, 3), padding="same"))
    model.add(Activation("relu"))
    model.add(Conv2D(64, (3, 3)))
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(512))
    model.add(Activation("relu"))
    model.add(Dropout(0.5))
    model.add(Dense(NUM_CLASSES))
    model.add(Activation("softmax"))
    return model


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(1)
    batch_size = 32
    (x_train, y_train), (x_test, y_test) = load_colour_digits()
    epochs = 10
    if args.quick:
        x_train, y_train, epochs = x_train[:800], y_train[:800], 3
    print("x_train shape:", x_train.shape, "-", len(x_train), "train samples,", len(x_test), "test samples")
    y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)
    y_test = keras.utils.to_categorical(y_test, NUM_CLASSES)

    model = build_model(x_train.shape[1:])
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  metrics=["accuracy"])
    model.fit(AugmentedBatches(x_train, y_train, batch_size), epochs=epochs, verbose=args.verbose,
              validation_data=(x_test, y_test))
    scores = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", scores[0])
    print("Test accuracy:", scores[1])
    return scores[1]


if __name__ == "__main__":
    main()
