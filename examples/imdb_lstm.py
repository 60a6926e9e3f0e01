"""Keras's classic imdb_lstm example (LSTM sentiment classification) on kport's Keras engine.

The IMDB reviews are replaced by generated token sequences (no download): each
"review" is random words from a 2,000-word vocabulary with a few sentiment words
mixed in: positive reviews draw most of them from 50 "positive" words, negative
ones from 50 "negative" words, and some sentiment words of the other polarity
are always present, so the model must weigh them. Sequences have random lengths,
zero-padded at the front to `maxlen` as `pad_sequences` does. The model is the
Keras example's (Embedding, LSTM, Dense sigmoid, Adam), smaller so it runs on a
CPU in seconds, and without the LSTM's dropout/recurrent_dropout.

    python examples/imdb_lstm.py            # 6 epochs on 4,000 reviews
    python examples/imdb_lstm.py --quick    # 4 epochs on 2,000 reviews
"""
from __future__ import annotations

import argparse

import numpy as np

import kport.keras as keras
from kport.keras.layers import LSTM, Dense, Embedding
from kport.keras.models import Sequential

MAX_FEATURES = 2000  # vocabulary size; index 0 is padding
POSITIVE = np.arange(10, 60)
NEGATIVE = np.arange(60, 110)


def make_reviews(n: int, maxlen: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generated token sequences and 0/1 sentiment labels (see the module docstring)."""
    rng = np.random.RandomState(seed)
    x = np.zeros((n, maxlen), dtype="int64")
    y = rng.randint(0, 2, n)
    for i in range(n):
        length = rng.randint(maxlen // 2, maxlen + 1)
        tokens = rng.randint(110, MAX_FEATURES, length)
        n_signal = rng.randint(3, 7)
        major, minor = (POSITIVE, NEGATIVE) if y[i] else (NEGATIVE, POSITIVE)
        slots = rng.choice(length, n_signal, replace=False)
        # two thirds of the sentiment words carry the label, the rest contradict it
        for k, slot in enumerate(slots):
            tokens[slot] = rng.choice(major if k % 3 != 2 else minor)
        x[i, maxlen - length:] = tokens  # pre-padding, as keras.preprocessing.sequence.pad_sequences
    return x, y.astype("float32")


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer reviews and epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(1)
    maxlen, batch_size = 40, 32
    n_train, epochs = (2000, 4) if args.quick else (4000, 6)
    x_train, y_train = make_reviews(n_train, maxlen, seed=0)
    x_test, y_test = make_reviews(1000, maxlen, seed=1)
    print(len(x_train), "train sequences,", len(x_test), "test sequences; x_train shape:", x_train.shape)

    model = Sequential()
    model.add(Embedding(MAX_FEATURES, 32))
    model.add(LSTM(32))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=args.verbose,
              validation_data=(x_test, y_test))
    score, acc = model.evaluate(x_test, y_test, batch_size=batch_size, verbose=0)
    print("Test score:", score)
    print("Test accuracy:", acc)
    return acc


if __name__ == "__main__":
    main()
