"""The mnist_mlp example (sklearn digits) trains to >= 95% test accuracy on kport's engine."""
from __future__ import annotations

import os
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))


@pytest.mark.slow
def test_mnist_mlp_quick_reaches_95_percent(tmp_path):
    import mnist_mlp

    accuracy = mnist_mlp.main(["--quick", "--verbose", "0", "--save", str(tmp_path / "mlp.h5")])
    assert accuracy >= 0.95
    from kport.keras.models import load_model

    assert load_model(str(tmp_path / "mlp.h5")).count_params() == 64 * 512 + 512 + 512 * 512 + 512 + 5130


@pytest.mark.slow
def test_mnist_cnn_quick_learns():
    import mnist_cnn

    assert mnist_cnn.main(["--quick", "--verbose", "0"]) >= 0.93
