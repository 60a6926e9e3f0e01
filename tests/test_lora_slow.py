"""Keras 3 LoRA layers: .keras files hold merged weights, legacy .h5 files the factors; both load exactly."""
import numpy as np
import pytest


def _lora_model(keras, kind):
    if kind == "dense":
        inputs = keras.Input((6,))
        layer = keras.layers.Dense(5, lora_rank=2, lora_alpha=3)
        x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    else:
        inputs = keras.Input((4,), dtype="int32")
        layer = keras.layers.Embedding(9, 5, lora_rank=2, lora_alpha=3)
        x = np.random.default_rng(1).integers(0, 9, (3, 4)).astype(np.int32)
    model = keras.Model(inputs, layer(inputs))
    rng = np.random.default_rng(0)
    for var in layer.weights:
        if "lora" in var.path:
            var.assign(rng.standard_normal(var.shape).astype(np.float32))
    return model, x


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["dense", "embedding"])
@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_lora_layers_load_merged(kind, ext, tmp_path):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    import kport

    model, x = _lora_model(keras, kind)
    path = tmp_path / f"lora.{ext}"
    model.save(path)
    got = kport.run(kport.load(str(path)), [x])[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5, rtol=1e-4)
