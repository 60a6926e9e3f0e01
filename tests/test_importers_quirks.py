"""Real-file quirks: each test rewrites a file real Keras made into the variant
another Keras version (or a big model, or Windows) writes, and checks parity.
"""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import kport
from importer_files import (assert_parity, copy_h5, entry, file_of, read_json_attr, rewrite_keras_zip,
                            set_json_attr, set_names)
from kport.errors import WeightError


# ---- chunked HDF5 attributes -----------------------------------------------------------
def test_chunked_model_config_and_layer_names():
    path = file_of("mlp_dense", "tfkeras", "h5_chunked")
    with h5py.File(path, "r") as h5:  # the fixture really is chunked
        assert "model_config" not in h5.attrs and "model_config2" in h5.attrs
        assert "layer_names" not in h5["model_weights"].attrs and "layer_names1" in h5["model_weights"].attrs
    assert_parity(kport.load(path), entry("mlp_dense", "tfkeras"))


def test_chunked_weight_names(tmp_path):
    def split(h5):
        group = h5["model_weights/hidden"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        del group.attrs["weight_names"]
        set_names(group, "weight_names0", names[:1])
        set_names(group, "weight_names1", names[1:])

    path = copy_h5(file_of("mlp_dense", "tfkeras", "h5_chunked"), tmp_path / "m.h5", split)
    assert_parity(kport.load(path), entry("mlp_dense", "tfkeras"))


# ---- .keras weights layouts of other versions -------------------------------------------
def _rename_containers(h5, old: str, new: str) -> None:
    """Renames every group called `old` (deepest first), as tf.keras 2.13-2.15 named containers."""
    found = []
    h5.visit(lambda name: found.append(name) if name.split("/")[-1] == old else None)
    for name in sorted(found, key=lambda n: -n.count("/")):
        parent = name.rsplit("/", 1)[0] if "/" in name else ""
        h5.move(name, f"{parent}/{new}" if parent else new)


@pytest.mark.parametrize("case", ["nested_multi", "nested_bn"])
def test_tf_keras_2_13_layer_checkpoint_dependencies(case, tmp_path):
    src = file_of(case, "tfkeras", "keras")
    path = rewrite_keras_zip(src, tmp_path / "old.keras",
                             edit_weights=lambda h5: _rename_containers(h5, "layers", "_layer_checkpoint_dependencies"))
    assert_parity(kport.load(path), entry(case, "tfkeras"))


def _flatten_with_backslashes(h5) -> None:
    """Makes every `vars` group a root group named 'layers\\dense\\vars', as Windows saves wrote."""
    groups = []
    h5.visititems(lambda name, obj: groups.append(name) if name.endswith("/vars") or name == "vars" else None)
    for name in groups:
        h5.move(name, name.replace("/", "\\"))
    for top in [k for k in h5.keys() if "\\" not in k and k != "vars"]:
        del h5[top]


@pytest.mark.parametrize("producer", ["tfkeras", "keras3"])
def test_backslash_group_names(producer, tmp_path):
    path = rewrite_keras_zip(file_of("nested_multi", producer, "keras"), tmp_path / "win.keras",
                             edit_weights=_flatten_with_backslashes)
    with h5py.File(__import__("io").BytesIO(__import__("zipfile").ZipFile(path).read("model.weights.h5"))) as h5:
        assert any("\\" in k for k in h5.keys())
    assert_parity(kport.load(path), entry("nested_multi", producer))


def _swap(h5, a: str, b: str) -> None:
    h5.move(a, a + "_tmp")
    h5.move(b, a)
    h5.move(a + "_tmp", b)


def test_keras3_stored_names_beat_object_positions(tmp_path):
    """Recent Keras 3 files name each `vars` group's layer; kport follows the names."""
    path = rewrite_keras_zip(file_of("mlp_dense", "keras3", "keras"), tmp_path / "swapped.keras",
                             edit_weights=lambda h5: _swap(h5, "layers/dense", "layers/dense_1"))
    assert_parity(kport.load(path), entry("mlp_dense", "keras3"))


def test_without_stored_names_object_positions_decide(tmp_path):
    """tf.keras files carry no names: swapped groups land on the wrong layers and say so."""
    path = rewrite_keras_zip(file_of("mlp_dense", "tfkeras", "keras"), tmp_path / "swapped.keras",
                             edit_weights=lambda h5: _swap(h5, "layers/dense", "layers/dense_1"))
    with pytest.raises(WeightError) as err:
        kport.load(path)
    assert "hidden" in str(err.value) and "shape" in str(err.value)


# ---- HDF5 naming quirks --------------------------------------------------------------------
def test_layer_name_with_slash(tmp_path):
    """Keras 2 allowed '/' in layer names; the group and weight names then nest."""
    def rename(h5):
        cfg = read_json_attr(h5, "model_config")
        for layer in cfg["config"]["layers"]:
            if layer["config"]["name"] == "hidden":
                layer["config"]["name"] = "block1/hidden"
        set_json_attr(h5, "model_config", cfg)
        weights = h5["model_weights"]
        h5.move("model_weights/hidden/hidden", "model_weights/block1/hidden/block1/hidden")
        set_names(weights["block1/hidden"], "weight_names",
                  ["block1/hidden/kernel:0", "block1/hidden/bias:0"])
        del h5["model_weights/hidden"]
        set_names(weights, "layer_names", ["input_1", "block1/hidden", "probs"])

    path = copy_h5(file_of("mlp_dense", "tfkeras", "h5"), tmp_path / "slash.h5", rename)
    graph = kport.load(path)
    assert "block1/hidden" in graph.layers
    assert_parity(graph, entry("mlp_dense", "tfkeras"))


def _rewrite_nested_weights(h5, model: str, pairs: list[tuple[str, int]]) -> None:
    """Rewrites a nested model's weight list as (new name, index of the saved weight) pairs."""
    group = h5[f"model_weights/{model}"]
    old = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
    arrays = [group[n][()] for n in old]
    for key in list(group.keys()):
        del group[key]
    for name, index in pairs:
        group.create_dataset(name, data=arrays[index])
    set_names(group, "weight_names", [name for name, _ in pairs])


def test_tf1_era_nested_weight_names_with_model_prefix(tmp_path):
    """Graph-mode tf.keras prefixed nested weights with the model's graph scope."""
    # listed proj first: only the names can put them right
    pairs = [("sequential_3/proj/kernel:0", 2), ("sequential_3/proj/bias:0", 3),
             ("sequential_3/fc/kernel:0", 0), ("sequential_3/fc/bias:0", 1)]
    path = copy_h5(file_of("nested_multi", "tfkeras", "h5"), tmp_path / "tf1.h5",
                   lambda h5: _rewrite_nested_weights(h5, "encoder", pairs))
    assert_parity(kport.load(path), entry("nested_multi", "tfkeras"))


def test_nested_weights_without_useful_names_follow_keras_order(tmp_path):
    """tf.keras writes a nested model's weights trainable first, then non-trainable.

    In the fixture the frozen Dense 'd' comes after the BatchNormalization's
    gamma/beta and before its moving statistics.
    """
    with h5py.File(file_of("nested_bn", "tfkeras", "h5"), "r") as h5:
        saved = [n.decode() if isinstance(n, bytes) else n for n in h5["model_weights/block"].attrs["weight_names"]]
    assert saved[:2] == ["bn/gamma:0", "bn/beta:0"] and saved[4:6] == ["d/kernel:0", "d/bias:0"]
    path = copy_h5(file_of("nested_bn", "tfkeras", "h5"), tmp_path / "anon.h5",
                   lambda h5: _rewrite_nested_weights(h5, "block", [(f"variable_{i}:0", i) for i in range(8)]))
    assert_parity(kport.load(path), entry("nested_bn", "tfkeras"))


def test_model_class_name_of_older_tf_keras(tmp_path):
    """tf.keras before 2.4 called functional models 'Model'; 2.4+ 'Functional'."""
    def rename(h5):
        text = json.dumps(read_json_attr(h5, "model_config")).replace('"Functional"', '"Model"')
        set_json_attr(h5, "model_config", json.loads(text))

    src = file_of("nested_bn", "tfkeras", "h5")
    with h5py.File(src, "r") as h5:
        assert read_json_attr(h5, "model_config")["class_name"] == "Functional"
    path = copy_h5(src, tmp_path / "model.h5", rename)
    assert_parity(kport.load(path), entry("nested_bn", "tfkeras"))


def test_keras3_json_with_keras_tensors_and_dtype_policies():
    path = file_of("nested_multi", "keras3", "json")
    text = open(path).read()
    assert "__keras_tensor__" in text and "DTypePolicy" in text
    graph = kport.load(path, weights=file_of("nested_multi", "keras3", "weights"))
    assert all(spec.dtype == "float32" for spec in graph.tensors.values())
    assert_parity(graph, entry("nested_multi", "keras3"))


def test_bfloat16_weights_in_keras_zip(tmp_path):
    """Keras 3 writes bfloat16 variables as opaque 2-byte values tagged dtype=bfloat16."""
    bias = np.array([1.0, -2.5, 3.140625], np.float32)  # exact in bfloat16

    def to_bfloat16(h5):
        words = (bias.view(np.uint32) >> 16).astype("<u2").view("V2")
        del h5["layers/dense_1/vars/1"]
        ds = h5["layers/dense_1/vars"].create_dataset("1", data=words)
        ds.attrs["dtype"] = "bfloat16"

    path = rewrite_keras_zip(file_of("mlp_dense", "keras3", "keras"), tmp_path / "bf16.keras",
                             edit_weights=to_bfloat16)
    got = kport.load(path).layers["probs"].weights["bias"]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, bias)


def test_nested_layer_name_with_slash(tmp_path):
    """A layer named 'blk/fc' inside a nested model: its weights are 'blk/fc/kernel:0'."""
    def rename(h5):
        cfg = read_json_attr(h5, "model_config")
        encoder = next(lc for lc in cfg["config"]["layers"] if lc["name"] == "encoder")
        for layer in encoder["config"]["layers"]:
            if layer["config"]["name"] == "fc":
                layer["config"]["name"] = "blk/fc"
        set_json_attr(h5, "model_config", cfg)

    def rewrite_weights(h5):
        # listed in an order only the names can sort out: proj before blk/fc
        group = h5["model_weights/encoder"]
        arrays = {n: group[n][()] for n in ["fc/kernel:0", "fc/bias:0", "proj/kernel:0", "proj/bias:0"]}
        for key in list(group.keys()):
            del group[key]
        order = [("proj/kernel:0", "proj/kernel:0"), ("proj/bias:0", "proj/bias:0"),
                 ("blk/fc/kernel:0", "fc/kernel:0"), ("blk/fc/bias:0", "fc/bias:0")]
        for new_name, old_name in order:
            group.create_dataset(new_name, data=arrays[old_name])
        set_names(group, "weight_names", [new_name for new_name, _ in order])

    path = copy_h5(file_of("nested_multi", "tfkeras", "h5"), tmp_path / "slash.h5",
                   lambda h5: (rename(h5), rewrite_weights(h5)))
    graph = kport.load(path)
    assert graph.layers["blk/fc"].scope == ("encoder",)
    assert_parity(graph, entry("nested_multi", "tfkeras"))


@pytest.mark.parametrize("producer,flavor", [("keras3", "keras3-keras"), ("tfkeras", "tf.keras-keras")])
def test_keras_zip_without_metadata(producer, flavor, tmp_path):
    """The writer decides numerics (hard_sigmoid differs): without metadata.json the config tells."""
    import zipfile

    src = file_of("nested_multi", producer, "keras")
    path = tmp_path / "nometa.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for name in zin.namelist():
            if name != "metadata.json":
                zout.writestr(name, zin.read(name))
    graph = kport.load(str(path))
    assert graph.source.format == flavor
    assert_parity(graph, entry("nested_multi", producer))


def test_tf_keras_config_json_taken_out_of_a_keras_zip(tmp_path):
    """config.json of a tf.keras .keras file names modules but no version: not Keras 3."""
    import zipfile

    path = tmp_path / "config.json"
    path.write_bytes(zipfile.ZipFile(file_of("mlp_dense", "tfkeras", "keras")).read("config.json"))
    assert kport.load(str(path)).source.format == "tf.keras-json"
    assert kport.load(file_of("mlp_dense", "keras3", "json")).source.format == "keras3-json"
