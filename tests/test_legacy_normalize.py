"""Keras 0.x/1.x spellings, layouts and Theano semantics, one rule at a time (no real Keras needed)."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import kport
from kport.errors import UnsupportedLayerError
from kport.importers import keras1_legacy as legacy
from kport.importers import keras1_models as models
from kport.importers import keras1_weights as weights
from kport.ir.graph import SourceInfo
from kport.ops.base import ImportContext

K1 = ImportContext(keras_major=1, keras_version="1.2.2", backend="theano")


def test_conv2d_arguments_become_keras2():
    name, cfg = legacy.normalize_layer("Convolution2D", {
        "name": "c", "nb_filter": 4, "nb_row": 3, "nb_col": 2, "border_mode": "same", "subsample": [2, 1],
        "dim_ordering": "th", "init": "glorot_uniform", "W_regularizer": None, "bias": False}, K1)
    assert name == "Conv2D"
    assert cfg["filters"] == 4 and cfg["kernel_size"] == [3, 2] and cfg["padding"] == "same"
    assert cfg["strides"] == [2, 1] and cfg["data_format"] == "channels_first" and cfg["use_bias"] is False
    assert "nb_row" not in cfg and "border_mode" not in cfg and "kernel_initializer" in cfg


@pytest.mark.parametrize("class_name,cfg,expect_class,expect", [
    ("Dense", {"output_dim": 5}, "Dense", {"units": 5}),
    ("TimeDistributedDense", {"output_dim": 5}, "Dense", {"units": 5}),
    ("Embedding", {"input_dim": 9, "output_dim": 5, "init": "uniform", "dropout": 0.2}, "Embedding",
     {"output_dim": 5, "embeddings_initializer": "uniform"}),
    ("Dropout", {"p": 0.4}, "Dropout", {"rate": 0.4}),
    ("GaussianNoise", {"sigma": 0.1}, "GaussianNoise", {"stddev": 0.1}),
    ("MaxPooling1D", {"pool_length": 3, "stride": None, "border_mode": "valid"}, "MaxPooling1D",
     {"pool_size": 3, "strides": 3, "padding": "valid"}),
    ("Convolution1D", {"nb_filter": 2, "filter_length": 3, "subsample_length": 1}, "Conv1D",
     {"filters": 2, "kernel_size": [3], "strides": 1}),
    ("AtrousConvolution2D", {"nb_filter": 2, "nb_row": 3, "nb_col": 3, "atrous_rate": [2, 2]}, "Conv2D",
     {"dilation_rate": [2, 2]}),
    ("Deconvolution2D", {"nb_filter": 2, "nb_row": 3, "nb_col": 3, "output_shape": [None, 2, 9, 9]},
     "Conv2DTranspose", {"filters": 2}),
    ("LSTM", {"output_dim": 4, "inner_activation": "hard_sigmoid", "consume_less": "gpu", "forget_bias_init": "one",
              "dropout_W": 0.1, "dropout_U": 0.2, "inner_init": "orthogonal"}, "LSTM",
     {"units": 4, "recurrent_activation": "hard_sigmoid", "implementation": 2, "unit_forget_bias": True,
      "dropout": 0.1, "recurrent_dropout": 0.2, "recurrent_initializer": "orthogonal"}),
    ("ZeroPadding2D", {"padding": [1, 2, 3, 4], "dim_ordering": "tf"}, "ZeroPadding2D",
     {"padding": [[1, 2], [3, 4]], "data_format": "channels_last"}),
    ("Convolution3D", {"nb_filter": 2, "kernel_dim1": 1, "kernel_dim2": 2, "kernel_dim3": 3}, "Conv3D",
     {"kernel_size": [1, 2, 3]}),
])
def test_legacy_renames(class_name, cfg, expect_class, expect):
    name, out = legacy.normalize_layer(class_name, dict(cfg), K1)
    assert name == expect_class
    for key, value in expect.items():
        assert out[key] == value, key
    assert "dropout" not in out or class_name != "Embedding"


def test_keras2_configs_pass_unchanged():
    cfg = {"name": "d", "units": 3, "kernel_initializer": {"class_name": "GlorotUniform"}, "use_bias": True}
    assert legacy.normalize_layer("Dense", dict(cfg), ImportContext(keras_major=2)) == ("Dense", cfg)


def test_wrapped_layers_are_normalized_too():
    _, cfg = legacy.normalize_layer("TimeDistributed", {"layer": {"class_name": "Convolution2D", "config": {
        "nb_filter": 2, "nb_row": 3, "nb_col": 3, "dim_ordering": "th"}}}, K1)
    assert cfg["layer"]["class_name"] == "Conv2D" and cfg["layer"]["config"]["filters"] == 2


@pytest.mark.parametrize("mode,kind", [(0, "BatchNormalization"), (1, "Keras1BatchNormalization"),
                                       (2, "Keras1BatchNormalization")])
def test_batchnorm_modes(mode, kind):
    # modes 1 and 2 normalize with the data's own statistics: their own op
    assert legacy.normalize_layer("BatchNormalization", {"mode": mode, "axis": 1}, K1)[0] == kind


def test_keras1_detection_by_spelling():
    assert legacy.looks_like_keras1({"config": [{"class_name": "Dense", "config": {"output_dim": 3}}]})
    assert not legacy.looks_like_keras1({"config": {"layers": [{"class_name": "Dense", "config": {"units": 3}}]}})


@pytest.mark.parametrize("kernel,strides,pads", [
    ([3, 3], [1, 1], None),  # odd kernel, stride 1: Theano and TF agree
    ([2, 2], [1, 1], [(1, 0), (1, 0)]),  # even kernel: Theano pads more before
    ([3, 3], [2, 2], [(1, 1), (1, 1)]),  # stride 2: Theano pads symmetrically whatever the size
    ([4, 3], [1, 2], [(2, 1), (1, 1)]),
])
def test_theano_same_padding(kernel, strides, pads):
    layer = {"class_name": "Convolution2D", "config": {"nb_row": kernel[0], "nb_col": kernel[1],
                                                      "subsample": strides, "border_mode": "same"}}
    assert models._theano_same_pads(layer) == pads


def _source(version="1.2.2", backend="theano"):
    return SourceInfo(keras_version=version, backend=backend)


class _Op:
    def __init__(self, kind, **attrs):
        self.kind = kind
        self.__dict__.update(attrs)


def test_theano_th_conv_kernel_is_transposed_and_flipped():
    w = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # (out, in, rows, cols)
    (_, got), _ = weights._convert(_Op("Conv2D", data_format="channels_first", kernel_size=(4, 5)),
                                  [("c_W", w), ("c_b", np.zeros(2))], _source(), True)
    assert got.shape == (4, 5, 3, 2)
    # element (o, i, r, c) of the Theano kernel lands at (3 - r, 4 - c, i, o)
    assert got[3 - 1, 4 - 2, 0, 1] == w[1, 0, 1, 2]


def test_tensorflow_keras1_kernels_are_not_flipped():
    w = np.arange(24, dtype=np.float32).reshape(2, 2, 3, 2)
    items = [("c_W:0", w), ("c_b:0", np.zeros(2))]
    assert not weights.saved_by_theano(_source(backend=None), items)
    (_, got), _ = weights._convert(_Op("Conv2D", data_format="channels_last"), items, _source(backend=None), False)
    np.testing.assert_array_equal(got, w)


def test_keras10_conv1d_layout():
    w = np.random.RandomState(0).randn(4, 3, 5, 1).astype(np.float32)  # Keras 1.0: (filters, in, length, 1)
    (_, got), _ = weights._convert(_Op("Conv1D", kernel_size=(5,)), [("c_W", w), ("c_b", np.zeros(4))],
                                  _source("1.0.4", "tensorflow"), False)
    np.testing.assert_array_equal(got, np.transpose(w, (2, 3, 1, 0))[:, 0])


@pytest.mark.parametrize("version,early_config,is_std", [
    ("1.0.4", True, True),  # Keras 1.0.0-1.0.5 kept a standard deviation
    ("1.0.8", True, False),  # 1.0.6 switched to the variance
    ("1.2.2", False, False),
    ("1", True, True),  # no version (JSON + weights) and a 1.0.x config: the 1.0.0-1.0.5 meaning
    ("1", False, False),  # no version, config with gamma_regularizer: 1.1+
])
def test_batchnorm_running_std_meaning_by_version(version, early_config, is_std):
    eps = 1e-6
    std = np.array([0.5, 2.0], np.float32)
    items = [("g", np.ones(2)), ("b", np.zeros(2)), ("m", np.zeros(2)), ("bn_running_std", std)]
    source = SourceInfo(path="f.json", keras_version=version)
    weights._EARLY_BATCHNORMS.discard(("f.json", "bn"))
    if early_config:
        legacy.normalize_layer("BatchNormalization", {"epsilon": eps, "mode": 0},
                               ImportContext(path="f.json", layer="bn", keras_major=1))
    var = weights._convert(_Op("BatchNormalization", epsilon=eps), items, source, False, "bn")[3][1]
    x = np.array([1.0, 1.0])
    if is_std:
        np.testing.assert_allclose(x / np.sqrt(var + eps), x / (std + eps), rtol=1e-6)  # Keras 1.0's formula
    else:
        np.testing.assert_array_equal(var, std)  # already the variance


def test_keras1_lstm_gate_order():
    pieces = []
    for gate in "icfo":
        for piece, shape in (("W", (3, 2)), ("U", (2, 2)), ("b", (2,))):
            pieces.append((f"l_{piece}_{gate}", np.full(shape, "icfo".index(gate), np.float32)))
    out = dict(weights._convert(_Op("LSTM"), pieces, _source(), True))
    assert [int(out["kernel"][0, 2 * k]) for k in range(4)] == [0, 2, 1, 3]  # i, f, c, o
    assert out["recurrent_kernel"].shape == (2, 8) and out["bias"].shape == (8,)


def test_keras0_weights_file(tmp_path):
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps({"class_name": "Sequential", "config": [
        {"class_name": "Dense", "config": {"name": "d1", "output_dim": 3, "input_dim": 2, "activation": "relu"}},
        {"class_name": "Dropout", "config": {"name": "dr", "p": 0.5}},
        {"class_name": "Dense", "config": {"name": "d2", "output_dim": 1}}]}))
    rng = np.random.RandomState(1)
    w1, b1, w2, b2 = rng.randn(2, 3), rng.randn(3), rng.randn(3, 1), rng.randn(1)
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:  # Keras 0.x save_weights layout
        f.attrs["nb_layers"] = 3
        for k, params in enumerate([[w1, b1], [], [w2, b2]]):
            g = f.create_group(f"layer_{k}")
            g.attrs["nb_params"] = len(params)
            for p, arr in enumerate(params):
                g.create_dataset(f"param_{p}", data=arr.astype(np.float32))
    graph = kport.load(str(arch), weights=str(path))
    x = rng.randn(4, 2).astype(np.float32)
    want = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    np.testing.assert_allclose(kport.run(graph, [x])[0], want, rtol=1e-4, atol=1e-5)


def test_merge_sequential_becomes_functional():
    model = {"class_name": "Sequential", "config": [
        {"class_name": "Merge", "config": {"name": "m", "mode": "sum", "layers": [
            {"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {
                "name": "a", "output_dim": 2, "batch_input_shape": [None, 3]}}]},
            {"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {
                "name": "b", "output_dim": 2, "batch_input_shape": [None, 4]}}]}]}},
        {"class_name": "Dense", "config": {"name": "c", "output_dim": 1}}]}
    out = models.merge_sequential_to_functional(model)
    cfg = out["config"]
    assert out["class_name"] == "Model" and [r[0] for r in cfg["input_layers"]] == ["a_input", "b_input"]
    by_name = {lc["name"]: lc for lc in cfg["layers"]}
    assert by_name["m"]["inbound_nodes"] == [[["a", 0, 0], ["b", 0, 0]]]
    assert cfg["output_layers"] == [["c", 0, 0]]


def test_lost_dim_ordering_is_taken_from_the_model():
    model = {"class_name": "Sequential", "config": [
        {"class_name": "ZeroPadding2D", "config": {"name": "z", "padding": [1, 1]}},
        {"class_name": "Convolution2D", "config": {"name": "c", "dim_ordering": "th"}}]}
    out = models.fill_dim_ordering(model)
    assert out["config"][0]["config"]["dim_ordering"] == "th"
    mixed = {"class_name": "Sequential", "config": model["config"] + [
        {"class_name": "MaxPooling2D", "config": {"name": "p", "dim_ordering": "tf"}}]}
    assert "dim_ordering" not in models.fill_dim_ordering(mixed)["config"][0]["config"]


@pytest.mark.parametrize("k,s,rewritten", [(3, 1, False), (2, 2, True), (3, 2, True), (5, 1, True)])
def test_theano_same_pooling_rewrite(k, s, rewritten):
    layer = {"class_name": "MaxPooling2D", "config": {"name": "p", "pool_size": [k, k], "strides": [s, s],
                                                      "border_mode": "same", "dim_ordering": "th"}}
    out = models._theano_pooling(layer)
    assert (out["class_name"] == "TheanoPooling") == rewritten
    if rewritten:
        assert out["config"]["data_format"] == "channels_first" and out["config"]["mode"] == "max"


def _theano_pool_loops(x, k, s, p, mode):
    """Theano pool_2d(ignore_border=True, pad=p, mode max / average_exc_pad), cropped to ceil(n/s), NCHW."""
    n = x.shape[2:]
    out = [-(-d // s) for d in n]
    y = np.zeros(x.shape[:2] + tuple(out), np.float64)
    for i in range(out[0]):
        for j in range(out[1]):
            r0, c0 = i * s - p, j * s - p
            win = x[:, :, max(r0, 0):min(r0 + k, n[0]), max(c0, 0):min(c0 + k, n[1])]
            y[:, :, i, j] = win.max(axis=(2, 3)) if mode == "max" else win.mean(axis=(2, 3))
    return y


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("k,s,n", [(2, 2, 6), (3, 2, 7), (5, 1, 5), (4, 3, 7)])
def test_theano_pooling_op_matches_theano_rule(mode, k, s, n):
    from kport.ops.theano_pooling import TheanoPooling, theano_same_pad

    p = theano_same_pad(k, 2)
    op = TheanoPooling(mode=mode, pool_size=(k, k), strides=(s, s), pads=(p, p), data_format="channels_first")
    x = np.random.RandomState(k * 10 + s).randn(2, 3, n, n).astype(np.float32)
    got = op.reference([x], {})[0]
    out = -(-n // s)
    assert got.shape == (2, 3, out, out) and op.output_shapes([(None, 3, n, n)]) == [(None, 3, out, out)]
    np.testing.assert_allclose(got, _theano_pool_loops(x, k, s, p, mode), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("border,strides,out,expect", [
    ("valid", [2, 2], [14, 13], [1, 0]),  # (14 - 3) mod 2, (13 - 3) mod 2
    ("valid", [1, 1], [9, 9], [0, 0]),
])
def test_deconvolution_output_shape_becomes_output_padding(border, strides, out, expect):
    _, cfg = legacy.normalize_layer("Deconvolution2D", {
        "nb_filter": 2, "nb_row": 3, "nb_col": 3, "subsample": strides, "border_mode": border,
        "dim_ordering": "tf", "output_shape": [None] + out + [2]}, K1)
    assert cfg["output_padding"] == expect and "output_shape" not in cfg


def test_theano_same_strided_deconvolution_is_refused():
    with pytest.raises(UnsupportedLayerError, match="Deconvolution2D"):
        legacy.normalize_layer("Deconvolution2D", {
            "nb_filter": 2, "nb_row": 3, "nb_col": 3, "subsample": [2, 2], "border_mode": "same",
            "dim_ordering": "th", "output_shape": [None, 2, 12, 12]}, K1)


def test_keras0_json_and_weights_th_cnn(tmp_path):
    # Keras 0.3 to_json(): layer classes in "name", no layer names; save_weights: layer_{k}/param_{p}
    arch = tmp_path / "k03.json"
    arch.write_text(json.dumps({"name": "Sequential", "loss": "mse", "layers": [
        {"name": "Convolution2D", "nb_filter": 2, "nb_row": 2, "nb_col": 3, "init": "uniform", "activation": "relu",
         "border_mode": "valid", "subsample": [1, 1], "dim_ordering": "th", "input_shape": [1, 4, 5],
         "cache_enabled": True},
        {"name": "Flatten", "cache_enabled": True},
        {"name": "Dense", "output_dim": 2, "init": "uniform", "activation": "linear", "input_dim": None}]}))
    rng = np.random.RandomState(3)
    w_conv, b_conv = rng.randn(2, 1, 2, 3), rng.randn(2)  # th layout (out, in, rows, cols)
    w_dense, b_dense = rng.randn(2 * 3 * 3, 2), rng.randn(2)
    path = tmp_path / "k03_weights.h5"
    with h5py.File(path, "w") as f:
        f.attrs["nb_layers"] = 3
        for k, params in enumerate([[w_conv, b_conv], [], [w_dense, b_dense]]):
            g = f.create_group(f"layer_{k}")
            g.attrs["nb_params"] = len(params)
            for p, arr in enumerate(params):
                g.create_dataset(f"param_{p}", data=arr.astype(np.float32))
    graph = kport.load(str(arch), weights=str(path))
    x = rng.randn(2, 1, 4, 5).astype(np.float32)
    # Theano: a true convolution (kernel reversed), NCHW, flattened CHW
    conv = np.zeros((2, 2, 3, 3))
    for i in range(3):
        for j in range(3):
            patch = x[:, :, i:i + 2, j:j + 3]
            conv[:, :, i, j] = np.einsum("bchw,ochw->bo", patch, w_conv[:, :, ::-1, ::-1])
    want = np.maximum(conv + b_conv[None, :, None, None], 0).reshape(2, -1) @ w_dense + b_dense
    np.testing.assert_allclose(kport.run(graph, [x])[0], want, rtol=1e-4, atol=1e-5)
    assert [layer.name for layer in graph.layers.values()] == ["convolution2d_1", "flatten_1", "dense_1"]


def test_theano_same_convlstm_with_even_kernel_is_refused():
    model = {"class_name": "Sequential", "config": [{"class_name": "ConvLSTM2D", "config": {
        "name": "cl", "nb_filter": 2, "nb_row": 2, "nb_col": 3, "border_mode": "same", "dim_ordering": "th",
        "batch_input_shape": [None, 3, 2, 6, 6]}}]}
    with pytest.raises(UnsupportedLayerError, match="ConvLSTM2D"):
        models.normalize_model(model, K1)
    model["config"][0]["config"]["nb_row"] = 3  # odd kernels, stride 1: Theano and TF agree
    assert models.normalize_model(model, K1)["config"][0]["class_name"] == "ConvLSTM2D"
