"""Whether a layer passes an incoming Keras mask on survives .kport and the Keras writers.

Identity, Rescaling and Normalization pass masks on in Keras 3 and drop them in
tf.keras / Keras 2; the importer records which on the op (`propagates_mask`). The
.kport file keeps that flag (format 2), and the Keras 3 writer stops a mask a
Keras 3 class would pass on where the source model dropped it (an identity
transpose operation). Oracles: real tf_keras and Keras 3 (slow tests).
"""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import kport
from kport.ir import kport_file
from kport.ir.graph import Graph, Layer, Node, TensorSpec
from kport.ops.identity import Identity
from kport.ops.rescaling import Rescaling

IDS = np.array([[0, 3, 5, 0, 2], [1, 0, 0, 4, 0], [6, 6, 0, 1, 3]], dtype="int32")


def _flagged_graph() -> Graph:
    """x -> Identity (drops) -> Identity (passes) -> Rescaling (no flag): three flag states."""
    g = Graph(name="flags")
    g.inputs = [TensorSpec("x", (None, 5, 4), "float32")]
    g.tensors = {t: TensorSpec(t, (None, 5, 4), "float32") for t in ("x", "a", "b", "c")}
    drops, passes = Identity(), Identity()
    drops.propagates_mask, passes.propagates_mask = False, True
    for name, op, src, dst in [("drops", drops, "x", "a"), ("passes", passes, "a", "b"),
                               ("plain", Rescaling(scale=2.0), "b", "c")]:
        g.layers[name] = Layer(name, op)
        g.nodes.append(Node(name, [src], [dst]))
    g.outputs = ["c"]
    return g


def test_kport_file_keeps_the_mask_propagation_flag(tmp_path):
    kport.save(_flagged_graph(), tmp_path / "a.kport")
    again = kport.load(tmp_path / "a.kport")
    assert {n: vars(l.op).get("propagates_mask") for n, l in again.layers.items()} == {
        "drops": False, "passes": True, "plain": None}
    kport.save(again, tmp_path / "b.kport")
    assert (tmp_path / "a.kport").read_bytes() == (tmp_path / "b.kport").read_bytes()


def test_format_1_kport_file_still_loads(tmp_path):
    # a file written before the flag was saved: no "propagates_mask" keys, format_version 1
    doc, arrays = kport_file.to_document(_flagged_graph())
    doc["format_version"] = 1
    for entry in doc["layers"]:
        entry.pop("propagates_mask", None)
    with zipfile.ZipFile(tmp_path / "old.kport", "w") as z:
        z.writestr(kport_file.DOC, json.dumps(doc))
        z.writestr(kport_file.WEIGHTS, b"")
    old = kport.load(tmp_path / "old.kport")
    assert list(old.layers) == ["drops", "passes", "plain"]
    assert all("propagates_mask" not in vars(l.op) for l in old.layers.values())


def _tf_keras_model(tf_keras, kind: str):
    tf_keras.utils.set_random_seed(3)
    ids = tf_keras.Input((5,), dtype="int32")
    x = tf_keras.layers.Embedding(7, 4, mask_zero=True)(ids)
    mid = {"Identity": lambda: tf_keras.layers.Identity(),
           "Rescaling": lambda: tf_keras.layers.Rescaling(2.0, 0.5),
           "Normalization": lambda: tf_keras.layers.Normalization(mean=0.1, variance=2.0)}[kind]()
    out = tf_keras.layers.LSTM(3, return_sequences=True)(mid(x))
    return tf_keras.Model(ids, out)


def _close(got, want, what):
    got = np.asarray(got)
    assert got.shape == want.shape, what
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4, err_msg=what)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["Identity", "Rescaling", "Normalization"])
def test_tf_keras_masked_model_through_kport_file_to_h5_and_keras(tmp_path, kind):
    # tf.keras drops the mask at `kind`: after .kport, the .h5 must still drop it (Bug 1) and the
    # .keras file must stop it though Keras 3's class passes it on (Bug 2)
    tf_keras = pytest.importorskip("tf_keras")
    keras = pytest.importorskip("keras")
    model = _tf_keras_model(tf_keras, kind)
    want = model(IDS).numpy()
    src = tmp_path / "m.h5"
    model.save(src)
    kport.save(kport.load(str(src)), tmp_path / "m.kport")
    graph = kport.load(tmp_path / "m.kport")
    assert vars(graph.layers[model.layers[2].name].op).get("propagates_mask") is False
    kport.convert(graph, str(tmp_path / "out.h5"), to="h5")
    kport.convert(graph, str(tmp_path / "out.keras"), to="keras")
    _close(tf_keras.models.load_model(str(tmp_path / "out.h5"), compile=False)(IDS), want, f"{kind} tf_keras")
    _close(keras.models.load_model(str(tmp_path / "out.keras"), compile=False)(IDS), want, f"{kind} Keras 3")


@pytest.mark.slow
def test_cli_converts_tf_keras_masked_identity_to_keras3_exactly(tmp_path):
    # Bug 2 as reported: Embedding(mask_zero) -> Identity -> LSTM from tf.keras, `kport convert --to keras`
    tf_keras = pytest.importorskip("tf_keras")
    keras = pytest.importorskip("keras")
    from click.testing import CliRunner

    from kport.cli.main import cli

    model = _tf_keras_model(tf_keras, "Identity")
    want = model(IDS).numpy()
    model.save(tmp_path / "m.h5")
    dst = tmp_path / "m.keras"
    result = CliRunner().invoke(cli, ["convert", str(tmp_path / "m.h5"), "--to", "keras", "-o", str(dst)])
    assert result.exit_code == 0, result.output
    got = np.asarray(keras.models.load_model(str(dst), compile=False)(IDS))
    assert np.array_equal(got, want), np.abs(got - want).max()  # identical arithmetic: same float32 bits


@pytest.mark.slow
def test_keras3_masked_identity_through_kport_file_to_h5(tmp_path):
    # Keras 3's Identity passes the mask on: after .kport, the tf.keras file must too (Activation('linear'))
    tf_keras = pytest.importorskip("tf_keras")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(3)
    ids = keras.Input((5,), dtype="int32")
    x = keras.layers.Identity()(keras.layers.Embedding(7, 4, mask_zero=True)(ids))
    model = keras.Model(ids, keras.layers.LSTM(3, return_sequences=True)(x))
    want = np.asarray(model(IDS))
    model.save(tmp_path / "m.keras")
    kport.save(kport.load(str(tmp_path / "m.keras")), tmp_path / "m.kport")
    graph = kport.load(tmp_path / "m.kport")
    kport.convert(graph, str(tmp_path / "out.h5"), to="h5")
    _close(tf_keras.models.load_model(str(tmp_path / "out.h5"), compile=False)(IDS), want, "Identity tf_keras")
