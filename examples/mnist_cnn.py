"""Keras's classic mnist_cnn example on kport's Keras engine, with sklearn's 8x8 digits (no download).

The architecture, Adadelta optimizer and loop are the Keras example's; the
images are 8x8 instead of 28x28, so the feature maps are smaller.

    python examples/mnist_cnn.py            # 12 epochs, as the Keras example
    python examples/mnist_cnn.py --quick    # 4 epochs
"""
from __future__ import annotations

import argparse

import kport.keras as keras
from kport.keras import backend as K
from kport.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from kport.keras.models import Sequential

from mnist_mlp import load_digits


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 epochs instead of 12")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(1)
    batch_size, num_classes = 32, 10
    epochs = 4 if args.quick else 12
    img_rows = img_cols = 8
    (x_train, y_train), (x_test, y_test) = load_digits()
    if K.image_data_format() == "channels_first":
        x_train = x_train.reshape(-1, 1, img_rows, img_cols)
        x_test = x_test.reshape(-1, 1, img_rows, img_cols)
        input_shape = (1, img_rows, img_cols)
    else:
        x_train = x_train.reshape(-1, img_rows, img_cols, 1)
        x_test = x_test.reshape(-1, img_rows, img_cols, 1)
        input_shape = (img_rows, img_cols, 1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=input_shape))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(128, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(num_classes, activation="softmax"))
    model.compile(loss=keras.losses.categorical_crossentropy, optimizer=keras.optimizers.Adadelta(),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=args.verbose,
              validation_data=(x_test, y_test))
    score = model.evaluate(x_test, y_test, verbose=0)
    print("Test loss:", score[0])
    print("Test accuracy:", score[1])
    return score[1]


if __name__ == "__main__":
    main()
