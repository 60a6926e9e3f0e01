"""Keras's classic lstm_text_generation example (character-level LSTM) on kport's Keras engine.

Nietzsche's text needs a download, so the corpus is text that ships with Python:
the Zen of Python (the `this` module's rot13 text, decoded) followed by the
docstrings of a few standard-library modules, lower-cased with whitespace
collapsed (about 16,000 characters). As in the Keras example, windows of
`maxlen` one-hot characters predict the next character with LSTM -> Dense
softmax and RMSprop(0.01), and the model then writes text by sampling at several
temperatures. The last 10% of the corpus is held out: the script reports
next-character accuracy there against always guessing the commonest character.

    python examples/lstm_text_generation.py            # maxlen 40, LSTM(128), 10 epochs
    python examples/lstm_text_generation.py --quick    # maxlen 20, LSTM(64), 6 epochs
"""
from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import io
import re

import numpy as np

import kport.keras as keras
from kport.keras.layers import LSTM, Dense
from kport.keras.models import Sequential
from kport.keras.optimizers import RMSprop

DOC_MODULES = ("argparse", "json", "subprocess", "unittest", "heapq", "itertools", "typing", "random",
               "tempfile", "collections", "string")


def python_corpus() -> str:
    """The Zen of Python plus standard-library docstrings, lower-cased, whitespace collapsed."""
    with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
        this = importlib.import_module("this")
    parts = [codecs.decode(this.s, "rot13")]
    parts += [importlib.import_module(name).__doc__ or "" for name in DOC_MODULES]
    return re.sub(r"\s+", " ", " ".join(parts)).lower()


def windows(text: str, char_indices: dict, maxlen: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """One-hot `(n, maxlen, chars)` windows and the one-hot character after each."""
    starts = range(0, len(text) - maxlen, step)
    x = np.zeros((len(starts), maxlen, len(char_indices)), dtype="float32")
    y = np.zeros((len(starts), len(char_indices)), dtype="float32")
    for i, start in enumerate(starts):
        for t, char in enumerate(text[start:start + maxlen]):
            x[i, t, char_indices[char]] = 1
        y[i, char_indices[text[start + maxlen]]] = 1
    return x, y


def sample(preds: np.ndarray, rng: np.random.RandomState, temperature: float = 1.0) -> int:
    """An index drawn from a probability array reweighted by `temperature` (the Keras example's helper)."""
    preds = np.log(np.asarray(preds, dtype="float64") + 1e-12) / temperature
    probs = np.exp(preds - preds.max())
    return int(rng.choice(len(probs), p=probs / probs.sum()))


def generate(model, seed_text: str, chars: list, char_indices: dict, length: int, temperature: float,
             rng: np.random.RandomState) -> str:
    """Extends `seed_text` by `length` sampled characters."""
    sentence, generated = seed_text, ""
    for _ in range(length):
        x = np.zeros((1, len(sentence), len(chars)), dtype="float32")
        for t, char in enumerate(sentence):
            x[0, t, char_indices[char]] = 1
        next_char = chars[sample(model.predict(x, verbose=0)[0], rng, temperature)]
        generated += next_char
        sentence = sentence[1:] + next_char
    return generated


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows, smaller LSTM, fewer epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(1)
    maxlen, units, epochs, gen_length = (20, 64, 6, 60) if args.quick else (40, 128, 10, 300)
    text = python_corpus()
    chars = sorted(set(text))
    char_indices = {c: i for i, c in enumerate(chars)}
    split = int(0.9 * len(text))
    train_text, test_text = text[:split], text[split:]
    print("corpus length:", len(text), "- total chars:", len(chars))
    x, y = windows(train_text, char_indices, maxlen, step=3)
    x_test, y_test = windows(test_text, char_indices, maxlen, step=1)
    print("nb sequences:", len(x), "train,", len(x_test), "held out")

    model = Sequential()
    model.add(LSTM(units, input_shape=(maxlen, len(chars))))
    model.add(Dense(len(chars), activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=RMSprop(learning_rate=0.01), metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=epochs, verbose=args.verbose)

    commonest = np.bincount(y.argmax(axis=1), minlength=len(chars)).argmax()
    baseline = float(np.mean(y_test.argmax(axis=1) == commonest))
    accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    print(f"held-out next-character accuracy: {accuracy:.3f} (always {chars[commonest]!r}: {baseline:.3f})")
    rng = np.random.RandomState(0)
    seed_text = test_text[:maxlen]
    for temperature in (0.2, 0.5, 1.0):
        print(f"----- temperature {temperature}: {seed_text!r} ->")
        print(generate(model, seed_text, chars, char_indices, gen_length, temperature, rng))
    return accuracy


if __name__ == "__main__":
    main()
