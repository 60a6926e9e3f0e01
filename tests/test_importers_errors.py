"""Bad input: every failure is a KportError naming the file, the layer and what to do."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import kport
from importer_files import copy_h5, file_of, read_json_attr, rewrite_keras_zip, set_json_attr
from kport.errors import FormatError, KportError, UnsafeContentError, UnsupportedLayerError, WeightError


def raises(kind, path, *words, **load):
    """Loads `path`, expecting `kind`; checks the message names the file, the words and a hint."""
    with pytest.raises(kind) as info:
        kport.load(str(path), **load)
    err = info.value
    assert isinstance(err, KportError)
    assert str(path) in str(err)
    for word in words:
        assert word in str(err), (word, str(err))
    assert err.hint, f"no hint in: {err}"
    return err


# ---- unknown layers -------------------------------------------------------------------
def test_unknown_layer_class_in_json(tmp_path):
    cfg = json.loads(Path(file_of("mlp_dense", "keras3", "json")).read_text())
    cfg["config"]["layers"][2]["class_name"] = "FancyDense"
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(cfg))
    err = raises(UnsupportedLayerError, path, "FancyDense", "'probs'")
    assert err.layer == "probs"


def test_unknown_layer_class_in_keras_zip(tmp_path):
    def edit(cfg):
        cfg["config"]["layers"][1]["class_name"] = "MyLayer"
        return cfg

    path = rewrite_keras_zip(file_of("mlp_dense", "tfkeras", "keras"), tmp_path / "custom.keras", edit_config=edit)
    raises(UnsupportedLayerError, path, "MyLayer", "'hidden'")


def test_unknown_layer_inside_nested_model_h5(tmp_path):
    def edit(h5):
        cfg = read_json_attr(h5, "model_config")
        encoder = next(lc for lc in cfg["config"]["layers"] if lc["name"] == "encoder")
        encoder["config"]["layers"][2]["class_name"] = "Capsule"
        set_json_attr(h5, "model_config", cfg)

    path = copy_h5(file_of("nested_multi", "tfkeras", "h5"), tmp_path / "caps.h5", edit)
    raises(UnsupportedLayerError, path, "Capsule", "'proj'")


# ---- weights that do not fit ---------------------------------------------------------------
def test_missing_weight_dataset(tmp_path):
    path = copy_h5(file_of("mlp_dense", "tfkeras", "h5"), tmp_path / "m.h5",
                   lambda h5: h5.__delitem__("model_weights/probs/probs/bias:0"))
    raises(FormatError, path, "'probs'", "bias")


def test_missing_layer_weights(tmp_path):
    def edit(h5):
        del h5["model_weights/probs"]
        h5["model_weights"].attrs["layer_names"] = np.array([b"hidden"])

    path = copy_h5(file_of("mlp_dense", "tfkeras", "h5"), tmp_path / "m.h5", edit)
    raises(WeightError, path, "'probs'", "missing")


def test_misshaped_weight(tmp_path):
    def edit(h5):
        del h5["model_weights/hidden/hidden/kernel:0"]
        h5["model_weights/hidden/hidden/kernel:0"] = np.zeros((7, 8), np.float32)

    path = copy_h5(file_of("mlp_dense", "tfkeras", "h5"), tmp_path / "m.h5", edit)
    raises(WeightError, path, "'hidden'", "(7, 8)", "(6, 8)")


def test_misshaped_weight_in_keras_zip(tmp_path):
    def edit(h5):
        del h5["layers/dense_1/vars/1"]
        h5["layers/dense_1/vars/1"] = np.zeros((4,), np.float32)

    path = rewrite_keras_zip(file_of("mlp_dense", "keras3", "keras"), tmp_path / "m.keras", edit_weights=edit)
    raises(WeightError, path, "'probs'", "(4,)")


def test_extra_weights_in_keras_zip(tmp_path):
    path = rewrite_keras_zip(file_of("mlp_dense", "keras3", "keras"), tmp_path / "m.keras",
                             edit_weights=lambda h5: h5.create_dataset("layers/dense_7/vars/0", data=np.ones(3)))
    raises(WeightError, path, "layers/dense_7")


@pytest.mark.parametrize("producer", ["tfkeras", "keras3"])
def test_weights_of_another_model(producer):
    other = file_of("nested_multi", producer, "weights")
    with pytest.raises(WeightError) as info:
        kport.load(file_of("mlp_dense", producer, "json"), weights=other)
    assert other in str(info.value) and "different models" in str(info.value)


def test_weights_file_that_is_not_keras(tmp_path):
    bogus = tmp_path / "w.h5"
    with h5py.File(bogus, "w") as h5:
        h5["data"] = np.arange(3)
    with pytest.raises(FormatError) as info:
        kport.load(file_of("mlp_dense", "tfkeras", "json"), weights=str(bogus))
    assert str(bogus) in str(info.value) and info.value.hint


def test_pickled_npz_weights_are_refused():
    raises(UnsafeContentError, file_of("mlp_dense", "keras3", "keras_npz"), "pickled", ".weights.h5")


def test_pickled_npz_keras_file_loads_with_separate_weights():
    graph = kport.load(file_of("mlp_dense", "keras3", "keras_npz"),
                       weights=file_of("mlp_dense", "keras3", "weights"))
    assert graph.has_weights and graph.layers["probs"].weights["kernel"].shape == (8, 3)


# ---- damaged and foreign files ---------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["h5", "keras", "json"])
@pytest.mark.parametrize("producer", ["tfkeras", "keras3"])
def test_truncated_file(producer, fmt, tmp_path):
    data = Path(file_of("nested_multi", producer, fmt)).read_bytes()
    path = tmp_path / f"half.{fmt}"
    path.write_bytes(data[: len(data) // 2])
    raises(FormatError, path, "truncated")


def test_hdf5_that_is_not_keras(tmp_path):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as h5:
        h5["x"] = np.arange(10)
    raises(FormatError, path, "model_config")


def test_zip_that_is_not_keras(tmp_path):
    path = tmp_path / "notes.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    raises(FormatError, path, "config.json")


def test_keras_zip_without_weights(tmp_path):
    src = file_of("mlp_dense", "keras3", "keras")
    path = tmp_path / "noweights.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for name in zin.namelist():
            if name != "model.weights.h5":
                zout.writestr(name, zin.read(name))
    raises(FormatError, path, "no weights")


@pytest.mark.parametrize("text,words", [
    ('{"foo": 1}', ["not a Keras model"]),
    ('[1, 2, 3]', ["not a Keras model"]),
    ('{"class_name": "Sequential", "config": {"layers": [', ["line 1"]),
    ('"just a string"', ["line 1"]),
])
def test_json_that_is_not_a_keras_model(text, words, tmp_path):
    path = tmp_path / "x.json"
    path.write_text(text)
    raises(FormatError, path, *words)


def test_json_of_a_bare_layer(tmp_path):
    path = tmp_path / "layer.json"
    path.write_text(json.dumps({"class_name": "Dense", "config": {"units": 3}}))
    raises(FormatError, path, "'Dense'", "not a Keras model")


def test_json_that_is_not_utf8(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"class_name": "\xff\xfe"}')
    raises(FormatError, path, "UTF-8")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.h5"
    path.write_bytes(b"")
    raises(FormatError, path, "empty")


def test_unknown_content(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"GIF89a not a model at all")
    raises(FormatError, path, "not a Keras model file")


def test_damaged_model_config_text(tmp_path):
    data = bytearray(Path(file_of("nested_multi", "tfkeras", "h5")).read_bytes())
    at = data.index(b'"inbound_nodes"')
    data[at:at + 4] = b"\x00\x07\x00\x07"
    path = tmp_path / "damaged.h5"
    path.write_bytes(bytes(data))
    raises(FormatError, path, "damaged")


@pytest.mark.parametrize("producer,fmt", [("tfkeras", "h5"), ("keras3", "h5"), ("keras3", "keras"),
                                          ("tfkeras", "keras")])
def test_random_corruption_never_escapes_as_a_raw_error(producer, fmt, tmp_path):
    """Overwritten byte runs anywhere in a real file: kport loads it or raises a KportError."""
    data = Path(file_of("nested_multi", producer, fmt)).read_bytes()
    rng = np.random.default_rng(2024)
    path = tmp_path / f"corrupt.{fmt}"
    for _ in range(40):
        damaged = bytearray(data)
        start = int(rng.integers(0, len(data) - 64))
        run = int(rng.choice([8, 64, 512]))
        damaged[start:start + run] = rng.integers(0, 256, size=len(damaged[start:start + run]), dtype=np.uint8).tobytes()
        path.write_bytes(bytes(damaged))
        try:
            kport.load(str(path))
        except KportError as err:
            assert str(path) in str(err)


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    from kport.importers import keras_v3

    monkeypatch.setattr(keras_v3, "BOMB_SIZE", 1 << 20)  # the real limit is 64 MiB; same rule, smaller file
    src = file_of("mlp_dense", "keras3", "keras")
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for name in zin.namelist():
            if name != "model.weights.h5":
                zout.writestr(name, zin.read(name))
        zout.writestr("model.weights.h5", bytes(4 << 20), compress_type=zipfile.ZIP_DEFLATED)
    raises(UnsafeContentError, path, "decompression bomb")


def test_big_weights_are_read_through_a_temporary_file(monkeypatch):
    from kport.importers import keras_v3

    monkeypatch.setattr(keras_v3, "IN_MEMORY_LIMIT", 0)
    graph = kport.load(file_of("nested_multi", "keras3", "keras"))
    assert graph.layers["encoder/fc"].weights["kernel"].shape == (5, 6)


def test_weights_index_given_as_the_model():
    path = file_of("mlp_dense", "keras3", "weights_sharded")
    raises(FormatError, path, "sharded-weights index")


def test_weights_only_hdf5_given_as_the_model():
    raises(FormatError, file_of("nested_multi", "tfkeras", "weights"), "no model architecture")


def test_custom_keras3_layer_names_its_package(tmp_path):
    cfg = json.loads(Path(file_of("mlp_dense", "keras3", "json")).read_text())
    layer = cfg["config"]["layers"][1]
    layer.update({"class_name": "GatedDense", "module": "acme.layers", "registered_name": "acme>GatedDense"})
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(cfg))
    raises(UnsupportedLayerError, path, "GatedDense", "'hidden'", "acme>GatedDense")
