"""Core layers (activations, dropout family, reshaping, normalization, merges) against real Keras.

Fixtures come from fixtures/make_layer_cases_core.py (Keras 3 and tf_keras);
no TensorFlow is needed here (tests marked slow rebuild the real Keras layer
from kport's config). Each case checks the numpy reference, the ONNX hook in
onnxruntime at opsets 13, 17, 18 (Reduce axes and Split become inputs) and
21, also with every non-batch size symbolic, and the PyTorch hook eager and
under TorchScript.
"""
from __future__ import annotations

import numpy as np
import pytest

from kport.errors import ShapeError, UnsupportedLayerError
from kport.ops import activation_fns
from kport.ops.base import ImportContext
from kport.ops.registry import op_for_keras_class
from tests.layer_harness import FIXTURES, PRODUCERS, assert_close, load_cases, run_onnx, run_reference, \
    single_layer_graph

KINDS = ["Identity", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
         "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Flatten", "Reshape", "Permute",
         "RepeatVector", "BatchNormalization", "LayerNormalization", "Embedding", "Normalization", "Rescaling",
         "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "ReLU",
         "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU", "Activation"]
CASES = [c for kind in KINDS for c in load_cases(kind)]
IDS = [f"{c.kind_file}[{c.index}]-{c.producer}-{c.note}".replace(" ", "_") for c in CASES]
FN_CASES = load_cases("activation_fns")
FN_IDS = [f"{c.producer}-{c.note}".replace(" ", "") for c in FN_CASES]


def case_graph(case):
    """The one-layer graph of a case, with each input's own dtype and the op's output dtype."""
    op = case.op()
    graph = single_layer_graph(op, [(None, *x.shape[1:]) for x in case.inputs], case.weights,
                               name=case.config.get("name", "layer"), call=case.call,
                               dtypes=[str(x.dtype) for x in case.inputs])
    out_dtype = getattr(op, "output_dtype", None) or str(case.inputs[0].dtype)
    for t in graph.outputs:
        graph.tensors[t].dtype = out_dtype
    return graph


def test_core_fixtures_are_small():
    total = sum((FIXTURES / f"{k}.npz").stat().st_size for k in [*KINDS, "activation_fns"])
    assert total < 1_000_000


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reference_matches_keras(case):
    graph = case_graph(case)
    got = run_reference(graph, case.inputs)
    for j, (a, b) in enumerate(zip(got, case.outputs)):
        assert a.dtype == np.float32, f"output {j} is {a.dtype}"
        assert_close(a, b, f"{case.class_name} output {j}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_shapes_match_keras(case):
    graph = case_graph(case)
    for t, y in zip(graph.outputs, case.outputs):
        assert graph.tensors[t].shape == (None, *y.shape[1:])


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_onnx_matches_keras(case, opset):
    pytest.importorskip("onnxruntime")
    graph = case_graph(case)
    got = run_onnx(graph, case.inputs, opset)
    for j, (a, b) in enumerate(zip(got, case.outputs)):
        assert_close(a, b, f"{case.class_name} onnx opset {opset} output {j}")


# ---- activation functions called with parameters -----------------------------------
def _fn(case) -> tuple[str, dict]:
    name, params = case.config["name"], dict(case.config["params"])
    keras_major = PRODUCERS[case.producer].keras_major
    if params.pop("approximate", False):
        name = "gelu_approximate"
    return activation_fns.canonical(name, keras_major), params


@pytest.mark.parametrize("case", FN_CASES, ids=FN_IDS)
def test_activation_fn_numpy(case):
    name, params = _fn(case)
    assert_close(activation_fns.apply(name, case.inputs[0], **params), case.outputs[0], f"{name} {params}")


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
@pytest.mark.parametrize("case", FN_CASES, ids=FN_IDS)
def test_activation_fn_onnx(case, opset):
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    from kport.exporters.onnx.builder import OnnxGraph

    name, params = _fn(case)
    g = OnnxGraph(opset)
    y = activation_fns.to_onnx(g, name, "x", **params)
    nodes = [helper.make_node(n.op_type, n.inputs, n.outputs, **n.attrs) for n in g.nodes]
    nodes.append(helper.make_node("Identity", [y], ["y"]))
    x = case.inputs[0]
    graph = helper.make_graph(nodes, "fn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(a, k) for k, a in g.initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert_close(session.run(None, {"x": x})[0], case.outputs[0], f"{name} {params} opset {opset}")


def test_every_activation_is_covered_by_a_fixture():
    seen = {activation_fns.canonical(c.config["activation"], PRODUCERS[c.producer].keras_major)
            for c in load_cases("Activation")}
    seen |= {_fn(c)[0] for c in FN_CASES}
    assert set(activation_fns.NUMPY) - seen == set()


# ---- config spellings of other eras -------------------------------------------------
KERAS1 = ImportContext(keras_major=1, keras_version="1", flavor="keras", backend="theano")
KERAS21 = ImportContext(keras_major=2, keras_version="2.1.6", flavor="keras", backend="tensorflow")
KERAS224 = ImportContext(keras_major=2, keras_version="2.2.4", flavor="keras", backend="tensorflow")


def _op(class_name, config, ctx):
    return op_for_keras_class(class_name).from_keras(config, ctx)


def test_flatten_before_keras_2_2_flattens_as_stored():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    for ctx in (KERAS1, KERAS21):
        op = _op("Flatten", {"data_format": "channels_first"}, ctx)
        assert op.data_format == "channels_last"
        np.testing.assert_array_equal(op.reference([x], {})[0], x.reshape(2, -1))
    op = _op("Flatten", {"data_format": "channels_first"}, KERAS224)
    np.testing.assert_array_equal(op.reference([x], {})[0], x.transpose(0, 2, 1).reshape(2, -1))


def test_keras1_spellings():
    assert _op("Dropout", {"p": 0.25}, KERAS1).rate == 0.25
    assert _op("GaussianNoise", {"sigma": 0.2}, KERAS1).stddev == 0.2
    assert _op("SpatialDropout2D", {"p": 0.1, "dim_ordering": "th"}, KERAS1).data_format == "channels_first"
    assert _op("LeakyReLU", {"alpha": 0.1}, KERAS1).negative_slope == pytest.approx(0.1)
    assert _op("LeakyReLU", {}, KERAS1).negative_slope == pytest.approx(0.3)


def test_keras1_batchnorm_modes():
    op = _op("BatchNormalization", {"mode": 0, "axis": 1, "epsilon": 1e-3}, KERAS1)
    assert op.weight_shapes([(None, 3, 4, 4)]) == {n: (3,) for n in ("gamma", "beta", "moving_mean",
                                                                      "moving_variance")}
    with pytest.raises(UnsupportedLayerError, match="mode=2"):
        _op("BatchNormalization", {"mode": 2, "axis": 1}, KERAS1)


def test_tf_keras_relu_string_numbers():
    # tf.keras get_config() holds numpy scalars that some JSON writers turn into strings
    op = _op("ReLU", {"max_value": None, "negative_slope": "0.0", "threshold": "0.0"}, PRODUCERS["tf_keras"])
    assert (op.max_value, op.negative_slope, op.threshold) == (None, 0.0, 0.0)


def test_dot_normalize_floor_follows_writer():
    assert _op("Dot", {"axes": 1, "normalize": True}, PRODUCERS["keras3"]).norm_floor == 1e-14
    assert _op("Dot", {"axes": 1, "normalize": True}, PRODUCERS["tf_keras"]).norm_floor == 1e-12
    assert _op("Dot", {"axes": 1, "normalize": True}, KERAS1).norm_floor == 1e-7


def test_hard_sigmoid_follows_writer():
    x = np.linspace(-4, 4, 9, dtype=np.float32)
    old = _op("Activation", {"activation": "hard_sigmoid"}, PRODUCERS["tf_keras"]).reference([x], {})[0]
    new = _op("Activation", {"activation": "hard_sigmoid"}, PRODUCERS["keras3"]).reference([x], {})[0]
    np.testing.assert_allclose(old, np.clip(0.2 * x + 0.5, 0, 1))
    np.testing.assert_allclose(new, np.clip(x / 6 + 0.5, 0, 1), rtol=1e-6)


def test_shape_errors_name_the_problem():
    with pytest.raises(ShapeError, match="cannot reshape"):
        _op("Reshape", {"target_shape": [5, -1]}, KERAS224).output_shapes([(None, 12)])
    with pytest.raises(ShapeError, match="more than one"):
        _op("Reshape", {"target_shape": [-1, -1]}, KERAS224)
    with pytest.raises(ShapeError, match="Permute dims"):
        _op("Permute", {"dims": [1, 1]}, KERAS224).output_shapes([(None, 2, 3)])
    with pytest.raises(ShapeError, match="incompatible"):
        _op("Add", {}, KERAS224).output_shapes([(None, 3), (None, 4)])
    with pytest.raises(ShapeError, match="at most 2"):
        _op("Subtract", {}, KERAS224).output_shapes([(None, 3)] * 3)
    with pytest.raises(ShapeError, match="batch"):
        _op("Concatenate", {"axis": 0}, KERAS224).output_shapes([(None, 3)] * 2)


def test_batchnorm_last_axis_exports_mul_add_with_vectors():
    from kport.exporters.onnx.export import build_graph

    op = _op("BatchNormalization", {"axis": -1}, PRODUCERS["keras3"])
    w = [np.ones(4, np.float32), np.zeros(4, np.float32), np.zeros(4, np.float32), np.ones(4, np.float32)]
    g = build_graph(single_layer_graph(op, [(None, 5, 5, 4)], w, name="bn"), 17)
    assert [n.op_type for n in g.nodes] == ["Mul", "Add"]
    assert g.initializers["bn/scale"].shape == (4,) and g.initializers["bn/shift"].shape == (4,)


# ---- writing configs back ------------------------------------------------------------
FLAVOR = {"keras3": "keras3", "tf_keras": "tf.keras"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_keras_config_reads_back_to_the_same_op(case):
    op = case.op()
    ctx = PRODUCERS[case.producer]
    assert type(op).from_keras(op.keras_config(FLAVOR[case.producer]), ctx) == op


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_written_config_rebuilds_the_keras_layer(case):
    """kport's config, given to the real Keras class with the same weights, computes the same outputs."""
    pytest.importorskip("tensorflow")
    import importlib

    from kport.exporters.keras.layer_config import layer_class_and_config

    keras = importlib.import_module("keras" if case.producer == "keras3" else "tf_keras")
    graph = case_graph(case)
    layer = graph.layers[graph.nodes[0].layer]
    class_name, config = layer_class_and_config(layer, graph, FLAVOR[case.producer])
    if case.producer == "tf_keras":
        config["dtype"] = "float32"
    rebuilt = getattr(keras.layers, class_name).from_config(config)
    tensors = [x for x in case.inputs if x.dtype != bool]
    kwargs = {"mask": case.inputs[-1]} if case.inputs[-1].dtype == bool else {}
    args = tensors if len(tensors) > 1 else tensors[0]
    rebuilt(args, **kwargs)
    if case.weights:
        rebuilt.set_weights(case.weights)
        if class_name == "Normalization":
            rebuilt.finalize_state()
    assert_close(np.asarray(rebuilt(args, **kwargs)), case.outputs[0], f"rebuilt {class_name}")


# ---- symbolic sizes ---------------------------------------------------------------------
# kinds that need some non-batch sizes known (weights span them); their cases keep those static
STATIC_AXES = {"PReLU": "every unshared axis sizes alpha"}


def dynamic_graph(case):
    """The case's graph with every non-batch size unknown, except where the op needs it."""
    graph = case_graph(case)
    if case.class_name in STATIC_AXES:
        return None
    op = graph.layers[graph.nodes[0].layer].op
    shapes = [(None,) * len(x.shape) for x in case.inputs]
    dynamic = single_layer_graph(op, shapes, graph.layers[graph.nodes[0].layer].weights,
                                 name=graph.nodes[0].layer, call=case.call,
                                 dtypes=[str(x.dtype) for x in case.inputs])
    for t in dynamic.outputs:
        dynamic.tensors[t].dtype = graph.tensors[t].dtype
    return dynamic


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_onnx_with_unknown_sizes_matches_keras(case):
    pytest.importorskip("onnxruntime")
    graph = dynamic_graph(case)
    if graph is None:
        pytest.skip(STATIC_AXES[case.class_name])
    for opset in (13, 18):
        got = run_onnx(graph, case.inputs, opset)
        for j, (a, b) in enumerate(zip(got, case.outputs)):
            assert_close(a, b, f"{case.class_name} dynamic opset {opset} output {j}")


def test_embedding_refuses_out_of_range_ids():
    op = _op("Embedding", {"input_dim": 4, "output_dim": 2}, PRODUCERS["keras3"])
    table = {"embeddings": np.zeros((4, 2), np.float32)}
    with pytest.raises(ShapeError, match="outside"):
        op.reference([np.array([[1, 4]], np.int32)], table)
    with pytest.raises(ShapeError, match="outside"):
        op.reference([np.array([[-1, 2]], np.int32)], table)


# ---- PyTorch ------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_torch_matches_keras(case):
    """The generated PyTorch source, eager and TorchScript-compiled, computes what Keras did."""
    torch = pytest.importorskip("torch")
    from kport.runtime.torch_backend import build_module

    module = build_module(case_graph(case))
    args = [torch.from_numpy(np.ascontiguousarray(x)) for x in case.inputs]
    scripted = torch.jit.script(module)
    with torch.no_grad():
        for name, net in (("eager", module), ("torchscript", scripted)):
            out = net(*args)
            out = out if isinstance(out, tuple) else (out,)
            for j, (a, b) in enumerate(zip(out, case.outputs)):
                assert_close(a.numpy(), b, f"{case.class_name} torch {name} output {j}")


@pytest.mark.parametrize("case", [c for c in CASES if c.weights], ids=[i for c, i in zip(CASES, IDS) if c.weights])
def test_torch_state_dict_round_trip_is_exact(case):
    """Keras weights -> torch state_dict -> Keras weights is bit-exact (dtypes included)."""
    from kport.exporters.torch.state_dict import from_state_dict, to_state_dict

    graph = case_graph(case)
    back = from_state_dict(graph, to_state_dict(graph))
    for name, layer in graph.layers.items():
        for key, value in layer.weights.items():
            got = back.layers[name].weights[key]
            assert got.dtype == value.dtype and np.array_equal(got, value), f"{name}/{key}"


def test_thresholded_relu_is_built_as_relu_for_keras3_writers():
    from kport.errors import ExportError

    op = _op("ThresholdedReLU", {"theta": 0.5}, PRODUCERS["tf_keras"])
    assert op.keras_config("tf.keras") == {"theta": 0.5}
    assert op.keras_construction("tf.keras", (None, 4), {}) is None
    assert op.keras_construction("keras3", (None, 4), {}) == [("ReLU", {"threshold": 0.5}, {})]
    with pytest.raises(ExportError, match="Keras 3"):  # no class of its own there
        op.keras_config("keras3")


def test_torch_batchnorm_training_step_follows_keras2_rule():
    """In train mode the module normalizes with batch statistics and moves the stored ones (Keras 2.2 rule)."""
    torch = pytest.importorskip("torch")
    from kport.runtime.torch_backend import build_module

    rng = np.random.default_rng(3)
    op = _op("BatchNormalization", {"axis": 1, "momentum": 0.9, "epsilon": 1e-3}, PRODUCERS["keras3"])
    w = [rng.uniform(0.5, 1.5, 3).astype(np.float32) for _ in range(4)]
    net = build_module(single_layer_graph(op, [(None, 3, 4)], w))
    x = rng.standard_normal((5, 3, 4)).astype(np.float32) * 2 + 1
    net.train()
    y = net(torch.from_numpy(x)).detach().numpy()
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    n = 5 * 4
    gamma, beta, moving_mean, moving_var = w
    want = (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-3) * gamma[:, None] + beta[:, None]
    assert_close(y, want, "train-mode output")
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    assert_close(next(v for k, v in state.items() if k.endswith("moving_mean")), 0.9 * moving_mean + 0.1 * mean)
    assert_close(next(v for k, v in state.items() if k.endswith("moving_variance")),
                 0.9 * moving_var + 0.1 * var * n / (n - 1.001))


# ---- Keras 3 operations saved under layer names ------------------------------------------
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("backend", ["numpy", "onnx13", "onnx18", "torch"])
def test_keras3_operations_with_constants_match_keras(backend):
    """`x * 2.0 + 1.0`, `2.0 - x`, array operands, ops.reshape/softmax/concatenate from a real .keras file."""
    import kport

    graph = kport.load(str(FIXTURES / "keras3_operations.keras"))
    data = np.load(FIXTURES / "keras3_operations.npz")
    xs = [data["a"], data["b"]]
    if backend == "numpy":
        got = run_reference(graph, xs)
    elif backend.startswith("onnx"):
        pytest.importorskip("onnxruntime")
        got = run_onnx(graph, xs, int(backend[4:]))
    else:
        pytest.importorskip("torch")
        from kport.runtime.torch_backend import TorchRuntime

        got = TorchRuntime(graph).run(xs)
    assert len(got) == 7
    for i, y in enumerate(got):
        assert_close(y, data[f"output_{i}"], f"{backend} output {i}")


def test_keras3_operations_that_mean_something_else_are_refused():
    ctx = PRODUCERS["keras3"]
    with pytest.raises(UnsupportedLayerError, match="keras.ops.average"):
        _op("Average", {"name": "average", "axis": 1}, ctx)
    with pytest.raises(UnsupportedLayerError, match="keras.ops.dot"):
        _op("Dot", {"name": "dot"}, ctx)
    with pytest.raises(UnsupportedLayerError, match="batch axis first"):
        _op("Reshape", {"name": "reshape", "newshape": [6, 2]}, ctx)
    assert _op("Reshape", {"name": "reshape", "newshape": [-1, 12]}, ctx).target_shape == (12,)


def test_embedding_lora_factors_merge_on_load():
    """A Keras 3 LoRA Embedding: the h5 lists embeddings + factors; kport merges them as Keras does."""
    import json

    case = load_cases("Embedding_lora")[0]
    with np.load(FIXTURES / "Embedding_lora.npz") as data:
        names = json.loads(str(data["cases"]))[0]["weights"]
    op = case.op()
    assert "lora_rank" not in op.keras_config("keras3")
    merged = op.load_weights(list(zip(names, case.weights)), [(None, 5)])
    assert [n.split("/")[-1] for n, _ in merged] == ["embeddings"]
    graph = single_layer_graph(op, [(None, 5)], [a for _, a in merged], dtypes=["int32"])
    assert_close(run_reference(graph, case.inputs)[0], case.outputs[0], "lora reference")
    assert_close(run_onnx(graph, case.inputs, 17)[0], case.outputs[0], "lora onnx")


@pytest.mark.parametrize("case", FN_CASES, ids=FN_IDS)
def test_activation_fn_torch(case):
    """The PyTorch expression of each parameterized activation computes what Keras did."""
    torch = pytest.importorskip("torch")
    from kport.exporters.torch.activations import to_torch
    from kport.exporters.torch.emitter import TorchEmitter

    name, params = _fn(case)
    t = TorchEmitter()
    y = to_torch(t, name, "x", **params)
    body = "".join(f"    {line}\n" for line in t.forward_lines)
    source = ("import torch\nimport torch.nn.functional as F\n" + "".join(t.helpers.values())
              + f"\ndef fn(x):\n{body}    return {y}\n")
    scope: dict = {}
    exec(compile(source, f"<activation {name}>", "exec"), scope)
    got = scope["fn"](torch.from_numpy(case.inputs[0])).numpy()
    assert_close(got, case.outputs[0], f"torch {name} {params}")


@pytest.mark.parametrize("kind,config", [("Identity", {}), ("Rescaling", {"scale": 0.5}), ("Normalization", {})])
def test_mask_passes_these_layers_in_keras3_only(kind, config):
    """Embedding(mask_zero) -> layer -> GlobalAveragePooling1D: Keras 3 hands the mask on, tf.keras drops it."""
    from kport.importers.masks import add_implicit_masks
    from kport.ir.graph import Graph, Layer, Node, TensorSpec

    for producer, keeps in (("keras3", True), ("tf_keras", False)):
        ctx = PRODUCERS[producer]
        g = Graph(kind="Sequential")
        g.inputs = [TensorSpec("ids", (None, 5), "int32")]
        ops = [("emb", _op("Embedding", {"input_dim": 4, "output_dim": 3, "mask_zero": True}, ctx), (None, 5, 3)),
               ("mid", _op(kind, config, ctx), (None, 5, 3)),
               ("gap", _op("GlobalAveragePooling1D", {}, ctx), (None, 3))]
        g.tensors["ids"] = g.inputs[0]
        source = "ids"
        for name, op, shape in ops:
            g.layers[name] = Layer(name, op)
            g.nodes.append(Node(name, [source], [name]))
            g.tensors[name] = TensorSpec(name, shape)
            source = name
        g.outputs = ["gap"]
        add_implicit_masks(g, ctx)
        gap = next(n for n in g.nodes if n.layer == "gap")
        assert ("tensor:mask" in gap.call) == keeps, producer


@pytest.mark.slow
def test_glu_activation_halves_the_declared_last_axis(tmp_path):
    """glu as a layer's `activation` halves the last axis: the declared shapes (and the ONNX file's outputs)
    must say so, and every runtime must compute Keras's result. (Keras 3 itself declares the
    pre-activation size, so the model keeps the glu layers as outputs.)"""
    keras = pytest.importorskip("keras")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    import kport
    from kport.exporters.onnx.export import export_onnx

    inp = keras.Input((6, 4))
    outs = [keras.layers.Dense(10, activation="glu")(inp),
            keras.layers.Conv1D(8, 3, padding="same", activation="glu")(inp),
            keras.layers.Conv1D(8, 3, data_format="channels_first", activation="glu")(inp)]  # its last axis is time
    model = keras.Model(inp, outs)
    x = np.random.default_rng(0).normal(size=(2, 6, 4)).astype("float32")
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "glu.keras")
    graph = kport.load(tmp_path / "glu.keras")
    assert [graph.tensors[t].shape for t in graph.outputs] == [(None, 6, 5), (None, 6, 4), (None, 8, 1)]
    onnx_outs = export_onnx(graph).graph.output
    assert [[d.dim_value for d in o.type.tensor_type.shape.dim[1:]] for o in onnx_outs] == [[6, 5], [6, 4], [8, 1]]
    for backend in ("numpy", "onnxruntime", "torch"):
        got = kport.run(graph, {graph.inputs[0].name: x}, backend=backend)
        for a, b in zip(got, expected):
            assert_close(np.asarray(a), b, f"{backend} glu")
    with pytest.raises(ShapeError, match="odd"):
        op_for_keras_class("Dense").from_keras({"units": 5, "activation": "glu"}, ImportContext()).output_shapes([(None, 3)])
