"""Custom layers and Lambdas in model files: kport.keras writes what tf.keras writes and reads both.

The slow tests use real tf_keras as the oracle in both directions: tf_keras loads the kport-saved
`.h5` (custom_objects, safe_mode=False for the Lambda bytecode) with equal predictions, and
kport.keras loads the tf_keras-saved file with its own classes.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

ATOL, RTOL = 1e-5, 1e-4


def _scale_class(keras):
    """The same custom layer written against a Keras API: a per-feature weight times a config factor."""

    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")
            super().build(input_shape)

        def call(self, inputs):
            return inputs * self.w * self.factor

        def get_config(self):
            config = super().get_config()
            config["factor"] = self.factor
            return config

    return Scale


def _functional(keras, scale_cls):
    inp = keras.Input(shape=(4,), name="x")
    h = keras.layers.Dense(3, activation="tanh", name="dense")(inp)
    h = scale_cls(1.5, name="scale")(h)
    out = keras.layers.Lambda(lambda t: t * 2.0 + 1.0, name="affine")(h)
    return keras.Model(inp, out)


def _sequential(keras, scale_cls):
    return keras.models.Sequential([keras.layers.Dense(3, input_shape=(4,), name="dense"),
                                    scale_cls(0.5, name="scale"),
                                    keras.layers.Lambda(lambda t: t - 1.0, name="shift")])


def _x():
    return np.random.default_rng(0).normal(size=(6, 4)).astype("float32")


def _with_trained_scale(model):
    model.get_layer("scale").set_weights([np.array([1.0, -2.0, 3.0], "float32")])
    return model


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
@pytest.mark.parametrize("build", [_functional, _sequential])
def test_kport_round_trip_of_custom_layers_and_lambdas(build, suffix, tmp_path):
    import kport.keras as keras

    scale = _scale_class(keras)
    model = _with_trained_scale(build(keras, scale))
    model.save(tmp_path / f"m{suffix}")
    back = keras.models.load_model(tmp_path / f"m{suffix}", custom_objects={"Scale": scale}, safe_mode=False)
    np.testing.assert_allclose(back.predict(_x()), model.predict(_x()), rtol=RTOL, atol=ATOL)
    assert back.get_layer("scale").factor == model.get_layer("scale").factor


def test_the_file_spells_the_custom_class_and_the_lambda_bytecode_as_tf_keras(tmp_path):
    import h5py

    import kport.keras as keras

    _functional(keras, _scale_class(keras)).save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        config = json.loads(f.attrs["model_config"])
        weight_names = list(f["model_weights/scale"].attrs["weight_names"])
    layers = {entry["name"]: entry for entry in config["config"]["layers"]}
    assert layers["scale"]["class_name"] == "Scale" and layers["scale"]["config"]["factor"] == 1.5
    lam = layers["affine"]["config"]
    assert lam["function_type"] == "lambda" and isinstance(lam["function"][0], str)
    assert weight_names == [b"scale/w:0"]


def test_loading_refuses_unknown_classes_and_lambda_bytecode_clearly(tmp_path):
    import kport.keras as keras

    scale = _scale_class(keras)
    _functional(keras, scale).save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"Unknown layer: 'Scale'.*custom_objects"):
        keras.models.load_model(tmp_path / "m.h5", safe_mode=False)
    with pytest.raises(ValueError, match="bytecode.*safe_mode=False"):
        keras.models.load_model(tmp_path / "m.h5", custom_objects={"Scale": scale})
    with keras.utils.custom_object_scope({"Scale": scale}):
        keras.models.load_model(tmp_path / "m.h5", safe_mode=False)


def test_to_ir_still_refuses_custom_layers():
    import kport.keras as keras
    from kport.errors import ExportError

    with pytest.raises(ExportError, match="custom layer"):
        _functional(keras, _scale_class(keras)).to_ir()


def test_json_round_trip_with_custom_objects():
    import kport.keras as keras

    scale = _scale_class(keras)
    model = _sequential(keras, scale)
    again = keras.models.model_from_json(model.to_json(), custom_objects={"Scale": scale}, safe_mode=False)
    assert [type(layer).__name__ for layer in again.layers] == ["Dense", "Scale", "Lambda"]


@pytest.mark.slow
@pytest.mark.parametrize("build", [_functional, _sequential])
def test_tf_keras_loads_kport_saved_custom_layers_and_lambdas(build, tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    import kport.keras as keras

    model = _with_trained_scale(build(keras, _scale_class(keras)))
    model.save(tmp_path / "kport.h5")
    theirs = tf_keras.models.load_model(tmp_path / "kport.h5", custom_objects={"Scale": _scale_class(tf_keras)},
                                        safe_mode=False, compile=False)
    np.testing.assert_allclose(theirs.predict(_x(), verbose=0), model.predict(_x()), rtol=RTOL, atol=ATOL)


@pytest.mark.slow
@pytest.mark.parametrize("build", [_functional, _sequential])
def test_kport_loads_tf_keras_saved_custom_layers_and_lambdas(build, tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    import kport.keras as keras

    theirs = _with_trained_scale(build(tf_keras, _scale_class(tf_keras)))
    theirs.save(tmp_path / "tf.h5")
    ours = keras.models.load_model(tmp_path / "tf.h5", custom_objects={"Scale": _scale_class(keras)},
                                   safe_mode=False)
    np.testing.assert_allclose(ours.predict(_x()), theirs.predict(_x(), verbose=0), rtol=RTOL, atol=ATOL)


def _nested(keras, scale_cls):
    inner = keras.models.Sequential([keras.layers.Dense(3, input_shape=(4,), name="inner_dense"),
                                     keras.layers.BatchNormalization(name="inner_bn"),
                                     scale_cls(2.0, name="scale")], name="inner")
    inp = keras.Input(shape=(4,), name="x")
    out = keras.layers.Dense(2, name="head")(inner(inp))
    return keras.Model(inp, out)


def _with_trained_nested(model):
    bn = model.get_layer("inner").get_layer("inner_bn")
    bn.set_weights([np.full(3, 1.5, "float32"), np.full(3, 0.1, "float32"), np.array([0.2, -0.3, 0.4], "float32"),
                    np.array([1.5, 2.0, 0.5], "float32")])
    model.get_layer("inner").get_layer("scale").set_weights([np.array([1.0, -2.0, 3.0], "float32")])
    return model


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_nested_models_with_custom_layers_round_trip(suffix, tmp_path):
    import kport.keras as keras

    scale = _scale_class(keras)
    model = _with_trained_nested(_nested(keras, scale))
    model.save(tmp_path / f"m{suffix}")
    back = keras.models.load_model(tmp_path / f"m{suffix}", custom_objects={"Scale": scale})
    np.testing.assert_allclose(back.predict(_x()), model.predict(_x()), rtol=RTOL, atol=ATOL)


@pytest.mark.slow
def test_kport_loads_a_tf_keras_nested_model_with_custom_layers(tmp_path):
    tf_keras = pytest.importorskip("tf_keras")
    import kport.keras as keras

    theirs = _with_trained_nested(_nested(tf_keras, _scale_class(tf_keras)))
    theirs.save(tmp_path / "tf.h5")
    ours = keras.models.load_model(tmp_path / "tf.h5", custom_objects={"Scale": _scale_class(keras)})
    np.testing.assert_allclose(ours.predict(_x()), theirs.predict(_x(), verbose=0), rtol=RTOL, atol=ATOL)
    ours.save(tmp_path / "kport.h5")
    again = tf_keras.models.load_model(tmp_path / "kport.h5", custom_objects={"Scale": _scale_class(tf_keras)},
                                       compile=False)
    np.testing.assert_allclose(again.predict(_x(), verbose=0), ours.predict(_x()), rtol=RTOL, atol=ATOL)


def test_training_resumes_exactly_from_a_file_with_custom_layers(tmp_path):
    import kport.keras as keras

    scale = _scale_class(keras)
    model = _functional(keras, scale)
    model.compile(optimizer="adam", loss="mse")
    x, y = _x(), np.zeros((6, 3), "float32")
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.h5")
    back = keras.models.load_model(tmp_path / "m.h5", custom_objects={"Scale": scale}, safe_mode=False)
    assert back.optimizer.iterations == model.optimizer.iterations
    np.testing.assert_allclose(back.train_on_batch(x, y), model.train_on_batch(x, y), rtol=1e-6)
    np.testing.assert_allclose(back.predict(x), model.predict(x), rtol=1e-6, atol=1e-7)


def test_a_custom_class_without_custom_objects_asks_for_them(tmp_path):
    import kport.keras as keras

    model = keras.models.Sequential([keras.layers.Dense(3, input_shape=(4,)), _scale_class(keras)(name="scale")])
    model.save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"Scale.*custom_objects"):
        keras.models.load_model(tmp_path / "m.h5")


# ---- Keras 3 `.keras` files ----------------------------------------------------------------------
def test_keras3_file_spells_custom_classes_and_lambdas_as_keras3(tmp_path):
    import zipfile

    import kport.keras as keras

    _functional(keras, _scale_class(keras)).save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        config = json.loads(z.read("config.json"))
    layers = {entry["name"]: entry for entry in config["config"]["layers"]}
    assert layers["scale"]["registered_name"] == "Scale" and layers["scale"]["module"] == __name__
    assert layers["scale"]["config"]["factor"] == 1.5
    function = layers["affine"]["config"]["function"]
    assert function["class_name"] == "__lambda__" and isinstance(function["config"]["code"], str)
    assert layers["affine"]["module"] == "keras.layers" and "function_type" not in layers["affine"]["config"]


def test_keras3_file_loading_refuses_lambda_bytecode_and_unknown_classes(tmp_path):
    import kport.keras as keras

    scale = _scale_class(keras)
    _functional(keras, scale).save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="bytecode.*safe_mode=False"):
        keras.models.load_model(tmp_path / "m.keras", custom_objects={"Scale": scale})
    with pytest.raises(ValueError, match=r"Scale.*custom_objects"):
        keras.models.load_model(tmp_path / "m.keras", safe_mode=False)


@pytest.mark.slow
@pytest.mark.parametrize("build", [_functional, _sequential])
def test_keras3_loads_kport_saved_custom_layers_and_lambdas(build, tmp_path):
    keras3 = pytest.importorskip("keras")
    import kport.keras as keras

    model = _with_trained_scale(build(keras, _scale_class(keras)))
    model.save(tmp_path / "kport.keras")
    theirs = keras3.models.load_model(tmp_path / "kport.keras", custom_objects={"Scale": _scale_class(keras3)},
                                      safe_mode=False, compile=False)
    np.testing.assert_allclose(theirs.predict(_x(), verbose=0), model.predict(_x()), rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="safe_mode"):  # Keras 3's own rule for the Lambda
        keras3.models.load_model(tmp_path / "kport.keras", custom_objects={"Scale": _scale_class(keras3)})


@pytest.mark.slow
@pytest.mark.parametrize("build", [_functional, _sequential])
def test_kport_loads_keras3_saved_custom_layers_and_lambdas(build, tmp_path):
    keras3 = pytest.importorskip("keras")
    import kport.keras as keras

    theirs = _with_trained_scale(build(keras3, _scale_class(keras3)))
    theirs.save(tmp_path / "k3.keras")
    ours = keras.models.load_model(tmp_path / "k3.keras", custom_objects={"Scale": _scale_class(keras)},
                                   safe_mode=False)
    np.testing.assert_allclose(ours.predict(_x()), theirs.predict(_x(), verbose=0), rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="bytecode.*safe_mode=False"):
        keras.models.load_model(tmp_path / "k3.keras", custom_objects={"Scale": _scale_class(keras)})


def _double(t):
    return t * 2.0


def _named_lambdas(keras):
    inp = keras.Input(shape=(4,), name="x")
    h = keras.layers.Lambda(_double, output_shape=(4,), name="dbl")(inp)
    out = keras.layers.Lambda(lambda t: t - 0.5, output_shape=lambda s: s, name="shift")(h)
    return keras.Model(inp, out)


@pytest.mark.slow
def test_named_functions_in_lambdas_cross_keras3_files_by_name(tmp_path):
    keras3 = pytest.importorskip("keras")
    import kport.keras as keras

    ours = _named_lambdas(keras)
    ours.save(tmp_path / "kport.keras")
    theirs = keras3.models.load_model(tmp_path / "kport.keras", custom_objects={"_double": _double},
                                      safe_mode=False, compile=False)
    np.testing.assert_allclose(theirs.predict(_x(), verbose=0), ours.predict(_x()), rtol=RTOL, atol=ATOL)
    _named_lambdas(keras3).save(tmp_path / "k3.keras")
    with pytest.raises(ValueError, match="_double.*custom_objects"):
        keras.models.load_model(tmp_path / "k3.keras", safe_mode=False)
    back = keras.models.load_model(tmp_path / "k3.keras", custom_objects={"_double": _double}, safe_mode=False)
    np.testing.assert_allclose(back.predict(_x()), ours.predict(_x()), rtol=RTOL, atol=ATOL)


@pytest.mark.slow
def test_a_keras3_nested_model_with_custom_layers_is_refused_clearly(tmp_path):
    keras3 = pytest.importorskip("keras")
    import kport.keras as keras

    _nested(keras3, _scale_class(keras3)).save(tmp_path / "k3.keras")
    with pytest.raises(ValueError, match=r"nested models.*\.h5"):
        keras.models.load_model(tmp_path / "k3.keras", custom_objects={"Scale": _scale_class(keras)})
