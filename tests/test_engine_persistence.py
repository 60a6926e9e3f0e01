"""kport.keras persistence: save/load_model, save/load_weights, to_json/model_from_json, real Keras interop."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

pytest.importorskip("torch")

from kport.keras.layers import Dense, Dropout, Input  # noqa: E402
from kport.keras.models import Model, Sequential, load_model, model_from_json  # noqa: E402

X = np.random.RandomState(0).rand(9, 4).astype("float32")


def _sequential(seed=0):
    np.random.seed(seed)
    return Sequential([Dense(6, activation="relu", input_shape=(4,), name="d1"), Dropout(0.3, name="drop"),
                       Dense(3, activation="softmax", name="d2")], name="seq")


def _functional(seed=0):
    np.random.seed(seed)
    a, b = Input(shape=(4,), name="a"), Input(shape=(4,), name="b")
    shared = Dense(5, activation="tanh", name="shared")
    merged = Dense(2, name="head")(shared(a))
    return Model([a, b], [merged, shared(b)], name="fn")


def _outputs(predicted) -> list:
    return predicted if isinstance(predicted, list) else [predicted]


def _trained(model):
    model.compile("adam", "mse")
    ys = [np.ones((9,) + tuple(t.shape[1:]), "float32") for t in model.outputs]
    model.fit([X] * len(model.inputs), ys, epochs=2, verbose=0)
    return model


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
@pytest.mark.parametrize("build", [_sequential, _functional])
def test_save_and_load_model_round_trip(tmp_path, suffix, build):
    model = _trained(build())
    path = str(tmp_path / f"m{suffix}")
    model.save(path)
    loaded = load_model(path)
    feeds = [X] * len(model.inputs)
    for a, b in zip(_outputs(model.predict(feeds)), _outputs(loaded.predict(feeds))):
        np.testing.assert_array_equal(a, b)
    assert [layer.name for layer in loaded.layers if layer.weights] == \
        [layer.name for layer in model.layers if layer.weights]


def test_saved_h5_keeps_the_compile_arguments(tmp_path):
    from kport.keras import backend as K
    from kport.keras import optimizers

    model = _sequential()
    model.compile(optimizers.SGD(lr=0.05, momentum=0.8, nesterov=True), "categorical_crossentropy",
                  metrics=["accuracy"])
    path = str(tmp_path / "compiled.h5")
    model.save(path)
    loaded = load_model(path)
    assert isinstance(loaded.optimizer, optimizers.SGD) and loaded.optimizer.nesterov
    assert float(K.get_value(loaded.optimizer.lr)) == pytest.approx(0.05)
    assert loaded.metrics_names == ["loss", "accuracy"]
    y = np.eye(3)[np.arange(9) % 3]
    np.testing.assert_allclose(loaded.evaluate(X, y, verbose=0), model.evaluate(X, y, verbose=0), rtol=1e-6)
    assert load_model(path, compile=False).optimizer is None


def test_save_and_load_weights(tmp_path):
    model = _trained(_sequential())
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    fresh = _sequential(seed=1)
    assert not np.allclose(fresh.predict(X), model.predict(X))
    fresh.load_weights(path)
    np.testing.assert_array_equal(fresh.predict(X), model.predict(X))
    # by name: only the layer that matches takes its weights
    other = Sequential([Dense(6, activation="relu", input_shape=(4,), name="d1"), Dense(2, name="other")])
    other.load_weights(path, by_name=True)
    np.testing.assert_array_equal(other.layers[0].get_weights()[0], model.layers[0].get_weights()[0])
    with pytest.raises(ValueError, match="layers"):
        Sequential([Dense(6, input_shape=(4,))]).load_weights(path)


def test_to_json_and_model_from_json():
    model = _functional()
    text = model.to_json()
    document = json.loads(text)
    assert document["class_name"] == "Functional" and document["keras_version"].startswith("2.")
    rebuilt = model_from_json(text)
    assert rebuilt.count_params() == model.count_params()
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    seq_doc = json.loads(_sequential().to_json())
    assert seq_doc["class_name"] == "Sequential"
    assert [entry["class_name"] for entry in seq_doc["config"]["layers"]][1:] == ["Dense", "Dropout", "Dense"]
    again = model_from_json(_sequential().to_json())
    assert isinstance(again, Sequential) and again.output_shape == (None, 3)


def test_to_ir_is_a_kport_graph_with_the_trained_weights(tmp_path):
    import kport

    model = _trained(_sequential())
    graph = model.to_ir()
    np.testing.assert_array_equal(graph.layers["d1"].weights["kernel"], model.get_layer("d1").get_weights()[0])
    np.testing.assert_allclose(kport.run(graph, [X])[0], model.predict(X), rtol=1e-5, atol=1e-6)


def test_checkpoint_saves_loadable_models(tmp_path):
    from kport.keras.callbacks import ModelCheckpoint

    model = _sequential()
    model.compile("sgd", "categorical_crossentropy")
    path = str(tmp_path / "best.h5")
    y = np.eye(3)[np.arange(9) % 3]
    model.fit(X, y, epochs=3, validation_data=(X, y), callbacks=[ModelCheckpoint(path, save_best_only=True)],
              verbose=0)
    assert os.path.exists(path)
    assert load_model(path).predict(X).shape == (9, 3)


@pytest.mark.slow
def test_real_tf_keras_reads_kport_files_and_kport_reads_tf_keras_files(tmp_path):
    pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")

    model = _trained(_functional())
    path = str(tmp_path / "kport.h5")
    model.save(path)
    theirs = tf_keras.models.load_model(path)  # compiles from kport's training_config
    assert type(theirs.optimizer).__name__ == "Adam"
    for a, b in zip(model.predict([X, X]), theirs.predict([X, X], verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    np.random.seed(0)
    ref = tf_keras.Sequential([tf_keras.layers.Dense(5, activation="relu", input_shape=(4,)),
                               tf_keras.layers.Dense(2, activation="sigmoid")])
    ref.compile(optimizer=tf_keras.optimizers.legacy.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    ref_path = str(tmp_path / "tf.h5")
    ref.save(ref_path)
    ours = load_model(ref_path)
    from kport.keras import backend as K

    assert type(ours.optimizer).__name__ == "Adam"
    assert float(K.get_value(ours.optimizer.lr)) == pytest.approx(0.01)
    assert ours.metrics_names == ["loss", "mae"]
    np.testing.assert_allclose(ours.predict(X), ref.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    weights_path = str(tmp_path / "tf_weights.h5")
    ref.save_weights(weights_path)
    fresh = Sequential([Dense(5, activation="relu", input_shape=(4,)), Dense(2, activation="sigmoid")])
    fresh.load_weights(weights_path)
    np.testing.assert_allclose(fresh.predict(X), ref.predict(X, verbose=0), rtol=1e-5, atol=1e-6)


def test_a_trained_engine_model_converts_to_onnx_with_equal_outputs(tmp_path):
    pytest.importorskip("onnxruntime")
    import kport
    from kport.runtime.onnxruntime_backend import run_onnx_file

    model = _trained(_sequential())
    report = kport.convert(model.to_ir(), str(tmp_path / "m.onnx"), to="onnx")
    assert report.kept
    graph = model.to_ir()
    out = run_onnx_file(report.outputs[0], {graph.inputs[0].name: X}, graph.outputs)
    np.testing.assert_allclose(out[0], model.predict(X), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "Nadam", "Adadelta", "Adamax"])
def test_training_resumes_exactly_from_a_saved_h5(tmp_path, optimizer):
    from kport.keras import optimizers

    np.random.seed(0)
    model = Sequential([Dense(5, activation="tanh", input_dim=4), Dense(2)])
    kwargs = {"momentum": 0.9} if optimizer == "SGD" else {}
    model.compile(getattr(optimizers, optimizer)(**kwargs), "mse")
    y = np.random.rand(9, 2)
    for _ in range(3):
        model.train_on_batch(X, y)
    path = str(tmp_path / "resume.h5")
    model.save(path)
    loaded = load_model(path)
    for _ in range(3):
        model.train_on_batch(X, y)
        loaded.train_on_batch(X, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_load_weights_of_a_keras_nested_model(tmp_path):
    pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")

    def build(lib):
        inner = lib.models.Sequential([lib.layers.Dense(5, activation="relu", input_shape=(4,), name="enc_1"),
                                       lib.layers.Dense(3, name="enc_2")], name="encoder")
        x = lib.layers.Input(shape=(4,), name="x")
        return lib.models.Model(x, lib.layers.Dense(2, name="head")(inner(x)), name="outer")

    import kport.keras as keras

    ref = build(tf_keras)
    path = str(tmp_path / "nested_weights.h5")
    ref.save_weights(path)
    ours = build(keras)
    ours.load_weights(path)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
