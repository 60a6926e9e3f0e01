"""kport.keras.applications: Keras's architectures, names and weight order.

Fast part: layer names, layer/parameter/weight counts and output shapes equal real
Keras's, as recorded by `fixtures/engine/applications/make_application_counts.py`.
Slow part (TensorFlow): weights saved by tf_keras load into kport's model by
`weights=path` and predictions agree; kport's `save_weights` file loads back into tf_keras.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from kport.keras import applications, backend as K

COUNTS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "engine", "applications",
                      "application_counts.json")
with open(COUNTS) as _f:
    CASES = json.load(_f)["cases"]


def _case_id(case: dict) -> str:
    return case["arch"] + "-" + "-".join(f"{k}={v}" for k, v in sorted(case["kwargs"].items()))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_architecture_matches_recorded_keras(case):
    K.clear_session()
    model = getattr(applications, case["arch"])(weights=None, **case["kwargs"])
    assert model.name == case["name"]
    assert [layer.name for layer in model.layers] == case["layer_names"]
    assert model.count_params() == case["params"]
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == case["trainable_params"]
    assert len(model.weights) == case["weight_count"]
    assert list(model.output_shape) == case["output_shape"]


@pytest.mark.parametrize("weights", ["imagenet", "/no/such/weights.h5", 3])
def test_weights_other_than_none_or_a_local_file_are_refused(weights):
    with pytest.raises(ValueError, match="weights"):
        applications.VGG16(weights=weights, input_shape=(32, 32, 3))


@pytest.mark.parametrize("kwargs, message", [
    ({"input_shape": (16, 16, 3)}, "at least 32x32"),
    ({"include_top": True, "input_shape": (None, None, 3)}, "fully known"),
    ({"include_top": False, "pooling": "mean"}, "pooling"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        applications.ResNet50(weights=None, **kwargs)


# Slow: real Keras weights files. One small configuration per architecture (its minimum input where large).
PARITY = [
    ("ResNet50", {"input_shape": (32, 32, 3), "classes": 10}),
    ("VGG16", {"input_shape": (32, 32, 3), "classes": 10}),
    ("VGG19", {"include_top": False, "pooling": "max", "input_shape": (32, 32, 3)}),
    ("MobileNet", {"input_shape": (64, 64, 3), "classes": 10}),
    ("MobileNetV2", {"input_shape": (65, 65, 3), "classes": 10}),
    ("InceptionV3", {"input_shape": (75, 75, 3), "classes": 10}),
    ("Xception", {"input_shape": (71, 71, 3), "classes": 10}),
]


def _randomize_batch_norm_statistics(tf_model, rng) -> None:
    """Fresh models have mean 0 / variance 1: move them so the loaded statistics matter."""
    for layer in tf_model.layers:
        if type(layer).__name__ == "BatchNormalization":
            values = []
            for w in layer.weights:
                arr = w.numpy()
                if "moving_variance" in w.name:
                    arr = rng.uniform(0.5, 1.5, arr.shape)
                elif "moving_mean" in w.name or "beta" in w.name:
                    arr = rng.normal(0, 0.1, arr.shape)
                elif "gamma" in w.name:
                    arr = rng.uniform(0.8, 1.2, arr.shape)
                values.append(arr.astype("float32"))
            layer.set_weights(values)


@pytest.mark.slow
@pytest.mark.parametrize("arch, kwargs", PARITY, ids=[a for a, _ in PARITY])
def test_keras_weights_file_loads_and_predicts_the_same(arch, kwargs, tmp_path):
    pytest.importorskip("torch")
    tf_keras = pytest.importorskip("tf_keras")
    rng = np.random.default_rng(0)
    tf_keras.backend.clear_session()
    tf_keras.utils.set_random_seed(0)
    # logits: a softmax over random weights would hide differences in saturated outputs
    reference = getattr(tf_keras.applications, arch)(weights=None, classifier_activation=None, **kwargs)
    _randomize_batch_norm_statistics(reference, rng)
    path = str(tmp_path / f"{arch}.h5")
    reference.save_weights(path)
    K.clear_session()
    model = getattr(applications, arch)(weights=path, classifier_activation=None, **kwargs)
    assert [layer.name for layer in model.layers] == [layer.name for layer in reference.layers]
    assert model.count_params() == reference.count_params()
    x = rng.uniform(-1, 1, (2, *kwargs["input_shape"])).astype("float32")
    expected = reference.predict(x, verbose=0)
    got = model.predict(x, verbose=0)
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(got, expected, atol=1e-4 * max(scale, 1.0), rtol=1e-3)

    # and back: kport's weights file loads by position into a fresh tf_keras model
    back = str(tmp_path / f"{arch}_kport.h5")
    model.save_weights(back)
    tf_keras.backend.clear_session()
    again = getattr(tf_keras.applications, arch)(weights=back, classifier_activation=None, **kwargs)
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, atol=1e-6 * max(scale, 1.0), rtol=1e-5)


def test_reachable_as_keras_applications_and_built_on_an_input_tensor():
    import kport.keras as keras

    K.clear_session()
    image = keras.Input(shape=(40, 48, 3), name="image")
    model = keras.applications.MobileNetV2(include_top=False, pooling="max", input_tensor=image, alpha=0.35)
    assert model.inputs[0] is image and model.layers[0].name == "image"
    assert model.output_shape == (None, 1280)
    assert model.predict(np.zeros((1, 40, 48, 3), "float32"), verbose=0).shape == (1, 1280)
