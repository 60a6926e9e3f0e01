"""Keras-1-only layers written as constructions of built-in layers (exporters/keras/constructions_legacy.py).

The legacy fixtures (test_legacy_fixtures.py) check each kind against Theano's recorded outputs
through real Keras 3 and tf_keras. These cases reach what the fixtures do not: other ranks,
data formats, window sizes and strides of Theano 'same' pooling, all-negative inputs (an edge
copy must never lose to a zero), SReLU sharing an axis of unknown size, cosines near Keras 1's
1e-7 floor, Keras 1 BatchNormalization modes 1/2 at other ranks and axes. Real Keras loads each written file and must agree with the op's numpy reference
(the oracle the fixtures hold to Theano); kport must read the file back to the same outputs.
"""
from __future__ import annotations

import numpy as np
import pytest
from layer_harness import single_layer_graph

import kport
from kport.errors import ExportError
from kport.exporters.keras.lowering import lower_for_keras
from kport.ops.highway import Highway
from kport.ops.keras1_batch_normalization import Keras1BatchNormalization
from kport.ops.maxout_dense import MaxoutDense
from kport.ops.merge import Merge
from kport.ops.parametric_softplus import ParametricSoftplus
from kport.ops.srelu import SReLU
from kport.ops.theano_pooling import TheanoPooling, theano_same_pad

ATOL, RTOL = 1e-5, 1e-4
rng = np.random.default_rng(61)


def _f32(*shape, scale=1.0, offset=0.0):
    return (rng.standard_normal(shape) * scale + offset).astype(np.float32)


def _pooling(mode, rank, k, s, size, cf):
    op = TheanoPooling(mode=mode, pool_size=(k,) * rank, strides=(s,) * rank, pads=(theano_same_pad(k, rank),) * rank,
                       data_format="channels_first" if cf else "channels_last")
    shape = (2, 3, *(size,) * rank) if cf else (2, *(size,) * rank, 3)
    # all negative: a zero pad that took part in a max would win
    return op, {}, [_f32(*shape, offset=-4.0) if mode == "max" else _f32(*shape)]


def _srelu_unknown_steps():
    op = SReLU(shared_axes=(1,))
    w = {"t_left": _f32(1, 4, scale=0.3), "a_left": np.array([[0.2, -0.5, 1.5, 0.0]], np.float32),
         "t_right": _f32(1, 4), "a_right": _f32(1, 4)}
    return op, w, [_f32(2, 5, 4, scale=2.0)]


def _psoftplus_channels_first():
    op = ParametricSoftplus(shared_axes=(2, 3))
    return op, {"alphas": _f32(2, 1, 1), "betas": _f32(2, 1, 1)}, [_f32(2, 2, 3, 3, scale=3.0)]


def _maxout_no_bias():
    return MaxoutDense(units=3, nb_feature=5, use_bias=False), {"kernel": _f32(5, 4, 3)}, [_f32(4, 4)]


def _highway_hard_sigmoid():
    # Keras 1's hard_sigmoid (clip(0.2x + 0.5)) inside the transform: lowered again for Keras 3
    op = Highway(activation="hard_sigmoid", use_bias=True)
    w = {"kernel": _f32(5, 5), "carry_kernel": _f32(5, 5), "bias": _f32(5), "carry_bias": _f32(5)}
    return op, w, [_f32(4, 5, scale=3.0)]


def _cos_near_floor():
    a, b = _f32(6, 4), _f32(6, 4)
    norms = np.array([1e-9, 5e-8, 9e-8, 2e-7, 1.0, 30.0], np.float32)  # |a||b| around Keras 1's 1e-7 floor
    a = a / np.linalg.norm(a, axis=1, keepdims=True) * np.sqrt(norms)[:, None]
    b = b / np.linalg.norm(b, axis=1, keepdims=True) * np.sqrt(norms)[:, None]
    b[4] = 3 * a[4]  # parallel: cos exactly 1
    return Merge(mode="cos", dot_axes=(1, 1)), {}, [a.astype(np.float32), b.astype(np.float32)]


def _batchnorm(mode, axis, shape, epsilon):
    n = shape[axis]
    w = {"gamma": _f32(n), "beta": _f32(n), "running_mean": _f32(n), "running_std": np.abs(_f32(n))}
    return Keras1BatchNormalization(mode=mode, axis=axis, epsilon=epsilon), w, [_f32(*shape, scale=2.0, offset=1.0)]


CASES = {
    "pool-max-2d-k2s1-cl": lambda: _pooling("max", 2, 2, 1, 5, False),
    "pool-max-2d-k4s3-cf": lambda: _pooling("max", 2, 4, 3, 7, True),
    "pool-avg-2d-k4s3-cf": lambda: _pooling("avg", 2, 4, 3, 7, True),
    "pool-avg-2d-k5s2-cl": lambda: _pooling("avg", 2, 5, 2, 6, False),
    "pool-max-1d-k3s2-cf": lambda: _pooling("max", 1, 3, 2, 8, True),
    "pool-avg-1d-k2s2-cl": lambda: _pooling("avg", 1, 2, 2, 7, False),
    "pool-max-3d-k3s2-cl": lambda: _pooling("max", 3, 3, 2, 5, False),
    "pool-avg-3d-k2s1-cf": lambda: _pooling("avg", 3, 2, 1, 4, True),
    "srelu-unknown-steps": _srelu_unknown_steps,
    "psoftplus-channels-first": _psoftplus_channels_first,
    "maxout-no-bias": _maxout_no_bias,
    "highway-hard-sigmoid": _highway_hard_sigmoid,
    "cos-near-floor": _cos_near_floor,
    "cos-unknown-n": _cos_near_floor,
    # mode 1: per sample over the last axis, / (std + eps); mode 2: statistics over the batch too
    "bn-mode1-3d": lambda: _batchnorm(1, -1, (4, 3, 5), 1e-3),
    "bn-mode2-4d-axis1": lambda: _batchnorm(2, 1, (3, 2, 4, 4), 1e-2),
}


def _graph(case):
    op, w, xs = CASES[case]()
    shapes = [(None, *x.shape[1:]) for x in xs]
    if case == "srelu-unknown-steps":
        shapes = [(None, None, 4)]
    if case == "cos-unknown-n":
        shapes = [(None, None), (None, None)]
    graph = single_layer_graph(op, shapes, w, name="legacy")
    graph.source.path = f"{case}.h5"
    return graph, xs


def _close(got, want, what):
    got = np.asarray(got).reshape(want.shape)
    excess = np.abs(got - want) - (ATOL + RTOL * np.abs(want))
    k = int(np.argmax(excess))
    assert excess.flat[k] <= 0, f"{what}: worst at {np.unravel_index(k, want.shape)}: {got.flat[k]!r} vs {want.flat[k]!r}"


@pytest.mark.parametrize("case", list(CASES))
def test_construction_computes_the_layer_and_leaves_the_graph_alone(case):
    graph, xs = _graph(case)
    before = {name: {k: v.copy() for k, v in layer.weights.items()} for name, layer in graph.layers.items()}
    want = kport.run(graph, xs)[0]
    for flavor in ("keras3", "tf.keras"):
        lowered = lower_for_keras(graph, flavor)
        assert "legacy" not in lowered.layers or lowered.layers["legacy"].op.kind != graph.layers["legacy"].op.kind
        _close(kport.run(lowered, xs)[0], want, f"{case} construction for {flavor}")
    assert list(graph.layers) == ["legacy"] and len(graph.nodes) == 1
    for name, weights in before.items():
        for key, value in weights.items():
            np.testing.assert_array_equal(graph.layers[name].weights[key], value)


@pytest.mark.slow
@pytest.mark.parametrize("flavor", ["keras3", "tf.keras"])
@pytest.mark.parametrize("case", list(CASES))
def test_real_keras_loads_the_construction_and_kport_reads_it_back(case, flavor, tmp_path):
    graph, xs = _graph(case)
    want = kport.run(graph, xs)[0]
    if flavor == "keras3":
        keras = pytest.importorskip("keras")
        from kport.exporters.keras.keras3_file import write_keras

        path = tmp_path / "model.keras"
        write_keras(graph, path)
        model = keras.models.load_model(path, compile=False)
    else:
        keras = pytest.importorskip("tf_keras")
        from kport.exporters.keras.legacy_h5_file import write_h5

        path = tmp_path / "model.h5"
        write_h5(graph, path)
        model = keras.models.load_model(path, compile=False)
    got = model(xs if len(xs) > 1 else xs[0], training=False)
    _close(got, want, f"{case} run by real {flavor}")
    _close(kport.run(kport.load(str(path)), xs)[0], want, f"{case} read back from the {flavor} file")


def test_srelu_varying_along_an_unknown_axis_is_refused_by_name(tmp_path):
    from kport.exporters.keras.keras3_file import write_keras

    op = SReLU(shared_axes=())
    w = {name: _f32(1, 4) for name in ("t_left", "a_left", "t_right", "a_right")}
    graph = single_layer_graph(op, [(None, None, 4)], w, name="srelu_x")
    graph.source.path = "old.h5"
    graph.layers["srelu_x"].weights = {k: np.broadcast_to(v, (3, 4)).copy() for k, v in w.items()}
    with pytest.raises(ExportError) as err:
        write_keras(graph, tmp_path / "out.keras")
    assert err.value.layer == "srelu_x" and "old.h5" in str(err.value) and "fixed input size" in str(err.value)
    assert not list(tmp_path.iterdir())


def test_cos_of_three_axis_inputs_keeps_its_refusal(tmp_path):
    from kport.exporters.keras.legacy_h5_file import write_h5

    graph = single_layer_graph(Merge(mode="cos", dot_axes=(2, 2)), [(None, 2, 3), (None, 2, 3)], {}, name="cos3")
    graph.source.path = "old.h5"
    with pytest.raises(ExportError) as err:
        write_h5(graph, tmp_path / "out.h5")
    assert err.value.layer == "cos3" and "old.h5" in str(err.value)
    assert not list(tmp_path.iterdir())
