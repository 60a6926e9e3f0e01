"""Every layer-fixture case whose op has a torch hook, rebuilt through kport.keras's constructors.

The fixtures (`fixtures/layers/*.npz`, real Keras outputs) carry each case's
Keras `get_config()`: passing it to the generated layer class, setting the
Keras weights and predicting must give what Keras computed. This checks the
constructor-argument normalization and the engine's torch execution for
every layer kind at once; new ops with a torch hook join automatically.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from layer_harness import FIXTURES, assert_close, load_cases  # noqa: E402

import kport.keras as keras  # noqa: E402
from kport.ops.registry import op_for_keras_class  # noqa: E402

# the engine gives configs tf.keras 2 meanings; cases written where a setting meant something else
OTHER_MEANINGS = {
    "keras3": ("hard_sigmoid",),  # Keras 3's hard_sigmoid is relu6(x + 3) / 6
    "keras2": ("bilinear",),  # multi-backend Keras 2 sampled bilinear UpSampling on the legacy grid
}


def _cases():
    out = []
    for path in sorted(FIXTURES.glob("*.npz")):
        with np.load(path) as data:
            if "cases" not in data.files:  # not a layer-case file
                continue
        for case in load_cases(path.stem):
            op_cls = op_for_keras_class(case.class_name)
            if op_cls is None or not hasattr(op_cls, "to_torch") or case.call:
                continue  # masks (call records) are not propagated by the engine yet
            if "lora" in path.stem:
                continue  # LoRA factors are merged into the kernel by the importer, not a constructor argument
            if any(m in str(case.config) for m in OTHER_MEANINGS.get(case.producer, ())):
                continue
            out.append(pytest.param(case, id=f"{path.stem}-{case.index}-{case.producer}"))
    return out


@pytest.mark.parametrize("case", _cases())
def test_layer_case_through_the_keras_constructor(case):
    config = {k: v for k, v in case.config.items() if k not in ("name", "batch_input_shape", "batch_shape")}
    layer = getattr(keras.layers, case.class_name)(**config)
    inputs = [keras.Input(batch_shape=(None,) + x.shape[1:], dtype=str(x.dtype)) for x in case.inputs]
    out = layer(inputs if len(inputs) > 1 else inputs[0])
    model = keras.models.Model(inputs, out)
    if case.weights:
        layer.set_weights(case.weights)
    predicted = model.predict(case.inputs if len(case.inputs) > 1 else case.inputs[0])
    predicted = predicted if isinstance(predicted, list) else [predicted]
    for j, (a, b) in enumerate(zip(predicted, case.outputs)):
        assert_close(a, b, f"{case.class_name} case {case.index} output {j}")


def _first_case_per_kind():
    seen, out = set(), []
    for param in _cases():
        case = param.values[0]
        if case.class_name not in seen and all(np.issubdtype(o.dtype, np.floating) for o in case.outputs) \
                and all(np.issubdtype(x.dtype, np.floating) for x in case.inputs):
            seen.add(case.class_name)
            out.append(pytest.param(case, id=case.class_name))
    return out


@pytest.mark.parametrize("case", _first_case_per_kind())
def test_layer_kind_trains(case):
    """One SGD step through each layer kind: finite loss, and trainable weights move."""
    config = {k: v for k, v in case.config.items() if k not in ("name", "batch_input_shape", "batch_shape")}
    layer = getattr(keras.layers, case.class_name)(**config)
    inputs = [keras.Input(batch_shape=(None,) + x.shape[1:]) for x in case.inputs]
    model = keras.models.Model(inputs, layer(inputs if len(inputs) > 1 else inputs[0]))
    if case.weights:
        layer.set_weights(case.weights)
    model.compile(keras.optimizers.SGD(lr=0.01), "mse")
    before = layer.get_weights()
    targets = [o + 1.0 for o in case.outputs]
    loss = model.train_on_batch(case.inputs if len(case.inputs) > 1 else case.inputs[0],
                                targets if len(targets) > 1 else targets[0])
    loss = loss if np.isscalar(loss) else loss[0]
    assert np.isfinite(loss)
    # trainable weights move; non-trainable ones may too (BatchNormalization's moving statistics)
    for ref, a, b in zip(layer.weights, before, layer.get_weights()):
        if ref.trainable:
            assert not np.array_equal(a, b), f"{case.class_name}: {ref.name} did not move"
