"""Recurrent option combinations the Keras fixtures do not cover one by one: onnxruntime vs numpy.

The numpy reference is checked against real Keras in test_ops_rnn.py; here a seeded sample of
combinations (kind x direction x outputs x initial states x mask x activations) checks that the
ONNX export (native operators or the unrolled form) computes the same.
"""
from __future__ import annotations

import itertools
import random
import zlib

import numpy as np
import pytest

from kport.ir.graph import Graph, Layer, Node, TensorSpec
from kport.ops.bidirectional import Bidirectional
from kport.ops.cudnn_gru import CuDNNGRU
from kport.ops.cudnn_lstm import CuDNNLSTM
from kport.ops.gru import GRU
from kport.ops.lstm import LSTM
from kport.ops.simple_rnn import SimpleRNN
from tests.rnn_cases import assert_close, run_onnx

B, T, F, U = 3, 4, 2, 3


def make_op(kind: str, **kw):
    if kind == "SimpleRNN":
        return SimpleRNN(units=U, **kw)
    if kind == "LSTM":
        return LSTM(units=U, **kw)
    if kind == "CuDNNLSTM":
        return CuDNNLSTM(units=U, **{k: v for k, v in kw.items() if "activation" not in k})
    if kind == "CuDNNGRU":
        return CuDNNGRU(units=U, **{k: v for k, v in kw.items() if "activation" not in k})
    return GRU(units=U, reset_after=kind == "GRU_after", **kw)


def random_weights(op, rng) -> dict:
    return {k: rng.normal(scale=0.6, size=s).astype(np.float32) for k, s in op.weight_shapes([(None, T, F)]).items()}


def one_node_graph(op, weights, inputs, call, dynamic: bool) -> Graph:
    g = Graph(name="combo")
    names = []
    for i, a in enumerate(inputs):
        shape = (None,) + a.shape[1:]
        if dynamic and (i == 0 or i in call.get("tensor:mask", [])):
            shape = (None, None) + a.shape[2:]
        spec = TensorSpec(f"in_{i}", shape, "bool" if a.dtype == bool else "float32")
        g.inputs.append(spec)
        g.tensors[spec.name] = spec
        names.append(spec.name)
    g.layers["l"] = Layer("l", op, weights)
    outs = [f"l:0:{j}" for j in range(op.num_outputs(len(names)))]
    g.nodes.append(Node("l", names, outs, call))
    for t, s in zip(outs, op.output_shapes([g.tensors[n].shape for n in names])):
        g.tensors[t] = TensorSpec(t, s)
    g.outputs = outs
    return g


KINDS = ["SimpleRNN", "LSTM", "GRU_after", "GRU_before", "CuDNNLSTM", "CuDNNGRU", "Bidirectional"]
GRID = list(itertools.product(KINDS, [False, True], [False, True], [False, True], [False, True], [False, True],
                              ["tanh", "selu"], ["sigmoid", "hard_sigmoid", "hard_sigmoid_v3"]))
SAMPLE = random.Random(7).sample(GRID, 90)


@pytest.mark.parametrize("kind,backwards,sequences,state,initial,masked,act,rec_act", SAMPLE,
                         ids=["-".join(map(str, c)) for c in SAMPLE])
def test_onnx_matches_numpy(kind, backwards, sequences, state, initial, masked, act, rec_act):
    pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(zlib.crc32(repr((kind, backwards, sequences, state, initial, masked, act)).encode()))
    kw = dict(go_backwards=backwards, return_sequences=sequences, return_state=state, activation=act)
    inner_kind = "LSTM" if kind == "Bidirectional" else kind
    if inner_kind != "SimpleRNN":
        kw["recurrent_activation"] = rec_act
    inner = make_op(inner_kind, **kw)
    if kind == "Bidirectional":
        backward = make_op(inner_kind, **dict(kw, go_backwards=not backwards))
        op = Bidirectional(forward=inner, backward=backward, merge_mode="concat")
        weights = {f"forward_{k}": v for k, v in random_weights(inner, rng).items()}
        weights.update({f"backward_{k}": v for k, v in random_weights(backward, rng).items()})
        n_states = 2 * inner.n_states
    else:
        op, weights, n_states = inner, random_weights(inner, rng), inner.n_states
    x = rng.normal(size=(B, T, F)).astype(np.float32)
    inputs, call = [x], {}
    if initial:
        inputs += [rng.normal(size=(B, U)).astype(np.float32) for _ in range(n_states)]
        call["tensor:initial_state"] = list(range(1, 1 + n_states))
    if masked:
        call["tensor:mask"] = [len(inputs)]
        inputs.append(np.array([[1, 0, 1, 1], [0, 0, 0, 0], [0, 1, 1, 0]], dtype=bool))  # row 1: all masked
    expected = op.reference_node(inputs, weights, call)
    native = act != "selu"  # masks keep the native operator (and a dynamic time axis)
    got = run_onnx(one_node_graph(op, weights, inputs, call, dynamic=native), inputs, 17)
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        assert_close(a, b, f"output {i}")
