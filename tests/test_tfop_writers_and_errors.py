"""Keras writers for op calls with constants, and the errors TF-function models raise.

- Keras 3 operation nodes with constant operands (`x * 2.0`, fixtures/tfop/keras3_op_constants.keras)
  are written back as Keras 3 operations (module keras.src.ops.numpy, the constant among the args)
  and, for tf.keras, as the TFOpLambda tf.keras would have recorded.
- A TFOpLambda has no Keras 3 form: the Keras 3 writer refuses it naming the layer and function.
- An unconverted TF function (tf.nn.depth_to_space) and a tensor where kport needs a constant are
  refused at import, naming the file, the layer and the function.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import kport
from kport.errors import ExportError, UnsupportedLayerError
from kport.exporters.keras.keras3_file import write_keras
from kport.exporters.keras.legacy_h5_file import write_h5
from layer_harness import assert_close

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tfop"


def _io(case):
    data = np.load(FIXTURES / f"{case}.npz")
    xs = [data[f"input_{i}"] for i in range(sum(k.startswith("input_") for k in data.files))]
    ys = [data[f"output_{j}"] for j in range(sum(k.startswith("output_") for k in data.files))]
    return xs, ys


def _check(got, expected, what):
    assert len(got) == len(expected)
    for j, (a, b) in enumerate(zip(got, expected)):
        assert_close(np.asarray(a), b, f"{what} output {j}")


def test_keras3_op_constants_import():
    xs, ys = _io("keras3_op_constants")
    _check(kport.run(kport.load(str(FIXTURES / "keras3_op_constants.keras")), xs), ys, "numpy")


def test_keras3_writer_keeps_operations_with_constants(tmp_path):
    xs, ys = _io("keras3_op_constants")
    graph = kport.load(str(FIXTURES / "keras3_op_constants.keras"))
    write_keras(graph, tmp_path / "out.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "out.keras").read("config.json"))
    layers = {lc["name"]: lc for lc in config["config"]["layers"]}
    multiply = layers["multiply"]
    assert multiply["module"] == "keras.src.ops.numpy" and "build_config" not in multiply
    assert multiply["inbound_nodes"][0]["args"][1] == 2.0
    assert layers["subtract"]["inbound_nodes"][0]["args"][0] == 3.0
    _check(kport.run(kport.load(str(tmp_path / "out.keras")), xs), ys, "kport-written .keras")


def test_tf_keras_writer_spells_constants_as_tf_op_lambda(tmp_path):
    xs, ys = _io("keras3_op_constants")
    graph = kport.load(str(FIXTURES / "keras3_op_constants.keras"))
    write_h5(graph, tmp_path / "out.h5")
    again = kport.load(str(tmp_path / "out.h5"))
    assert again.layers["subtract"].op.kind == "TFBinary" and again.layers["subtract"].op.x == 3.0
    _check(kport.run(again, xs), ys, "kport-written .h5")


@pytest.mark.slow
def test_written_files_run_in_real_keras(tmp_path):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    tf_keras = pytest.importorskip("tf_keras")
    xs, ys = _io("keras3_op_constants")
    graph = kport.load(str(FIXTURES / "keras3_op_constants.keras"))
    write_keras(graph, tmp_path / "out.keras")
    write_h5(graph, tmp_path / "out.h5")
    _check(keras.models.load_model(str(tmp_path / "out.keras"), compile=False)(xs), ys, "Keras 3")
    _check(tf_keras.models.load_model(str(tmp_path / "out.h5"), compile=False)(xs), ys, "tf_keras")


def test_keras3_writer_refuses_tf_functions(tmp_path):
    graph = kport.load(str(FIXTURES / "unary.h5"))
    with pytest.raises(ExportError, match=r"tf\.[a-z_.]+ has no Keras 3 form") as err:
        write_keras(graph, tmp_path / "out.keras")
    assert err.value.layer.startswith("tf.") and err.value.layer.split("tf.")[1].split("_")[0] in str(err.value)
    assert not (tmp_path / "out.keras").exists()


def test_unconverted_tf_function_is_named():
    with pytest.raises(UnsupportedLayerError, match=r"tf\.nn\.depth_to_space") as err:
        kport.load(str(FIXTURES / "unsupported_depth_to_space.h5"))
    assert err.value.layer == "tf.nn.depth_to_space" and "unsupported_depth_to_space.h5" in str(err.value)


def _tf_keras_json(tmp_path, layer: dict) -> str:
    """A tf.keras model.to_json() document: Input 'x' (4, 6) -> `layer` (spelled as tf_keras 2.21 writes it)."""
    model = {"class_name": "Functional", "keras_version": "2.21.0", "backend": "tensorflow", "config": {
        "name": "model", "layers": [
            {"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
             "config": {"batch_input_shape": [None, 4, 6], "dtype": "float32", "name": "x"}},
            layer],
        "input_layers": [["x", 0, 0]], "output_layers": [[layer["name"], 0, 0]]}}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    return str(path)


def _tf_op(name: str, function: str, node) -> dict:
    return {"class_name": "TFOpLambda", "name": name, "inbound_nodes": [node],
            "config": {"name": name, "trainable": True, "dtype": "float32", "function": function}}


def test_tensor_argument_where_a_constant_is_needed_is_refused(tmp_path):
    layer = _tf_op("tf.math.reduce_mean", "math.reduce_mean", ["x", 0, 0, {"axis": ["x", 0, 0]}])
    with pytest.raises(UnsupportedLayerError, match=r"tf\.math\.reduce_mean takes a tensor as 'axis'") as err:
        kport.load(_tf_keras_json(tmp_path, layer))
    assert err.value.layer == "tf.math.reduce_mean"


def test_unread_argument_is_refused(tmp_path):
    layer = _tf_op("tf.nn.relu", "nn.relu", ["x", 0, 0, {"alpha": 0.5}])
    with pytest.raises(UnsupportedLayerError, match=r"argument\(s\) \['alpha'\]"):
        kport.load(_tf_keras_json(tmp_path, layer))


def test_constant_first_operand_reads_from_hand_written_config(tmp_path):
    layer = _tf_op("tf.math.subtract", "math.subtract", ["_CONSTANT_VALUE", -1, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                                                         {"y": ["x", 0, 0], "name": None}])
    graph = kport.load(_tf_keras_json(tmp_path, layer))
    op = graph.layers["tf.math.subtract"].op
    assert (op.x, op.y) == ((1.0, 2.0, 3.0, 4.0, 5.0, 6.0), None)




def _keras3_spellable_binary():
    """The binary case cut down to the outputs of add/subtract/multiply/maximum/minimum on model inputs."""
    import dataclasses

    from kport.ops.tf_binary import _KERAS3_OPS

    graph = kport.load(str(FIXTURES / "binary.h5"))
    xs, ys = _io("binary")
    producers = {o: n for n in graph.nodes for o in n.outputs}
    picked = [j for j, t in enumerate(graph.outputs)
              if graph.layers[producers[t].layer].op.function in _KERAS3_OPS
              and all(i in graph.input_names for i in producers[t].inputs)]
    assert len(picked) >= 5
    sub = dataclasses.replace(graph, outputs=[graph.outputs[j] for j in picked],
                              nodes=[producers[graph.outputs[j]] for j in picked])
    sub.layers = {n.layer: graph.layers[n.layer] for n in sub.nodes}
    return sub, xs, [ys[j] for j in picked]


def test_tf_binary_ops_write_as_keras3_operations(tmp_path):
    graph, xs, ys = _keras3_spellable_binary()
    write_keras(graph, tmp_path / "out.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "out.keras").read("config.json"))
    assert {lc.get("module") for lc in config["config"]["layers"][2:]} == {"keras.src.ops.numpy"}
    _check(kport.run(kport.load(str(tmp_path / "out.keras")), xs), ys, "kport-written .keras of TF binary ops")


@pytest.mark.slow
def test_tf_binary_ops_written_for_keras3_run_in_keras3(tmp_path):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    graph, xs, ys = _keras3_spellable_binary()
    write_keras(graph, tmp_path / "out.keras")
    _check(keras.models.load_model(str(tmp_path / "out.keras"), compile=False)(xs), ys, "Keras 3")


def test_second_call_with_other_arguments_is_refused(tmp_path):
    layer = _tf_op("tf.math.add", "math.add", ["x", 0, 0, {"y": 1.0}])
    layer["inbound_nodes"].append(["tf.math.add", 0, 0, {"y": 2.0}])
    with pytest.raises(UnsupportedLayerError, match="called twice with different arguments") as err:
        kport.load(_tf_keras_json(tmp_path, layer))
    assert err.value.layer == "tf.math.add"


def test_tf_functions_with_keras3_operations_write_and_read_back(tmp_path):
    graph = kport.load(str(FIXTURES / "keras3_spellable.h5"))
    xs, ys = _io("keras3_spellable")
    write_keras(graph, tmp_path / "out.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "out.keras").read("config.json"))
    modules = {lc["class_name"]: lc.get("module") for lc in config["config"]["layers"]}
    assert modules["Relu"] == "keras.src.ops.nn" and modules["Mean"] == "keras.src.ops.numpy"
    again = kport.load(str(tmp_path / "out.keras"))
    mean = next(layer.op for layer in again.layers.values() if getattr(layer.op, "function", "") == "math.reduce_mean")
    assert (mean.axis, mean.keepdims) == ((1,), True)
    _check(kport.run(again, xs), ys, "kport-written .keras of TF functions")


@pytest.mark.slow
def test_tf_functions_written_for_keras3_run_in_keras3(tmp_path):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    xs, ys = _io("keras3_spellable")
    write_keras(kport.load(str(FIXTURES / "keras3_spellable.h5")), tmp_path / "out.keras")
    _check(keras.models.load_model(str(tmp_path / "out.keras"), compile=False)(xs), ys, "Keras 3")


def test_keras3_operation_with_unconverted_setting_is_refused(tmp_path):
    source = zipfile.ZipFile(FIXTURES / "keras3_ops.keras")
    config = json.loads(source.read("config.json"))
    layer = next(lc for lc in config["config"]["layers"] if lc["class_name"] == "Max")
    layer["config"]["initial"] = 1.0
    with zipfile.ZipFile(tmp_path / "patched.keras", "w") as out:
        for item in source.namelist():
            out.writestr(item, json.dumps(config) if item == "config.json" else source.read(item))
    with pytest.raises(UnsupportedLayerError, match=r"Max sets \{'initial': 1.0\}") as err:
        kport.load(str(tmp_path / "patched.keras"))
    assert err.value.layer == layer["name"]


def test_negative_take_indices_have_no_tf_keras_form(tmp_path):
    import dataclasses

    graph = kport.load(str(FIXTURES / "keras3_ops.keras"))
    take = graph.layers["take"]
    take.op = dataclasses.replace(take.op, indices=(0, -1))
    with pytest.raises(ExportError, match="negative indices") as err:
        write_h5(graph, tmp_path / "out.h5")
    assert err.value.layer == "take" and not (tmp_path / "out.h5").exists()
