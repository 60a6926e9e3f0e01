"""The real-world model files kport imports (../shared/realworld; skipped when absent) also convert to a
standalone PyTorch folder whose outputs match the numpy reference."""
from pathlib import Path

import pytest

import kport

REALWORLD = Path(__file__).resolve().parent.parent.parent / "shared" / "realworld"
FILES = [
    ("keras1-theano/conv2d_theano_1.h5", None),
    ("keras1-theano/bidirectional_lstm_theano_1.h5", None),
    ("keras1-theano/embedding_conv1d_theano_1.h5", None),
    ("keras1-theano/simple_lstm_th_keras_1_model.h5", None),
    ("keras2-theano/conv2d_theano_2.h5", None),
    ("keras2-theano/lstm_theano_2.h5", None),
    ("tfkeras/rnn_121.h5", None),
    ("tfkeras/issue_9349.hdf5", None),
    ("keras2cpp/my_nn_arch.json", "keras2cpp/my_nn_weights.h5"),
]


@pytest.mark.parametrize("rel,weights", FILES, ids=[f for f, _ in FILES])
@pytest.mark.parametrize("to", ["torch", "torchscript"])
def test_realworld_file_converts_to_torch_with_parity(rel, weights, to, tmp_path):
    pytest.importorskip("torch")
    path = REALWORLD / rel
    if not path.exists():
        pytest.skip(f"{path} is absent (real-world files live outside the repository)")
    report = kport.convert(str(path), str(tmp_path / "out"), to=to,
                           weights=str(REALWORLD / weights) if weights else None)
    assert report.ok and report.parity is not None and report.parity.passed, report.summary()
