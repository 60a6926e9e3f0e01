"""Semantics a target Keras cannot spell are written as exact constructions (kport/exporters/keras/lowering.py).

Each case is one layer whose meaning the target Keras would misread: a
recurrent hard_sigmoid of the other era (rescaled gate weights), ThresholdedReLU
for Keras 3 (ReLU(threshold)), Keras 3-only activations for tf.keras (plain
layers or a TFOpLambda). The oracle is kport's numpy reference of the source
layer; inputs sit on the edges (hard_sigmoid knees, x == theta, shrink
thresholds). Fast tests re-import the written file with kport; slow ones load
it with real Keras 3 / tf_keras.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import kport
from kport.errors import ExportError
from kport.ops.activation import Activation
from kport.ops.bidirectional import Bidirectional
from kport.ops.conv_lstm1d import ConvLSTM1D
from kport.ops.dense import Dense
from kport.ops.gru import GRU
from kport.ops.lstm import LSTM
from kport.ops.rnn import RNN
from kport.ops.simple_rnn import SimpleRNN
from kport.ops.thresholded_relu import ThresholdedReLU
from kport.ops.time_distributed import TimeDistributed
from layer_harness import assert_close, run_reference, single_layer_graph

# the hard_sigmoid each target misreads (what the source file meant)
MISREAD = {"keras3": "hard_sigmoid", "tf.keras": "hard_sigmoid_v3"}
SUFFIX = {"keras3": ".keras", "tf.keras": ".h5"}
STEPS, FEATURES = 5, 3


def _knee_values() -> np.ndarray:
    """Values at and around both hard_sigmoid knees (+-2.5, +-3), zero and far out."""
    knees = np.array([2.5, 3.0, 0.5, 1.0], np.float32)
    near = np.concatenate([knees, np.nextafter(knees, np.float32(0)), np.nextafter(knees, np.float32(9))])
    return np.concatenate([near, -near, [0.0, 0.1, 7.5, -7.5]]).astype(np.float32)


def _recurrent_cases(flavor: str) -> dict:
    act = MISREAD[flavor]
    lstm = LSTM(units=4, recurrent_activation=act, return_sequences=True)
    return {
        "lstm": lstm,
        "gru_reset_after": GRU(units=4, recurrent_activation=act, activation=act, reset_after=True),
        "gru_reset_before": GRU(units=4, recurrent_activation=act, reset_after=False, return_sequences=True),
        "simple_rnn": SimpleRNN(units=3, activation=act, go_backwards=True),
        "bidirectional": Bidirectional(forward=lstm, backward=LSTM(units=4, recurrent_activation=act,
                                                                   return_sequences=True, go_backwards=True)),
        "rnn_stack": RNN(cells=(LSTM(units=3, recurrent_activation=act), LSTM(units=2, recurrent_activation=act))),
        "conv_lstm1d": ConvLSTM1D(filters=2, kernel_size=(3,), padding="same", recurrent_activation=act),
    }


def _recurrent_graph(flavor: str, name: str):
    op = _recurrent_cases(flavor)[name]
    shape = (None, STEPS, 6, 2) if name == "conv_lstm1d" else (None, STEPS, FEATURES)
    rng = np.random.default_rng(len(name))
    weights = {k: rng.normal(scale=0.9, size=s).astype(np.float32) for k, s in op.weight_shapes([shape]).items()}
    graph = single_layer_graph(op, [shape], weights, name=name)
    x = rng.normal(scale=2.0, size=(4,) + shape[1:]).astype(np.float32)
    return graph, [x]


def _knee_lstm_graph(flavor: str):
    """One unit whose gate pre-activations are the input itself: the inputs walk over the knees."""
    op = LSTM(units=1, recurrent_activation=MISREAD[flavor], return_sequences=True)
    weights = {"kernel": np.ones((1, 4), np.float32), "recurrent_kernel": np.zeros((1, 4), np.float32),
               "bias": np.zeros(4, np.float32)}
    x = _knee_values().reshape(-1, 1, 1)
    return single_layer_graph(op, [(None, 1, 1)], weights, name="knees"), [x]


# tf.keras: every Keras 3 activation with a construction, on an Activation layer
TF_KERAS_ACTIVATIONS = ("hard_sigmoid_v3", "hard_silu", "hard_tanh", "log_softmax", "gelu_tanh", "celu", "log_sigmoid",
                        "tanh_shrink", "hard_shrink", "soft_shrink", "squareplus", "sparse_sigmoid", "sparse_plus",
                        "glu")


def _activation_graph(name: str):
    x = np.tile(_knee_values(), (2, 1))
    x[1] *= 0.37
    return single_layer_graph(Activation(activation=name), [(None, x.shape[1])], {}, name=f"act_{name}"), [x]


def _dense_graph(act: str):
    """A Dense layer carrying the activation (written as linear + the construction; glu halves its output)."""
    rng = np.random.default_rng(3)
    weights = {"kernel": rng.normal(scale=2.0, size=(6, 10)).astype(np.float32),
               "bias": rng.normal(size=10).astype(np.float32)}
    x = rng.normal(size=(8, 6)).astype(np.float32)
    return single_layer_graph(Dense(units=10, activation=act), [(None, 6)], weights, name="dense"), [x]


def _time_distributed_graph(flavor: str):
    """The activation of a layer inside TimeDistributed (written linear, the construction after the wrapper)."""
    act = "hard_sigmoid" if flavor == "keras3" else "hard_silu"
    rng = np.random.default_rng(5)
    weights = {"kernel": rng.normal(scale=3.0, size=(FEATURES, 4)).astype(np.float32),
               "bias": rng.normal(size=4).astype(np.float32)}
    op = TimeDistributed(layer=Dense(units=4, activation=act))
    x = rng.normal(size=(3, STEPS, FEATURES)).astype(np.float32)
    return single_layer_graph(op, [(None, STEPS, FEATURES)], weights, name="per_step"), [x]


def _thresholded_graph():
    theta = np.float32(0.3)
    x = np.array([[theta, np.nextafter(theta, np.float32(1)), np.nextafter(theta, np.float32(0)), 0.0, -1.0, 2.0]],
                 np.float32)
    return single_layer_graph(ThresholdedReLU(theta=0.3), [(None, 6)], {}, name="thresholded"), [x]


def _cases():
    cases = []
    for flavor in ("keras3", "tf.keras"):
        cases += [pytest.param(flavor, lambda f=flavor, n=name: _recurrent_graph(f, n), id=f"{flavor}-{name}")
                  for name in _recurrent_cases(flavor)]
        cases.append(pytest.param(flavor, lambda f=flavor: _knee_lstm_graph(f), id=f"{flavor}-lstm_knees"))
        for act in (["hard_sigmoid"] if flavor == "keras3" else ["log_softmax", "glu"]):
            cases.append(pytest.param(flavor, lambda a=act: _dense_graph(a), id=f"{flavor}-dense_{act}"))
        cases.append(pytest.param(flavor, lambda f=flavor: _time_distributed_graph(f), id=f"{flavor}-time_distributed"))
    cases += [pytest.param("tf.keras", lambda a=a: _activation_graph(a), id=f"tf.keras-{a}")
              for a in TF_KERAS_ACTIVATIONS]
    cases.append(pytest.param("keras3", lambda: _activation_graph("hard_sigmoid"), id="keras3-hard_sigmoid"))
    cases.append(pytest.param("keras3", _thresholded_graph, id="keras3-thresholded_relu"))
    return cases


def _write(graph, flavor: str, path) -> None:
    if flavor == "keras3":
        from kport.exporters.keras.keras3_file import write_keras

        write_keras(graph, path)
    else:
        from kport.exporters.keras.legacy_h5_file import write_h5

        write_h5(graph, path)


def _check(got: list, expected: list, what: str) -> None:
    assert len(got) == len(expected), what
    for i, (a, b) in enumerate(zip(got, expected)):
        assert_close(np.asarray(a), b, f"{what} output {i}")


@pytest.mark.parametrize("flavor,make", _cases())
def test_written_file_reads_back_as_the_same_model(flavor, make, tmp_path):
    graph, xs = make()
    before = {name: (layer.op, {k: v.copy() for k, v in layer.weights.items()}) for name, layer in graph.layers.items()}
    expected = run_reference(graph, xs)
    path = tmp_path / f"model{SUFFIX[flavor]}"
    _write(graph, flavor, path)
    for name, (op, weights) in before.items():  # the source graph is never rewritten in place
        assert graph.layers[name].op == op
        assert all(np.array_equal(graph.layers[name].weights[k], v) for k, v in weights.items())
    _check(kport.run(kport.load(path), xs, backend="numpy"), expected, f"{flavor} file read back by kport")


@pytest.mark.slow
@pytest.mark.parametrize("flavor,make", _cases())
def test_real_keras_runs_the_written_file(flavor, make, tmp_path):
    pytest.importorskip("tensorflow")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras" if flavor == "keras3" else "tf_keras")
    graph, xs = make()
    path = tmp_path / f"model{SUFFIX[flavor]}"
    _write(graph, flavor, path)
    model = keras.models.load_model(str(path), compile=False)
    out = model(xs[0] if len(xs) == 1 else xs, training=False)
    got = [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]
    _check(got, run_reference(graph, xs), f"{flavor} file run by {keras.__name__} {keras.__version__}")


@pytest.mark.parametrize("flavor", ["keras3", "tf.keras"])
def test_lstm_activation_of_the_other_era_is_still_refused(flavor, tmp_path):
    # an LSTM's activation also acts on the cell state, which no weight scale reaches
    op = LSTM(units=2, activation=MISREAD[flavor])
    weights = {k: np.zeros(s, np.float32) for k, s in op.weight_shapes([(None, 3, 2)]).items()}
    graph = single_layer_graph(op, [(None, 3, 2)], weights, name="cell_state")
    with pytest.raises(ExportError, match="cell_state"):
        _write(graph, flavor, tmp_path / f"model{SUFFIX[flavor]}")
    assert not (tmp_path / f"model{SUFFIX[flavor]}").exists()


def test_negative_theta_is_refused_for_keras3(tmp_path):
    graph = single_layer_graph(ThresholdedReLU(theta=-0.5), [(None, 4)], {}, name="negative_theta")
    with pytest.raises(ExportError, match="negative threshold"):
        _write(graph, "keras3", tmp_path / "model.keras")
    assert not (tmp_path / "model.keras").exists()


def _wrapped_recurrent(kind: str, **attrs):
    """A recurrent layer inside Bidirectional or RNN (a stack), whose activations act inside the cell."""
    inner = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}
    if kind == "RNN":
        return RNN(cells=(LSTM(units=2, **attrs), GRU(units=3)))
    return Bidirectional(forward=inner[kind](units=2, **attrs), backward=inner[kind](units=2, go_backwards=True,
                                                                                    **attrs))


@pytest.mark.parametrize("kind,attrs", [("LSTM", {"activation": "hard_silu"}),
                                        ("GRU", {"recurrent_activation": "log_softmax"}),
                                        ("SimpleRNN", {"activation": "hard_tanh"}),
                                        ("RNN", {"activation": "log_softmax"})])
def test_wrapped_recurrent_activation_tf_keras_lacks_is_refused(kind, attrs, tmp_path):
    # a nested config's activation goes through the same check as a top-level one: no construction can
    # replace an activation that acts inside the recurrence, so the writer refuses, naming the wrapper
    op = _wrapped_recurrent(kind, **attrs)
    weights = {k: np.zeros(s, np.float32) for k, s in op.weight_shapes([(None, STEPS, FEATURES)]).items()}
    graph = single_layer_graph(op, [(None, STEPS, FEATURES)], weights, name="wrapped")
    with pytest.raises(ExportError, match=r"wrapped.*has no exact tf.keras spelling"):
        _write(graph, "tf.keras", tmp_path / "model.h5")
    assert not (tmp_path / "model.h5").exists()


@pytest.mark.slow
def test_keras3_wrapped_activations_convert_to_h5_or_refuse(tmp_path):
    """`kport convert --to h5` of Keras 3 models with Keras-3-only activations inside wrappers: a file
    tf_keras loads with Keras's outputs (TimeDistributed: the construction follows the wrapper) or a
    clear refusal and no file (a recurrent layer's activation inside Bidirectional / RNN)."""
    import subprocess
    import sys

    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    tf_keras = pytest.importorskip("tf_keras")
    layers = keras.layers
    x = np.random.default_rng(7).normal(size=(2, STEPS, FEATURES)).astype(np.float32) * 3
    written = {"log_softmax": lambda t: layers.TimeDistributed(layers.Dense(4, activation="log_softmax"))(t),
               "hard_silu": lambda t: layers.TimeDistributed(layers.Dense(4, activation="hard_silu"))(t)}
    refused = {"bidirectional": lambda t: layers.Bidirectional(layers.LSTM(2, activation="hard_silu"))(t),
               "rnn": lambda t: layers.RNN([layers.GRUCell(2, recurrent_activation="log_softmax")])(t)}
    for name, build in {**written, **refused}.items():
        inp = keras.Input((STEPS, FEATURES))
        model = keras.Model(inp, build(inp))
        src, dst = tmp_path / f"{name}.keras", tmp_path / f"{name}.h5"
        model.save(src)
        res = subprocess.run([sys.executable, "-m", "kport.cli.main", "convert", str(src), "--to", "h5"],
                             capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if name in refused:
            assert res.returncode != 0 and "has no exact tf.keras spelling" in res.stderr, res.stderr
            assert "Traceback" not in res.stderr and model.layers[-1].name in res.stderr, res.stderr
            assert not dst.exists()
            continue
        assert res.returncode == 0 and "PASS" in res.stdout, res.stderr
        got = tf_keras.models.load_model(str(dst), compile=False)(x, training=False)
        _check([np.asarray(got)], [model.predict(x, verbose=0)], f"{name} written by kport, run by tf_keras")
