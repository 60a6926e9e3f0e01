"""Every modern Keras format, read without TensorFlow, against real Keras outputs.

Fixtures come from fixtures/make_importer_cases.py (tf_keras 2.21 and Keras 3):
full-model HDF5, `.keras` zips, architecture JSON (plain and double-encoded)
with `save_weights` files, chunked HDF5 attributes.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import kport
from importer_files import MANIFEST, assert_parity, copy_h5, entry, fixture, load_format, rewrite_keras_zip
from kport.errors import FormatError, WeightError

UNSAFE = {"keras_npz"}  # pickled npz weights: refused, tested in test_importers_errors


CASES = [(e["case"], e["producer"], fmt) for e in MANIFEST for fmt in e["files"]
         if not fmt.startswith("weights") and fmt not in UNSAFE]


@pytest.mark.parametrize("case,producer,fmt", CASES, ids=["-".join(c) for c in CASES])
def test_format_matches_real_keras(case, producer, fmt):
    e = entry(case, producer)
    assert_parity(load_format(e, fmt), e)


@pytest.mark.parametrize("producer,fmt,expected", [
    ("tfkeras", "h5", "tf.keras-h5"), ("tfkeras", "keras", "tf.keras-keras"), ("tfkeras", "json", "tf.keras-json"),
    ("keras3", "h5", "keras3-h5"), ("keras3", "keras", "keras3-keras"), ("keras3", "json", "keras3-json"),
])
def test_source_records_format_and_version(producer, fmt, expected):
    graph = load_format(entry("mlp_dense", producer), fmt)
    assert graph.source.format == expected
    assert graph.source.keras_major == (3 if producer == "keras3" else 2)


@pytest.mark.parametrize("producer", ["tfkeras", "keras3"])
@pytest.mark.parametrize("fmt", ["h5", "keras", "json"])
def test_nested_model_called_twice_with_shared_head(producer, fmt):
    graph = load_format(entry("nested_multi", producer), fmt)
    assert graph.input_names == ["a", "b"]
    assert len(graph.outputs) == 3
    # the nested 'fc' and the top-level 'fc' are two layers; the top-level one keeps its name
    assert graph.layers["fc"].scope == () and graph.layers["fc"].weights["kernel"].shape == (5, 3)
    assert graph.layers["encoder/fc"].scope == ("encoder",)
    assert graph.layers["encoder/fc"].weights["kernel"].shape == (5, 6)
    assert len(graph.nodes_of("head")) == 2 and len(graph.nodes_of("encoder/fc")) == 2
    assert len(graph.layers) == 4


@pytest.mark.parametrize("producer", ["tfkeras", "keras3"])
def test_json_without_weights_gives_structure_but_refuses_to_run(producer):
    e = entry("nested_bn", producer)
    path = fixture(producer, e["files"]["json"])
    graph = kport.load(path)
    assert not graph.has_weights
    assert graph.tensors[graph.outputs[0]].shape == (None, 2)
    from kport.summary import summarize

    # block: d 4*5+5, bn 4*5, d2 5*3+3; top d 3*2+2
    assert summarize(graph)["params"]["total"] == 25 + 20 + 18 + 8
    with pytest.raises(WeightError) as err:
        kport.run(graph, [np.zeros((1, 4), np.float32)])
    assert path in str(err.value) and "--weights" in str(err.value)


@pytest.mark.parametrize("producer", ["tfkeras", "keras3"])
def test_json_weights_bound_by_order_when_names_differ(producer, tmp_path):
    """Keras's by_name=False: layers with weights, in order, whatever their names."""
    e = entry("nested_multi", producer)
    text = Path(fixture(producer, e["files"]["json"])).read_text()
    renamed = tmp_path / "renamed.json"
    renamed.write_text(text.replace('"head"', '"head_renamed"').replace('"encoder"', '"enc_renamed"'))
    weights = fixture(producer, e["files"]["weights"])
    graph = kport.load(str(renamed), weights=weights)
    assert "head_renamed" in graph.layers
    assert_parity(graph, e)


def _zero_datasets(h5) -> None:
    h5.visititems(lambda name, obj: obj.__setitem__((), np.zeros(obj.shape, obj.dtype))
                  if hasattr(obj, "shape") and obj.shape else None)


@pytest.mark.parametrize("producer,fmt", [("keras3", "h5"), ("keras3", "keras"), ("tfkeras", "h5"),
                                          ("tfkeras", "keras")])
def test_weights_option_overrides_the_files_own(producer, fmt, tmp_path):
    e = entry("mlp_dense", producer)
    src = fixture(producer, e["files"][fmt])
    # a copy whose own weights are all zero: parity proves the weights file was used
    if fmt == "h5":
        zeroed = copy_h5(src, tmp_path / "zeroed.h5", _zero_datasets)
    else:
        zeroed = rewrite_keras_zip(src, tmp_path / "zeroed.keras", edit_weights=_zero_datasets)
    assert not np.any(kport.load(zeroed).layers["hidden"].weights["kernel"])
    graph = kport.load(zeroed, weights=fixture(producer, e["files"]["weights"]))
    assert_parity(graph, e)


def test_full_model_files_serve_as_weights_for_json():
    for producer, weights_fmt in [("tfkeras", "h5"), ("keras3", "keras"), ("keras3", "h5")]:
        e = entry("nested_multi", producer)
        graph = kport.load(fixture(producer, e["files"]["json"]),
                           weights=fixture(producer, e["files"][weights_fmt]))
        assert_parity(graph, e)


def test_keras_named_file_holding_hdf5_is_read_as_hdf5(tmp_path):
    """Pre-Keras-3 files saved under a .keras name are HDF5 inside: content decides."""
    e = entry("mlp_dense", "tfkeras")
    disguised = tmp_path / "model.keras"
    shutil.copyfile(fixture("tfkeras", e["files"]["h5"]), disguised)
    graph = kport.load(str(disguised))
    assert graph.source.format == "tf.keras-h5"
    assert_parity(graph, e)


@pytest.mark.parametrize("fmt", ["h5", "keras", "json"])
def test_same_layer_name_at_three_depths(fmt):
    """'d' at the top, in 'block' and in 'block/core': three layers, each with its own weights."""
    graph = load_format(entry("deep_nested", "keras3"), fmt)
    assert graph.layers["d"].scope == () and graph.layers["d"].weights["kernel"].shape == (6, 2)
    assert graph.layers["block/d"].weights["kernel"].shape == (5, 3)
    assert graph.layers["block/core/d"].scope == ("block", "core")
    assert graph.layers["block/core/d"].weights["kernel"].shape == (4, 5)
    assert len(graph.nodes_of("block/core/d")) == 2


def test_keras3_sharded_weights():
    """`save_weights('x.weights.json', max_shard_size=...)`: one layer's vars span two shards."""
    e = entry("mlp_dense", "keras3")
    index = fixture("keras3", e["files"]["weights_sharded"])
    shards = json.loads(Path(index).read_text())["weight_map"]["/layers/dense/vars"]
    assert len(shards) == 2
    graph = kport.load(fixture("keras3", e["files"]["json"]), weights=index)
    assert_parity(graph, e)


def test_sharded_weights_with_a_missing_shard(tmp_path):
    e = entry("mlp_dense", "keras3")
    index = Path(fixture("keras3", e["files"]["weights_sharded"]))
    copy = tmp_path / index.name
    copy.write_text(index.read_text())
    shutil.copyfile(index.parent / "mlp_dense.sharded_00000.weights.h5", tmp_path / "mlp_dense.sharded_00000.weights.h5")
    with pytest.raises(FormatError) as err:
        kport.load(fixture("keras3", e["files"]["json"]), weights=str(copy))
    assert "mlp_dense.sharded_00001.weights.h5" in str(err.value) and str(copy) in str(err.value)


def test_structure_only_graph_survives_a_kport_round_trip(tmp_path):
    graph = kport.load(fixture("keras3", entry("mlp_dense", "keras3")["files"]["json"]))
    kport.save(graph, tmp_path / "arch.kport")
    again = kport.load(str(tmp_path / "arch.kport"))
    assert not again.has_weights and set(again.layers) == {"hidden", "probs"}
    with pytest.raises(WeightError):
        kport.run(again, [np.zeros((1, 6), np.float32)])


def test_structure_only_graph_refuses_to_convert(tmp_path):
    path = fixture("keras3", entry("mlp_dense", "keras3")["files"]["json"])
    with pytest.raises(WeightError) as err:
        kport.convert(path, tmp_path / "m.onnx", to="onnx")
    assert path in str(err.value) and "weights" in str(err.value)
    assert not (tmp_path / "m.onnx").exists()


def test_cli_inspects_json_without_weights_and_refuses_to_run(tmp_path):
    from click.testing import CliRunner

    from kport.cli.main import cli

    path = fixture("keras3", entry("nested_bn", "keras3")["files"]["json"])
    shown = CliRunner().invoke(cli, ["inspect", path])
    assert shown.exit_code == 0, shown.output
    # Keras's own summary: 71 parameters, 35 of them non-trainable (frozen 'd' and the BN statistics)
    assert "Total params: 71" in shown.output and "Non-trainable params: 35" in shown.output
    np.savez(tmp_path / "in.npz", inp=np.zeros((2, 4), np.float32))
    ran = CliRunner().invoke(cli, ["run", path, "--input", str(tmp_path / "in.npz"), "--output",
                                   str(tmp_path / "out.npz")])
    assert ran.exit_code != 0 and "without its weights" in ran.output
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("producer", ["keras3", "tfkeras"])
def test_unzipped_keras_folder(producer, tmp_path):
    """Keras 3 `model.save(path, zipped=False)` writes the zip's members into a folder."""
    import zipfile

    e = entry("nested_multi", producer)
    folder = tmp_path / "model.keras"
    zipfile.ZipFile(fixture(producer, e["files"]["keras"])).extractall(folder)
    graph = kport.load(str(folder))
    assert graph.source.format.endswith("-keras")
    assert_parity(graph, e)


def test_folder_without_keras_model_is_refused(tmp_path):
    (tmp_path / "variables").mkdir()
    with pytest.raises(FormatError) as err:
        kport.load(str(tmp_path))
    assert str(tmp_path) in str(err.value) and "SavedModel" in str(err.value)


def test_unzipped_keras_folder_as_weights(tmp_path):
    import zipfile

    e = entry("nested_multi", "keras3")
    folder = tmp_path / "model.keras"
    zipfile.ZipFile(fixture("keras3", e["files"]["keras"])).extractall(folder)
    assert_parity(kport.load(fixture("keras3", e["files"]["json"]), weights=str(folder)), e)
