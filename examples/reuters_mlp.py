"""Keras's classic reuters_mlp example (bag-of-words topic classification) on kport's Keras engine.

Reuters newswires need a download, so the documents are generated: 46 topics
with Reuters-like skewed frequencies, each topic a word distribution over a
1,000-word vocabulary (a shared background plus 15 topic words); a document is
40 words drawn from its topic's distribution. As in the Keras example the
documents become binary bag-of-words vectors (`Tokenizer.sequences_to_matrix(
mode='binary')`) and the model is Dense(512, relu), Dropout(0.5), Dense(46,
softmax) trained with Adam.

    python examples/reuters_mlp.py            # 5 epochs, as the Keras example
    python examples/reuters_mlp.py --quick    # 3 epochs on fewer documents
"""
from __future__ import annotations

import argparse

import numpy as np

import kport.keras as keras
from kport.keras.layers import Activation, Dense, Dropout
from kport.keras.models import Sequential

MAX_WORDS = 1000
NUM_CLASSES = 46


def topic_model(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Topic prior (skewed like Reuters's) and per-topic word distributions."""
    rng = np.random.RandomState(seed)
    prior = 1.0 / np.arange(1, NUM_CLASSES + 1) ** 0.8
    background = rng.dirichlet(np.full(MAX_WORDS, 0.5))
    words = np.tile(background, (NUM_CLASSES, 1))
    for topic in range(NUM_CLASSES):
        # topic words share the vocabulary, so topics overlap
        words[topic, rng.choice(MAX_WORDS, 15, replace=False)] += 0.01
    return prior / prior.sum(), words / words.sum(axis=1, keepdims=True)


def make_documents(n: int, seed: int, doc_len: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Binary bag-of-words matrix `(n, MAX_WORDS)` and topic labels, from the topic model."""
    prior, words = topic_model()
    rng = np.random.RandomState(seed)
    y = rng.choice(NUM_CLASSES, n, p=prior)
    x = np.zeros((n, MAX_WORDS), dtype="float32")
    for i, topic in enumerate(y):
        x[i, rng.choice(MAX_WORDS, doc_len, p=words[topic])] = 1.0
    return x, y


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer documents and epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    keras.utils.set_random_seed(1)
    batch_size = 32
    n_train, epochs = (3000, 3) if args.quick else (8982, 5)  # 8,982: Reuters's training set size
    x_train, y_train = make_documents(n_train, seed=1)
    x_test, y_test = make_documents(2246, seed=2)
    majority = float(np.mean(y_test == np.bincount(y_train).argmax()))
    print(len(x_train), "train documents,", len(x_test), "test documents; majority-class accuracy", majority)
    y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)
    y_test = keras.utils.to_categorical(y_test, NUM_CLASSES)

    model = Sequential()
    model.add(Dense(512, input_shape=(MAX_WORDS,)))
    model.add(Activation("relu"))
    model.add(Dropout(0.5))
    model.add(Dense(NUM_CLASSES))
    model.add(Activation("softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=args.verbose, validation_split=0.1)
    score = model.evaluate(x_test, y_test, batch_size=batch_size, verbose=0)
    print("Test score:", score[0])
    print("Test accuracy:", score[1])
    return score[1]


if __name__ == "__main__":
    main()
