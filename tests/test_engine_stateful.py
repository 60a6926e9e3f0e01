"""Stateful SimpleRNN / LSTM / GRU in kport.keras: states carried across batches, reset_states.

The slow tests compare against real tf_keras: the same stateful model with the same weights, fed
the same sequence of batches, gives the same outputs batch after batch, after reset_states, and
while training with train_on_batch.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

BATCH, STEPS, FEATURES, UNITS = 4, 5, 3, 6
ATOL, RTOL = 1e-5, 1e-4


def _build(keras, kind: str, return_sequences: bool = False):
    extra = {"reset_after": True} if kind == "GRU" else {}
    layer = getattr(keras.layers, kind)(UNITS, stateful=True, return_sequences=return_sequences,
                                        batch_input_shape=(BATCH, STEPS, FEATURES), **extra)
    head = keras.layers.Dense(2)
    if return_sequences:
        head = keras.layers.TimeDistributed(head)
    return keras.models.Sequential([layer, head])


def _batches(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32") for _ in range(n)]


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_states_carry_over_batches_until_reset(kind):
    import kport.keras as keras

    model = _build(keras, kind)
    x = _batches(1)[0]
    first = model.predict_on_batch(x)
    second = model.predict_on_batch(x)
    assert not np.allclose(first, second, atol=1e-4)  # the second call started from the first's states
    model.reset_states()
    np.testing.assert_allclose(model.predict_on_batch(x), first, rtol=RTOL, atol=ATOL)
    model.layers[0].reset_states()
    np.testing.assert_allclose(model.predict(x, batch_size=BATCH), first, rtol=RTOL, atol=ATOL)


def test_stateless_run_equals_the_first_stateful_call():
    import kport.keras as keras

    stateful = _build(keras, "LSTM")
    stateless = keras.models.Sequential([keras.layers.LSTM(UNITS, input_shape=(STEPS, FEATURES)),
                                         keras.layers.Dense(2)])
    stateless.set_weights(stateful.get_weights())
    x = _batches(1)[0]
    np.testing.assert_allclose(stateful.predict_on_batch(x), stateless.predict(x), rtol=RTOL, atol=ATOL)


def test_a_batch_of_another_size_is_refused_clearly():
    import kport.keras as keras

    model = _build(keras, "GRU")
    with pytest.raises(ValueError, match="fixed batch size of 4.*batch_size=4"):
        model.predict(np.zeros((6, STEPS, FEATURES), "float32"), batch_size=6)


def test_reset_states_with_values_and_on_a_stateless_layer():
    import kport.keras as keras

    model = _build(keras, "LSTM")
    x = _batches(1)[0]
    zeros = [np.zeros((BATCH, UNITS), "float32")] * 2
    first = model.predict_on_batch(x)
    model.layers[0].reset_states(zeros)
    np.testing.assert_allclose(model.predict_on_batch(x), first, rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="2 state"):
        model.layers[0].reset_states(zeros[:1])
    with pytest.raises(AttributeError, match="not stateful"):
        keras.layers.LSTM(2).reset_states()


def test_engine_builds_stateful_layers_without_the_importers_stateless_notice():
    import kport.keras as keras

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _build(keras, "LSTM")


@pytest.mark.slow
@pytest.mark.parametrize("kind,return_sequences", [("SimpleRNN", False), ("LSTM", True), ("GRU", False)])
def test_stateful_batches_match_tf_keras(kind, return_sequences):
    tf_keras = pytest.importorskip("tf_keras")
    import kport.keras as keras

    tf_keras.utils.set_random_seed(3)
    theirs = _build(tf_keras, kind, return_sequences)
    ours = _build(keras, kind, return_sequences)
    ours.set_weights(theirs.get_weights())
    batches = _batches(5, seed=1)
    for i, x in enumerate(batches[:3]):  # states flow from batch to batch
        np.testing.assert_allclose(ours.predict_on_batch(x), theirs.predict_on_batch(x), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{kind}: batch {i}")
    theirs.reset_states()
    ours.reset_states()
    stacked = np.concatenate(batches[3:])
    np.testing.assert_allclose(ours.predict(stacked, batch_size=BATCH), theirs.predict(stacked, batch_size=BATCH),
                               rtol=RTOL, atol=ATOL, err_msg=f"{kind}: predict after reset_states")
    # training carries the states too (plain SGD: the same update in both)
    theirs.compile(optimizer=tf_keras.optimizers.SGD(0.1), loss="mse")
    ours.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    theirs.reset_states()
    ours.reset_states()
    target_shape = (BATCH, STEPS, 2) if return_sequences else (BATCH, 2)
    targets = np.random.default_rng(2).normal(size=(len(batches),) + target_shape).astype("float32")
    for i, (x, y) in enumerate(zip(batches, targets)):
        np.testing.assert_allclose(ours.train_on_batch(x, y), theirs.train_on_batch(x, y), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{kind}: train_on_batch {i}")
    x = batches[0]
    np.testing.assert_allclose(ours.predict_on_batch(x), theirs.predict_on_batch(x), rtol=1e-3, atol=1e-5,
                               err_msg=f"{kind}: after training")


@pytest.mark.slow
def test_stateful_files_round_trip_with_tf_keras(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    import kport.keras as keras

    tf_keras.utils.set_random_seed(4)
    theirs = _build(tf_keras, "LSTM")
    theirs.save(tmp_path / "theirs.h5")
    ours = keras.models.load_model(tmp_path / "theirs.h5", compile=False)
    assert ours.layers[0].stateful
    batches = _batches(2, seed=5)
    for x in batches:
        np.testing.assert_allclose(ours.predict_on_batch(x), theirs.predict_on_batch(x), rtol=RTOL, atol=ATOL)
    ours.save(tmp_path / "ours.h5")
    back = tf_keras.models.load_model(tmp_path / "ours.h5", compile=False)
    assert any(getattr(layer, "stateful", False) for layer in back.layers)
    ours.reset_states()
    for x in batches:
        np.testing.assert_allclose(back.predict_on_batch(x), ours.predict_on_batch(x), rtol=RTOL, atol=ATOL)
