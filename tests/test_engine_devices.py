"""kport.keras devices: CPU by choice, CUDA when present, data-parallel over several GPUs.

The CPU tests run everywhere; the CUDA ones skip without a GPU (say so) and run on a GPU machine.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

CUDA = torch.cuda.is_available()
GPUS = torch.cuda.device_count() if CUDA else 0
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (run on a GPU machine)")
needs_two_gpus = pytest.mark.skipif(GPUS < 2, reason="needs 2 CUDA GPUs for data-parallel training")


@pytest.fixture(autouse=True)
def _engine_default_device():
    import kport.keras as keras

    yield
    keras.backend.set_device(None)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 8, 8, 2)).astype("float32"), rng.integers(0, 3, n)


def _model(seed=1):
    import kport.keras as keras

    keras.utils.set_random_seed(seed)
    model = keras.models.Sequential([
        keras.layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 2)),
        keras.layers.BatchNormalization(),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.0),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _train(model, x, y):
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return history, model.predict(x, batch_size=16)


def test_default_device_is_cuda_when_available_else_cpu():
    import kport.keras as keras

    assert keras.backend.get_device().type == ("cuda" if CUDA else "cpu")


def test_explicit_cpu_device_trains_like_the_default_and_returns_numpy():
    import kport.keras as keras

    x, y = _data()
    keras.backend.set_device("cpu")
    cpu_history, cpu_pred = _train(_model(), x, y)
    assert isinstance(cpu_pred, np.ndarray)
    assert all(isinstance(v, float) for values in cpu_history.history.values() for v in values)
    pinned = _model().to("cpu")
    pinned_history, pinned_pred = _train(pinned, x, y)
    assert all(p.device.type == "cpu" for p in pinned.torch_parameters())
    np.testing.assert_allclose(pinned_pred, cpu_pred, rtol=1e-5, atol=1e-6)
    assert pinned_history.history["loss"] == pytest.approx(cpu_history.history["loss"], rel=1e-5)


def test_moving_a_trained_model_keeps_weights_and_optimizer_state():
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    before = model.get_weights()
    slots = {id(p): dict(s) for p, s in zip(model.torch_parameters(), [model.optimizer._slots[id(p)]
                                                                       for p in model.torch_parameters()])}
    params = model.torch_parameters()
    model.to("cpu")
    assert model.torch_parameters() == params  # the same Parameter objects: optimizer slots still match
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert all(id(p) in slots for p in model.torch_parameters())


@pytest.mark.parametrize("name", ["meta", "not-a-device"])
def test_unsupported_device_names_are_refused_clearly(name):
    import kport.keras as keras

    with pytest.raises(ValueError, match="device|cpu"):
        keras.backend.set_device(name)
    with pytest.raises(ValueError, match="device|cpu"):
        _model().to(name)


@pytest.mark.skipif(CUDA, reason="checks the refusal on a machine without a GPU")
def test_asking_for_cuda_without_a_gpu_says_so():
    import kport.keras as keras

    with pytest.raises(ValueError, match="0 CUDA GPU"):
        keras.backend.set_device("cuda")
    with pytest.raises(ValueError, match="0 CUDA GPU"):
        _model().to("cuda")


@pytest.mark.parametrize("gpus", [2, 4, [0, 1]])
def test_multi_gpu_model_refuses_more_gpus_than_present(gpus):
    import kport.keras as keras

    if GPUS >= 4:
        pytest.skip("this machine has enough GPUs")
    with pytest.raises(ValueError, match="multi_gpu_model.*(needs|GPUs)"):
        keras.utils.multi_gpu_model(_model(), gpus=gpus)


def test_multi_gpu_model_needs_at_least_two_gpus():
    import kport.keras as keras

    with pytest.raises(ValueError, match="at least 2 GPUs"):
        keras.utils.multi_gpu_model(_model(), gpus=1)


@needs_cuda
def test_cuda_training_matches_cpu_training():
    import kport.keras as keras

    x, y = _data()
    keras.backend.set_device("cpu")
    cpu_history, cpu_pred = _train(_model(), x, y)
    keras.backend.set_device("cuda")
    model = _model()
    cuda_history, cuda_pred = _train(model, x, y)
    assert all(p.device.type == "cuda" for p in model.torch_parameters())
    assert isinstance(cuda_pred, np.ndarray)
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    np.testing.assert_allclose(cuda_pred, cpu_pred, rtol=1e-4, atol=1e-5)
    assert cuda_history.history["loss"] == pytest.approx(cpu_history.history["loss"], rel=1e-4)


@needs_cuda
def test_models_saved_on_cuda_load_on_cpu_and_back(tmp_path):
    import kport.keras as keras

    x, y = _data()
    model = _model().to("cuda")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    expected = model.predict(x)
    model.save(tmp_path / "m.h5")
    keras.backend.set_device("cpu")
    on_cpu = keras.models.load_model(tmp_path / "m.h5")
    np.testing.assert_allclose(on_cpu.predict(x), expected, rtol=1e-4, atol=1e-5)
    on_cpu.to("cuda")
    on_cpu.fit(x, y, batch_size=16, epochs=1, verbose=0)  # optimizer state restored, then moved


@needs_two_gpus
def test_multi_gpu_model_trains_the_shared_template():
    import kport.keras as keras

    x, y = _data(128)
    template = _model()
    parallel = keras.utils.multi_gpu_model(template, gpus=2)
    parallel.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    single = _model().to("cuda:0")
    single.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    a = parallel.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history["loss"]
    b = single.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history["loss"]
    # batch statistics come from each GPU's half batch, so losses agree loosely
    assert a == pytest.approx(b, rel=5e-2)
    np.testing.assert_allclose(template.predict(x), parallel.predict(x), rtol=1e-4, atol=1e-5)


def test_fit_reads_batch_metrics_only_for_callbacks_that_use_them():
    import kport.keras as keras

    x, y = _data()
    model = _model()
    reads = []
    original = model._logs
    model._logs = lambda: reads.append(1) or original()  # noqa: E731 - counts metric reads (device syncs)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert len(reads) == 1  # the epoch's logs only
    seen = []
    model.fit(x, y, batch_size=16, epochs=1, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_batch_end=lambda b, logs: seen.append(logs["loss"]))])
    assert len(seen) == 4 and all(isinstance(v, float) for v in seen)


def test_multi_gpu_model_names_what_it_cannot_replicate():
    import kport.keras as keras

    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.w

    inp = keras.Input(shape=(3,))
    with pytest.raises(ValueError, match=r"custom layers with their own weights \(\['scale'\]\)"):
        keras.utils.multi_gpu_model(keras.Model(inp, Scale(name="scale")(inp)), gpus=2)
    stateful = keras.models.Sequential([keras.layers.LSTM(2, stateful=True, batch_input_shape=(2, 3, 1),
                                                          name="lstm")])
    with pytest.raises(ValueError, match=r"stateful layers \['lstm'\]"):
        keras.utils.multi_gpu_model(stateful, gpus=2)


def test_replica_modules_are_used_inside_a_data_parallel_forward():
    # DataParallel needs GPUs to replicate; here the routing is checked with hand-made replicas
    import copy

    from kport.keras.engine import data_parallel

    model = _model()
    x, _ = _data(8)
    expected = model.predict(x)
    graph_module = data_parallel._graph_module(model)
    for i, part in enumerate(graph_module.parts):
        replica = copy.deepcopy(part)
        for p in replica.parameters():
            p.data.zero_()
        graph_module.parts[i] = replica
    with torch.no_grad():
        out = graph_module(torch.from_numpy(x), training=False)[0]
    np.testing.assert_allclose(out.numpy(), np.full((8, 3), 1.0 / 3.0, "float32"), atol=1e-6)  # zero weights
    np.testing.assert_allclose(model.predict(x), expected)  # outside the forward, the model's own modules
