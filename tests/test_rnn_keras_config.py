"""Writing recurrent layers back as Keras configs: config -> op -> config round trips, and
(slow, real tf_keras) whole recurrent models, masks included, written as tf.keras .h5 files that
compute the same (tf_keras derives the masks again from Embedding / Masking)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kport
from kport.errors import ExportError
from kport.ops.base import ImportContext
from kport.ops.registry import op_for_keras_class
from kport.ops.rnn_common import spell_activation

RNN = Path(__file__).resolve().parents[1] / "fixtures" / "rnn"
# every fixture model but the CuDNN one (cuDNN kernels need a GPU to run) and the ones whose masked
# semantics tf.keras cannot reproduce (refused, see below)
REFUSED = {"keras3_mha_masked": "fully masked rows", "keras2_masking_bidirectional": "masked steps"}
WRITABLE = sorted(p.stem for p in RNN.glob("*.h5") if (RNN / f"{p.stem}.npz").exists()
                  and p.stem not in ("tf_keras_cudnn", "realworld_rnn_121", *REFUSED))
CTX = {"keras3": ImportContext(keras_major=3, keras_version="3.10", flavor="keras3"),
       "tf.keras": ImportContext(keras_major=2, keras_version="2.21", flavor="tf.keras")}


def _ops_of(name: str):
    graph = kport.load(RNN / f"{name}.h5")
    return [layer.op for layer in graph.layers.values()
            if layer.op.kind in ("LSTM", "GRU", "SimpleRNN", "Bidirectional", "TimeDistributed", "RNN")]


@pytest.mark.parametrize("flavor", ["keras3", "tf.keras"])
@pytest.mark.parametrize("name", ["tf_keras_bidirectional_modes", "keras3_rnn_cells", "tf_keras_encoder_decoder",
                                  "keras2_defaults", "keras3_masked_merge"])
def test_config_round_trip(name, flavor):
    ops = _ops_of(name)
    assert ops
    for op in ops:
        try:
            cfg = op.keras_config(flavor)
            for key in ("activation", "recurrent_activation"):  # top-level spelling is the writer's step
                if key in cfg:
                    cfg[key] = spell_activation(cfg[key], flavor)
        except ExportError:  # Keras 1/2 hard_sigmoid has no Keras 3 spelling: refused, not misread
            assert flavor == "keras3" and name == "keras2_defaults"
            continue
        again = op_for_keras_class(op.kind).from_keras(cfg, CTX[flavor])
        if flavor == "tf.keras" and hasattr(op, "zero_output_for_mask"):
            again.zero_output_for_mask = op.zero_output_for_mask  # not a tf.keras argument
        assert again == op


def test_keras3_config_refuses_keras2_hard_sigmoid_inside_bidirectional():
    op = op_for_keras_class("Bidirectional").from_keras(
        {"layer": {"class_name": "LSTM", "config": {"units": 2, "recurrent_activation": "hard_sigmoid"}}},
        CTX["tf.keras"])
    with pytest.raises(ExportError, match="hard_sigmoid"):
        op.keras_config("keras3")


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_tf_keras_writer_refuses_masked_semantics_it_cannot_keep(name, tmp_path):
    from kport.exporters.keras.targets import write_h5_target

    with pytest.raises(ExportError, match=REFUSED[name]):
        write_h5_target(kport.load(RNN / f"{name}.h5"), tmp_path / "model.h5")


@pytest.mark.slow
@pytest.mark.parametrize("name", WRITABLE)
def test_written_tf_keras_h5_computes_the_same(name, tmp_path):
    pytest.importorskip("tf_keras")
    from kport.exporters.keras.targets import run_h5_file, write_h5_target

    _check_written_file(name, tmp_path / "model.h5", write_h5_target, run_h5_file)


def _check_written_file(name, path, write, run):
    """Writes fixture `name` with `write`, runs the file with `run` (real Keras) and compares the outputs."""
    graph = kport.load(RNN / f"{name}.h5")
    data = np.load(RNN / f"{name}.npz")
    inputs = [data[f"input_{i}"] for i in range(sum(k.startswith("input_") for k in data.files))]
    expected = [data[f"output_{i}"] for i in range(sum(k.startswith("output_") for k in data.files))]
    write(graph, path)
    got = run(path, {s.name: a for s, a in zip(graph.inputs, inputs)}, graph.outputs)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4)


# Keras 3 itself cannot rebuild a masked Concatenate named 'concatenate' (its mask op takes the same auto
# name); Keras 2's recurrent hard_sigmoid is written with rescaled gate weights (exporters/keras/recurrent_gates.py)
K3_SKIPPED = {"keras3_masked_merge", "tf_keras_masked_merge"}
K3_WRITABLE = [n for n in WRITABLE if n not in K3_SKIPPED and n != "tf_keras_mha_masked"]


@pytest.mark.slow
@pytest.mark.parametrize("name", K3_WRITABLE)
def test_written_keras3_file_computes_the_same(name, tmp_path):
    pytest.importorskip("keras")
    from kport.exporters.keras.targets import run_keras_file, write_keras_target

    _check_written_file(name, tmp_path / "model.keras", write_keras_target, run_keras_file)


@pytest.mark.parametrize("name,match", [("tf_keras_mha_masked", "fully masked rows")])
def test_keras3_writer_refuses_what_keras3_would_compute_differently(name, match, tmp_path):
    from kport.exporters.keras.targets import write_keras_target

    with pytest.raises(ExportError, match=match):
        write_keras_target(kport.load(RNN / f"{name}.h5"), tmp_path / "model.keras")


@pytest.mark.slow
def test_rnn_over_different_cells_imports_and_writes_back(tmp_path):
    """A stack of different cells: a `.keras` file keeps them under `cell/cells/<class>[_n]`, which is
    not alphabetical order (gru_cell sorts before lstm_cell); kport binds them in the cells' order."""
    keras = pytest.importorskip("keras")
    from kport.exporters.keras.targets import run_keras_file, write_keras_target

    cells = [keras.layers.LSTMCell(4), keras.layers.GRUCell(3), keras.layers.LSTMCell(2)]
    inp = keras.Input((5, 3))
    model = keras.Model(inp, keras.layers.RNN(cells, return_sequences=True)(inp))
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    for ext in ("keras", "h5"):
        model.save(tmp_path / f"model.{ext}")
        graph = kport.load(tmp_path / f"model.{ext}")
        feeds = {graph.inputs[0].name: x}
        np.testing.assert_allclose(kport.run(graph, feeds)[0], expected, atol=1e-5, rtol=1e-4)
        written = tmp_path / f"written_from_{ext}.keras"
        write_keras_target(graph, written)
        np.testing.assert_allclose(run_keras_file(written, feeds, graph.outputs)[0], expected, atol=1e-5, rtol=1e-4)
        np.testing.assert_allclose(kport.run(kport.load(written), feeds)[0], expected, atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_tf_keras_rnn_over_different_cells_imports(tmp_path):
    keras = pytest.importorskip("tf_keras")

    inp = keras.Input((5, 3))
    model = keras.Model(inp, keras.layers.RNN([keras.layers.LSTMCell(4), keras.layers.GRUCell(3)])(inp))
    x = np.random.default_rng(1).normal(size=(2, 5, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    for ext in ("h5", "keras"):
        model.save(tmp_path / f"model.{ext}")
        graph = kport.load(tmp_path / f"model.{ext}")
        np.testing.assert_allclose(kport.run(graph, {graph.inputs[0].name: x})[0], expected, atol=1e-5, rtol=1e-4)
