"""kport.keras optimizers against real Keras 2 training traces.

The traces come from `fixtures/engine/make_optimizer_traces.py`: the same
model, initial weights and batches trained with tf_keras's optimizer_v1 (the
Keras 2.2 formulas). Here kport.keras trains the same steps on PyTorch and
must match every step's loss and weights.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

pytest.importorskip("torch")

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "engine")
with open(os.path.join(HERE, "optimizer_traces.json")) as _f:
    MANIFEST = json.load(_f)
TRACES = np.load(os.path.join(HERE, "optimizer_traces.npz"))

# float32 updates in a different order of operations: a few ulps per step
ATOL, RTOL = 2e-6, 1e-4


def _model(case: str):
    import kport.keras as keras

    spec = MANIFEST["cases"][case]
    init = [TRACES[f"{case}/init_{i}"] for i in range(4)]
    model = keras.models.Sequential([
        keras.layers.Dense(init[0].shape[1], activation="tanh", input_shape=(init[0].shape[0],)),
        keras.layers.Dense(init[2].shape[1], activation="softmax"),
    ])
    model.set_weights(init)
    optimizer = getattr(keras.optimizers, spec["optimizer"])(**spec["kwargs"])
    model.compile(optimizer=optimizer, loss=spec["loss"])
    return model


@pytest.mark.parametrize("case", sorted(MANIFEST["cases"]))
def test_optimizer_matches_keras2_trace(case):
    model = _model(case)
    xs, ys = TRACES[f"{case}/x"], TRACES[f"{case}/y"]
    expected_losses = TRACES[f"{case}/losses"]
    for step in range(MANIFEST["steps"]):
        loss = model.train_on_batch(xs[step], ys[step])
        np.testing.assert_allclose(loss, expected_losses[step], rtol=RTOL, atol=ATOL,
                                   err_msg=f"{case}: loss of step {step}")
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(w, TRACES[f"{case}/trace_{i}"][step], rtol=RTOL, atol=ATOL,
                                       err_msg=f"{case}: weight {i} after step {step}")


def test_traces_are_not_trivial():
    # every case's weights move, so a no-op optimizer could not pass the parity test
    for case in MANIFEST["cases"]:
        first = TRACES[f"{case}/trace_0"][0]
        assert not np.allclose(first, TRACES[f"{case}/init_0"], atol=1e-6), case


def test_lr_and_learning_rate_are_the_same_knob():
    from kport.keras import backend as K
    from kport.keras import optimizers

    assert float(K.get_value(optimizers.SGD(lr=0.3).lr)) == pytest.approx(0.3)
    opt = optimizers.Adam(learning_rate=0.02)
    assert float(K.get_value(opt.learning_rate)) == pytest.approx(0.02)
    K.set_value(opt.lr, 0.5)
    assert float(K.get_value(opt.learning_rate)) == pytest.approx(0.5)
    with pytest.raises(TypeError):
        optimizers.SGD(lrate=0.1)


@pytest.mark.parametrize("epsilon", [1e-7, 1e-3, 0.0])
def test_fast_sqrt_plus_epsilon_equals_the_plain_formula_exactly(epsilon):
    import torch

    from kport.keras.optimizers import _sqrt_plus

    values = torch.tensor([0.0, 1e-40, 1e-38, 1e-30, 1e-14, 1e-7, 0.5, 3.0e5], dtype=torch.float32)
    fast = _sqrt_plus([values], epsilon)[0]
    assert torch.equal(fast, values.sqrt() + epsilon)


def test_updates_flush_denormals_and_restore_the_callers_mode():
    import torch

    import kport.keras as keras

    def flushing():
        return (torch.tensor([1e-30]) * 1e-10).item() == 0.0

    assert not flushing()
    p = torch.nn.Parameter(torch.ones(4))
    optimizer = keras.optimizers.SGD(0.0, momentum=1e-10)
    optimizer._slots[id(p)] = {"moment": torch.full_like(p, 1e-30)}
    optimizer.apply_gradients([p], [torch.zeros_like(p)])
    assert torch.count_nonzero(optimizer._slots[id(p)]["moment"]) == 0  # 1e-40 flushed to zero, as TF does
    assert not flushing()  # the caller's mode is back
