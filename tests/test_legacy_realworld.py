"""Real legacy files made by other people (../shared/realworld; skipped when absent).

Only the dl4j LSTM case carries reference outputs. For the arange-kernel Conv2D files
the reference is a true convolution (what Theano computes) written out in numpy here;
for the rest, the numpy reference, ONNX Runtime and the channels_last layout must agree.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import kport
from kport.errors import UnsafeContentError
from kport.ir.layout import channels_last_axes

REALWORLD = Path(__file__).resolve().parent.parent.parent / "shared" / "realworld"


def _file(rel: str) -> Path:
    path = REALWORLD / rel
    if not path.exists():
        pytest.skip(f"{path} is absent (real-world files live outside the repository)")
    return path


def _inputs(graph, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randn(*[2 if d is None else d for d in s.shape]).astype(np.float32) for s in graph.inputs]


def _onnx(graph, xs):
    ort = pytest.importorskip("onnxruntime")
    from kport.exporters.onnx.export import export_onnx

    sess = ort.InferenceSession(export_onnx(graph).SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {s.name: x for s, x in zip(graph.inputs, xs)})


def _true_convolution_nhwc(x, w_theano_saved, b):
    """Theano's conv2d: a real convolution, i.e. cross-correlation with the kernel reversed."""
    kh, kw = w_theano_saved.shape[:2]
    out = np.zeros((x.shape[0], x.shape[1] - kh + 1, x.shape[2] - kw + 1, w_theano_saved.shape[3]), np.float64)
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            patch = x[:, i:i + kh, j:j + kw, :].astype(np.float64)
            out[:, i, j, :] = np.einsum("bhwc,hwco->bo", patch, w_theano_saved[::-1, ::-1])
    return out + b


@pytest.mark.parametrize("rel,kernel", [("keras1-theano/conv2d_theano_1.h5", "convolution2d_1/convolution2d_1_W"),
                                        ("keras2-theano/conv2d_theano_2.h5", "conv2d_1/conv2d_1/kernel")])
def test_theano_arange_conv_is_a_true_convolution(rel, kernel):
    path = _file(rel)
    graph = kport.load(str(path))
    with h5py.File(path, "r") as f:
        layer = kernel.split("/")[0]
        w = f["model_weights"][layer][kernel.split("/", 1)[1]][()]
        b = f["model_weights"][layer][[n for n in f["model_weights"][layer].attrs["weight_names"]][1]][()]
    x = _inputs(graph)[0]
    want = _true_convolution_nhwc(x, w, b)
    np.testing.assert_allclose(kport.run(graph, [x])[0], want, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(_onnx(graph, [x])[0], want, rtol=1e-4, atol=1e-3)


def test_dl4j_keras1_lstm_matches_its_recorded_predictions():
    graph = kport.load(str(_file("keras1-theano/simple_lstm_th_keras_1_model.h5")))
    with h5py.File(_file("keras1-theano/simple_lstm_th_keras_1_inputs_and_outputs.h5"), "r") as f:
        x, want = f["inputs/lstm_input_1"][()], f["predictions/dense_1"][()]
    np.testing.assert_allclose(kport.run(graph, [x])[0], want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_onnx(graph, [x])[0], want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("rel", ["keras1-theano/bidirectional_lstm_theano_1.h5",
                                 "keras1-theano/embedding_conv1d_theano_1.h5", "keras2-theano/lstm_theano_2.h5"])
def test_legacy_theano_files_import_and_backends_agree(rel):
    graph = kport.load(str(_file(rel)))
    xs = _inputs(graph)
    vocab = [layer.op.input_dim for layer in graph.layers.values() if layer.op.kind == "Embedding"]
    if vocab:  # token ids inside the vocabulary
        xs = [np.random.RandomState(1).randint(0, vocab[0], size=x.shape).astype(np.float32) for x in xs]
    np.testing.assert_allclose(_onnx(graph, xs)[0], kport.run(graph, xs)[0], rtol=1e-4, atol=1e-5)


def test_keras2cpp_th_cnn_json_with_weights_and_layout():
    arch, weights = _file("keras2cpp/my_nn_arch.json"), _file("keras2cpp/my_nn_weights.h5")
    graph = kport.load(str(arch), weights=str(weights))
    assert graph.source.keras_major == 1
    xs = _inputs(graph)
    want = kport.run(graph, xs)[0]
    np.testing.assert_allclose(_onnx(graph, xs)[0], want, rtol=1e-4, atol=1e-5)
    moved = kport.load(str(arch), weights=str(weights), layout="channels_last")
    assert moved.moved_inputs
    x_nhwc = [np.transpose(x, channels_last_axes(x.ndim)) for x in xs]
    np.testing.assert_allclose(kport.run(moved, x_nhwc)[0], want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("rel", ["keras1-th-configs/cnn_th_config.json",
                                 "keras1-th-configs/mnist_cnn_th_keras_1_config.json"])
def test_keras1_th_architectures_import(rel):
    graph = kport.load(str(_file(rel)))
    assert graph.source.keras_major == 1 and not graph.has_weights
    assert any(getattr(layer.op, "data_format", None) == "channels_first" for layer in graph.layers.values())


def test_commaai_lambda_is_refused_by_name():
    with pytest.raises(UnsafeContentError, match="lambda_1") as info:
        kport.load(str(_file("keras1-th-configs/commaai_steering_angle.json")))
    assert "--trust-lambda" in str(info.value)
