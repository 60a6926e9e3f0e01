"""Real tf.keras files made by other people (../shared/realworld/tfkeras, absent in user clones).

issue_9349.hdf5: tf.keras 2.4 `Functional` (Embedding, Conv1D, MaxPooling1D,
Flatten, Dropout, Dense; uint16 input). rnn_121.h5: tf.keras 2.2.4-tf `Model`
with Bidirectional SimpleRNN layers and nested weight paths.
"""
from __future__ import annotations

import h5py
import numpy as np
import pytest

import kport
from importer_files import REALWORLD
from kport.errors import UnsupportedLayerError
from kport.ops.registry import op_for_keras_class

TFKERAS = REALWORLD / "tfkeras"
ISSUE_9349 = TFKERAS / "issue_9349.hdf5"
RNN_121 = TFKERAS / "rnn_121.h5"

pytestmark = [pytest.mark.realworld,
              pytest.mark.skipif(not TFKERAS.is_dir(), reason="../shared/realworld is not present")]


def _missing_ops(*classes: str) -> list[str]:
    return [c for c in classes if op_for_keras_class(c) is None]


def _tokens() -> np.ndarray:
    return np.random.default_rng(9349).integers(0, 5, size=(4, 6)).astype(np.uint16)


def _saved(path, dataset: str) -> np.ndarray:
    with h5py.File(path, "r") as h5:
        return h5[dataset][()]


def test_issue_9349_loads_and_runs():
    missing = _missing_ops("Embedding", "Conv1D", "MaxPooling1D", "Flatten", "Dropout", "Dense")
    if missing:
        with pytest.raises(UnsupportedLayerError) as err:
            kport.load(str(ISSUE_9349))
        assert err.value.layer and str(ISSUE_9349) in str(err.value)
        return
    graph = kport.load(str(ISSUE_9349))
    assert graph.source.format == "tf.keras-h5" and graph.source.keras_version == "2.4.0"
    assert graph.inputs[0].dtype == "uint16" and graph.inputs[0].shape == (None, 6)
    assert [layer.op.kind for layer in graph.layers.values()] == [
        "Embedding", "Conv1D", "MaxPooling1D", "Flatten", "Dropout", "Dense"]
    np.testing.assert_array_equal(graph.layers["conv1d"].weights["kernel"],
                                  _saved(ISSUE_9349, "model_weights/conv1d/conv1d/kernel:0"))
    np.testing.assert_array_equal(graph.layers["embedding"].weights["embeddings"],
                                  _saved(ISSUE_9349, "model_weights/embedding/embedding/embeddings:0"))
    (probs,) = kport.run(graph, [_tokens()])
    assert probs.shape == (4, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


def test_rnn_121_bidirectional_simple_rnn():
    missing = _missing_ops("Bidirectional", "SimpleRNN", "Activation")
    if missing:
        with pytest.raises(UnsupportedLayerError) as err:
            kport.load(str(RNN_121))
        assert err.value.layer == "bidirectional_70"
        assert str(RNN_121) in str(err.value) and err.value.hint
        return
    graph = kport.load(str(RNN_121))
    assert graph.source.keras_version == "2.2.4-tf"
    assert graph.tensors[graph.outputs[0]].shape == (None, 4, 8)
    total = sum(int(np.prod(w.shape)) for w in graph.layers["bidirectional_70"].weights.values())
    assert total == 2 * (1 * 6 + 6 * 6 + 6)


def _tf_keras_predict(path, x):
    pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")
    model = tf_keras.models.load_model(str(path), compile=False)
    return model.predict(x, verbose=0)


@pytest.mark.slow
def test_issue_9349_matches_tf_keras():
    if _missing_ops("Embedding", "Conv1D", "MaxPooling1D", "Flatten", "Dropout", "Dense"):
        pytest.skip("the ops of this model are not all registered yet")
    x = _tokens()
    want = _tf_keras_predict(ISSUE_9349, x)
    (got,) = kport.run(kport.load(str(ISSUE_9349)), [x])
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_rnn_121_matches_tf_keras():
    if _missing_ops("Bidirectional", "SimpleRNN", "Activation"):
        pytest.skip("recurrent ops are not registered yet")
    x = np.random.default_rng(121).normal(size=(3, 4, 1)).astype(np.float32)
    want = _tf_keras_predict(RNN_121, x)
    (got,) = kport.run(kport.load(str(RNN_121)), [x])
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)
