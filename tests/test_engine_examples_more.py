"""The Keras-classic examples (generated or bundled data) learn with --quick on kport's engine.

Each example's held-out metric must beat chance (or the majority/commonest-class
guess) by a clear margin. Each --quick run takes seconds (under 10 s on one
thread), so none is slow-marked.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

QUICK = ["--quick", "--verbose", "0"]


def test_cifar10_cnn_with_augmentation_learns():
    pytest.importorskip("sklearn")
    import cifar10_cnn

    assert cifar10_cnn.main(QUICK) >= 0.6  # 10 classes: chance is 0.1


def test_cifar10_augmentation_moves_images_and_keeps_labels():
    pytest.importorskip("sklearn")
    import cifar10_cnn

    (x, y), _ = cifar10_cnn.load_colour_digits()
    assert x.shape[1:] == (32, 32, 3) and 0 <= x.min() and x.max() <= 1
    batches = cifar10_cnn.AugmentedBatches(x[:64], y[:64], batch_size=32)
    first, labels = batches[0]
    np.testing.assert_array_equal(labels, y[batches.order[:32]])
    assert not np.allclose(first, x[batches.order[:32]])  # shifted / jittered, not the originals
    batches.on_epoch_end()
    again, _ = batches[0]
    assert not np.allclose(first, again)  # a new draw each epoch


def test_reuters_mlp_learns():
    import reuters_mlp

    _, y_test = reuters_mlp.make_documents(2246, seed=2)
    majority = np.bincount(y_test).max() / len(y_test)
    assert reuters_mlp.main(QUICK) >= majority + 0.3


def test_imdb_lstm_learns():
    import imdb_lstm

    assert imdb_lstm.main(QUICK) >= 0.75  # balanced binary labels: chance is 0.5


def test_lstm_text_generation_beats_the_commonest_character():
    import lstm_text_generation as ltg

    text = ltg.python_corpus()
    held_out = text[int(0.9 * len(text)) + 20:]  # the targets of the held-out windows (maxlen 20 with --quick)
    commonest = max(set(held_out), key=held_out.count)
    baseline = held_out.count(commonest) / len(held_out)
    assert ltg.main(QUICK) >= baseline + 0.08
