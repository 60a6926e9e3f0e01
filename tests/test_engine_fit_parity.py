"""Whole `fit` calls against real Keras 2 (tf_keras + optimizer_v1) histories and final weights.

Traces from `fixtures/engine/make_optimizer_traces.py` (FIT_CASES): several
epochs with a partial last batch, no shuffling, sample or class weights and
validation data. Matching them pins batching, tf.keras's weighted loss
reduction and the per-epoch averages of loss and accuracy.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

pytest.importorskip("torch")

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "engine")
with open(os.path.join(HERE, "fit_traces.json")) as _f:
    MANIFEST = json.load(_f)
TRACES = np.load(os.path.join(HERE, "fit_traces.npz"))


@pytest.mark.parametrize("case", sorted(MANIFEST["cases"]))
def test_fit_matches_keras2(case):
    import kport.keras as keras

    spec = MANIFEST["cases"][case]
    n = MANIFEST["samples"]
    x, y, sw = TRACES[f"{case}/x"], TRACES[f"{case}/y"], TRACES[f"{case}/sample_weight"]
    init = [TRACES[f"{case}/init_{i}"] for i in range(4)]
    model = keras.models.Sequential([
        keras.layers.Dense(init[0].shape[1], activation="tanh", input_shape=(init[0].shape[0],)),
        keras.layers.Dense(init[2].shape[1], activation="softmax")])
    model.set_weights(init)
    model.compile(optimizer=keras.optimizers.SGD(lr=0.1, momentum=0.9), loss=spec["loss"], metrics=["accuracy"])
    extra = {"sample_weight": sw} if spec["weights"] == "sample" else (
        {"class_weight": {int(k): v for k, v in MANIFEST["class_weight"].items()}} if spec["weights"] == "class"
        else {})
    if spec.get("shuffle"):
        np.random.seed(spec["seed"])  # the same batch order as Keras, which shuffles with numpy's global RNG
    history = model.fit(x[:n], y[:n], epochs=spec["epochs"], batch_size=spec["batch_size"],
                        shuffle=spec.get("shuffle", False), verbose=0, validation_data=(x[n:], y[n:]), **extra)
    assert set(history.history) == set(spec["history"])
    for key, expected in spec["history"].items():
        np.testing.assert_allclose(history.history[key], expected, rtol=1e-4, atol=1e-6, err_msg=f"{case}: {key}")
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, TRACES[f"{case}/final_{i}"], rtol=1e-4, atol=2e-6, err_msg=f"{case}: weight {i}")
