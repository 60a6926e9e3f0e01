"""Lambda layers and Keras 1 function-mode Merges: refused by default, traced into IR with trust.

Fixtures (fixtures/lambda/make_lambda_fixtures.py) were made by real Keras 1.2.2 and 2.2.4 on
Theano (Python 3.11 and Python 2.7 bytecode), tf_keras 2.21 and Keras 3, each with the
framework's own outputs. With `trust_lambda=True` every case matches them on the numpy
reference, onnxruntime and torch; the traced graph holds ordinary ops only.
Malicious code is refused (Python 2) or never reaches builtins or the OS (Python 3).
"""
from __future__ import annotations

import base64
import json
import marshal
import warnings
from pathlib import Path

import numpy as np
import pytest

import kport
from kport.errors import FormatError, UnsafeContentError, UnsupportedLayerError
from kport.importers.lambda_trace import LambdaTrustWarning
from layer_harness import assert_close, run_onnx

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lambda"
PRODUCERS = {"keras122": "h5", "keras224": "h5", "keras122_py27": "json", "tf_keras": "h5", "keras3": "keras"}
CASES = [(p, f.stem) for p, ext in PRODUCERS.items() for f in sorted((FIXTURES / p).glob(f"*.{ext}"))]
IDS = [f"{p}-{c}" for p, c in CASES]
K = None  # the backend name the hand-made lambdas below use; the tracer's shim provides it
REALWORLD = Path("/work/shared/realworld/keras1-th-configs/commaai_steering_angle.json")


def _load(producer: str, case: str, **options):
    path = FIXTURES / producer / f"{case}.{PRODUCERS[producer]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LambdaTrustWarning)
        graph = kport.load(str(path), **options)
    if not graph.has_weights and not any(layer.op.weight_shapes(_in_shapes(graph, name))
                                         for name, layer in graph.layers.items()):
        graph.has_weights = True  # a weightless architecture (the Python 2.7 JSON files) runs as it is
    data = np.load(path.with_suffix(".npz"))
    xs = [data[f"input_{i}"] for i in range(sum(k.startswith("input_") for k in data.files))]
    ys = [data[f"output_{j}"] for j in range(sum(k.startswith("output_") for k in data.files))]
    return graph, xs, ys


def _in_shapes(graph, layer_name):
    node = next(n for n in graph.nodes if n.layer == layer_name)
    return [graph.tensors[t].shape for t in node.inputs]


def _check(got, expected, what):
    assert len(got) == len(expected), what
    for a, b in zip(got, expected):
        assert_close(a, b, what)


@pytest.mark.parametrize("producer,case", CASES, ids=IDS)
def test_refused_without_trust_naming_the_layer(producer, case):
    path = FIXTURES / producer / f"{case}.{PRODUCERS[producer]}"
    with pytest.raises(UnsafeContentError, match="--trust-lambda") as info:
        kport.load(str(path))
    assert "layer '" in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("producer,case", CASES, ids=IDS)
def test_traced_lambda_matches_real_keras_on_numpy(producer, case):
    graph, xs, ys = _load(producer, case, trust_lambda=True)
    assert not any(layer.op.kind in ("Lambda", "Merge") for layer in graph.layers.values())  # ordinary ops only
    _check(kport.run(graph, xs), ys, f"{producer}/{case} numpy")


@pytest.mark.parametrize("producer,case", CASES, ids=IDS)
def test_traced_lambda_matches_real_keras_on_onnxruntime(producer, case):
    pytest.importorskip("onnxruntime")
    graph, xs, ys = _load(producer, case, trust_lambda=True)
    _check(run_onnx(graph, xs, 17), ys, f"{producer}/{case} onnxruntime")


@pytest.mark.parametrize("producer,case", CASES, ids=IDS)
def test_traced_lambda_matches_real_keras_on_torch(producer, case):
    pytest.importorskip("torch")
    graph, xs, ys = _load(producer, case, trust_lambda=True)
    _check(kport.run(graph, xs, backend="torch"), ys, f"{producer}/{case} torch")


def test_traced_graph_round_trips_through_a_kport_file(tmp_path):
    graph, xs, ys = _load("keras122", "siamese_distance", trust_lambda=True)
    kport.save(graph, str(tmp_path / "m.kport"))
    again = kport.load(str(tmp_path / "m.kport"))  # no Lambda left: no trust needed
    _check(kport.run(again, xs), ys, "keras122/siamese_distance via .kport")


def test_trust_warns_that_file_code_is_evaluated():
    with pytest.warns(LambdaTrustWarning, match="evaluating the Python code of layer"):
        kport.load(str(FIXTURES / "keras122" / "arith.h5"), trust_lambda=True)


def test_traced_layers_keep_the_lambda_name():
    graph, _, _ = _load("keras122", "arith", trust_lambda=True)
    lambdas = [n for n in graph.layers if n.startswith("lambda_")]
    assert lambdas and all(graph.layers[n].op.kind == "TFBinary" for n in lambdas)
    # the node producing a Lambda's output carries the Lambda's own name
    assert any(n.layer == n.outputs[0] and n.layer.startswith("lambda_") for n in graph.nodes)


@pytest.mark.slow
@pytest.mark.parametrize("producer,case", [("keras122", "arith"), ("keras122", "kfuncs"), ("keras122_py27", "slicing"),
                                           ("keras224", "siamese_distance"), ("tf_keras", "dynamic_reshape"),
                                           ("tf_keras", "time_distributed")])
def test_traced_lambda_converts_to_keras3_and_real_keras_agrees(tmp_path, producer, case):
    keras = pytest.importorskip("keras")
    graph, xs, ys = _load(producer, case, trust_lambda=True)
    dst = tmp_path / f"{case}.keras"
    kport.convert(graph, str(dst), to="keras")
    model = keras.saving.load_model(str(dst))  # no Lambda left: plain layers and operations, safe mode on
    got = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    _check([np.asarray(g) for g in (got if isinstance(got, list) else [got])], ys, f"{producer}/{case} Keras 3 reload")


@pytest.mark.parametrize("case", ["masked_input_unchanged", "masked_input_new_tensor"])
def test_tf_keras_file_keeps_whether_a_traced_lambda_passes_the_mask(tmp_path, case):
    # a Lambda returning its input keeps the mask in tf.keras, but tf.keras's Identity drops it: the
    # written file must say Activation('linear') there (kport reads both back Keras's way)
    from kport.exporters.keras.legacy_h5_file import write_h5

    graph, xs, ys = _load("tf_keras", case, trust_lambda=True)
    write_h5(graph, tmp_path / "m.h5")
    _check(kport.run(kport.load(str(tmp_path / "m.h5")), xs), ys, f"tf_keras/{case} written .h5 read back")


@pytest.mark.slow
@pytest.mark.parametrize("case", ["masked_input_unchanged", "masked_input_new_tensor"])
def test_traced_masked_lambda_converts_to_tf_keras_h5_and_tf_keras_agrees(tmp_path, case):
    tf_keras = pytest.importorskip("tf_keras")
    graph, xs, ys = _load("tf_keras", case, trust_lambda=True)
    dst = tmp_path / f"{case}.h5"
    kport.convert(graph, str(dst), to="h5")
    model = tf_keras.models.load_model(str(dst), compile=False)
    _check([np.asarray(model(xs[0], training=False))], ys, f"tf_keras/{case} tf_keras reload")


@pytest.mark.filterwarnings("ignore::kport.importers.lambda_trace.LambdaTrustWarning")
def test_cli_refuses_without_flag_and_converts_with_it(tmp_path):
    pytest.importorskip("onnxruntime")  # the conversion proves itself on onnxruntime
    from click.testing import CliRunner

    from kport.cli.main import cli

    src = FIXTURES / "keras122" / "multi_input.h5"
    out = tmp_path / "m.onnx"
    refused = CliRunner().invoke(cli, ["convert", str(src), "-o", str(out)])
    assert refused.exit_code != 0 and "--trust-lambda" in refused.output and not out.exists()
    done = CliRunner().invoke(cli, ["convert", str(src), "-o", str(out), "--trust-lambda"])
    assert done.exit_code == 0, done.output
    assert out.exists() and "PASS" in done.output


@pytest.mark.skipif(not REALWORLD.exists(), reason="/work/shared/realworld is absent")
def test_commaai_lambda_evaluates_to_x_over_127_5_minus_1():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LambdaTrustWarning)
        graph = kport.load(str(REALWORLD), trust_lambda=True)
    node = next(n for n in graph.nodes if n.layer == "lambda_1")
    x = np.random.RandomState(0).uniform(0, 255, (2, 3, 160, 320)).astype("float32")
    values = {graph.inputs[0].name: x}
    for n in graph.nodes:  # the nodes up to the Lambda's output (the rest needs the missing weights)
        values.update(zip(n.outputs, graph.layers[n.layer].op.reference([values[t] for t in n.inputs], {})))
        if n is node:
            break
    assert_close(values[node.outputs[0]], x / 127.5 - 1.0, "commaai lambda_1")


# ---- hand-made configs: unknown functions, other Python versions, malicious code ------------------------
def _lambda_json(tmp_path, function, name="evil", function_type="lambda", module="__main__"):
    cfg = {"class_name": "Sequential", "keras_version": "2.2.4", "backend": "tensorflow", "config": {
        "name": "seq", "layers": [{"class_name": "Lambda", "config": {
            "name": name, "function": function, "function_type": function_type, "module": module,
            "batch_input_shape": [None, 3], "dtype": "float32", "output_shape": None, "output_shape_type": "raw",
            "arguments": {}, "trainable": True}}]}}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(cfg))
    return path


def _py3(fn) -> list:
    """A lambda stored the way Keras 2 stores it: [base64 marshal, defaults, closure values]."""
    closure = [c.cell_contents for c in fn.__closure__] if fn.__closure__ else None
    return [base64.b64encode(marshal.dumps(fn.__code__)).decode(), fn.__defaults__, closure]


def _load_trusted(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LambdaTrustWarning)
        return kport.load(str(path), trust_lambda=True)


def test_unknown_backend_function_is_refused_by_name(tmp_path):
    path = _lambda_json(tmp_path, _py3(lambda x: K.spatial_3d_padding(x)), name="pad3d")
    with pytest.raises(UnsupportedLayerError, match=r"K\.spatial_3d_padding") as info:
        _load_trusted(path)
    assert "pad3d" in str(info.value) and str(path) in str(info.value)


def test_module_function_by_name_maps_known_backend_functions(tmp_path):
    graph = _load_trusted(_lambda_json(tmp_path, "square", name="sq", function_type="function",
                                       module="keras.backend.theano_backend"))
    graph.has_weights = True
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(kport.run(graph, [x])[0], x * x)
    with pytest.raises(UnsupportedLayerError, match="my_module.preprocess"):
        _load_trusted(_lambda_json(tmp_path, "preprocess", name="mine", function_type="function",
                                   module="my_module"))


@pytest.mark.parametrize("tag", ["py36", "py310", "py312", "py313"])
def test_other_python3_bytecode_is_refused_before_it_runs(tag):
    path = FIXTURES / "other_python" / f"{tag}_lambda.json"
    with pytest.raises(FormatError, match="Python 3.11") as info:
        _load_trusted(path)
    assert f"lambda_{tag}" in str(info.value)


def _attacks(marker: Path):
    m = str(marker)
    yield "import", lambda x: __import__("os").system(f"touch {m}") or x
    yield "open", lambda x: open(m, "w").write("owned") or x  # noqa: SIM115
    yield "eval", lambda x: eval(f"open({m!r}, 'w')") or x
    yield "exec", lambda x: exec(f"open({m!r}, 'w')") or x
    yield "getattr-module", lambda x: getattr(K, "os").system(f"touch {m}") or x
    yield "class-walk", lambda x: ().__class__.__bases__[0].__subclasses__() or x
    yield "globals-walk", lambda x: K.sum.__globals__["os"].system(f"touch {m}") or x
    yield "numpy-save", lambda x: np.save(m, np.zeros(1)) or x
    yield "array-tofile", lambda x: (np.zeros(1).tofile(m), x)[1]  # numpy constants are real arrays
    # a running generator's frame leads back to the importer's frames and their modules
    def generator_frame(x):
        box = []
        box.append(box[0].gi_frame.f_back.f_back.f_globals for _ in [1])
        list(box[0])[0]["sys"].modules["os"].system(f"touch {m}")
        return x

    yield "generator-frame", generator_frame
    yield "type-mro", lambda x: (int.mro()[1], x)[1]


@pytest.mark.parametrize("attack", [a for a, _ in _attacks(Path("m"))])
def test_malicious_python3_lambda_never_reaches_builtins_or_os(tmp_path, attack):
    marker = tmp_path / "owned"
    fn = dict(_attacks(marker))[attack]
    with pytest.raises((UnsafeContentError, UnsupportedLayerError)) as info:
        _load_trusted(_lambda_json(tmp_path, _py3(fn)))
    assert "evil" in str(info.value)
    assert not marker.exists()


HOSTILE_PY2 = sorted(p.stem for p in (FIXTURES / "hostile_py27").glob("*.json"))


@pytest.mark.parametrize("attack", HOSTILE_PY2)
def test_malicious_python2_lambda_is_refused_before_anything_runs(tmp_path, monkeypatch, attack):
    monkeypatch.chdir(tmp_path)  # the lambdas would create ./kport_lambda_owned
    with pytest.raises((UnsafeContentError, UnsupportedLayerError)) as info:
        _load_trusted(FIXTURES / "hostile_py27" / f"{attack}.json")
    assert f"hostile_{attack}" in str(info.value)
    assert not (tmp_path / "kport_lambda_owned").exists()


def test_python2_evaluator_refuses_opcodes_outside_its_whitelist():
    from kport.importers import py2_bytecode, py2_marshal
    from kport.importers.lambda_code import decode_bytes
    from kport.ops.base import ImportContext

    cfg = json.loads((FIXTURES / "hostile_py27" / "statement_import.json").read_text())
    code = py2_marshal.loads(decode_bytes(cfg["config"][0]["config"]["function"][0]))
    with pytest.raises(UnsafeContentError, match="IMPORT_NAME"):
        py2_bytecode.evaluator(code, None, None, ImportContext(path="f.json", layer="l"))
    with pytest.raises(py2_marshal.MarshalError):
        py2_marshal.loads(b"c\x01\x00\x00")  # truncated


def test_pickled_keras1_lambda_maps_a_backend_function_by_name():
    path = FIXTURES / "keras122" / "pickled_backend_fn.pkl"  # Lambda(K.square) pickled by reference
    with pytest.raises(UnsafeContentError, match="--trust-lambda"):
        kport.load(str(path))
    graph = _load_trusted(path)
    data = np.load(path.with_suffix(".npz"))
    _check(kport.run(graph, [data["input_0"]]), [data["output_0"]], "pickled K.square")


def test_pickled_keras1_lambda_of_a_user_function_is_refused_naming_it():
    with pytest.raises(UnsafeContentError, match="user_preprocess"):
        _load_trusted(FIXTURES / "keras122" / "pickled_user_fn.pkl")


def test_the_static_check_is_what_stops_the_generator_frame_escape(tmp_path, monkeypatch):
    # without the check, a running generator's frame chain reaches the importer's modules and the OS
    from kport.importers import lambda_code

    marker = tmp_path / "owned"
    fn = dict(_attacks(marker))["generator-frame"]
    monkeypatch.setattr(lambda_code, "check_code", lambda *args, **kwargs: None)
    _load_trusted(_lambda_json(tmp_path, _py3(fn)))  # loads: the function returns its input
    assert marker.exists()


# ---- TimeDistributed(Lambda): folded into the batch, traced, unfolded; other wrappers refused -------------
def _wrapped_lambda_json(tmp_path, wrapper, function, batch_input_shape, name="wrapped"):
    inner = {"class_name": "Lambda", "config": {
        "name": "inner", "function": _py3(function), "function_type": "lambda", "module": "__main__",
        "output_shape": None, "output_shape_type": "raw", "arguments": {}, "trainable": True}}
    if wrapper == "Bidirectional":
        inner = {"class_name": "Bidirectional", "config": {"name": name, "layer": inner, "merge_mode": "concat",
                                                           "batch_input_shape": batch_input_shape}}
    else:
        inner = {"class_name": wrapper, "config": {"name": name, "layer": inner,
                                                   "batch_input_shape": batch_input_shape}}
    cfg = {"class_name": "Sequential", "keras_version": "2.2.4", "backend": "tensorflow",
           "config": {"name": "seq", "layers": [inner]}}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(cfg))
    return path


@pytest.mark.parametrize("producer", ["keras224", "tf_keras", "keras3"])
def test_time_distributed_lambda_is_reshape_traced_ops_reshape(producer):
    graph, _, _ = _load(producer, "time_distributed", trust_lambda=True)
    kinds = [graph.layers[n.layer].op.kind for n in graph.nodes]
    assert "TimeDistributed" not in kinds and kinds[0] == "TFReshape" and kinds[-1] == "TFReshape"
    assert graph.tensors[graph.outputs[0]].shape == (None, 4, 4)
    # the unfolding reshape carries the wrapper's own name, so later layers still find it
    assert graph.layers[graph.outputs[0]].op.kind == "TFReshape"
    assert graph.outputs[0].startswith("time_distributed")


def test_time_distributed_lambda_refusal_names_the_wrapper(tmp_path):
    path = _wrapped_lambda_json(tmp_path, "TimeDistributed", lambda x: x * 2., [None, 4, 3], name="td_scale")
    with pytest.raises(UnsafeContentError, match="TimeDistributed wraps a Lambda") as info:
        kport.load(str(path))
    assert "td_scale" in str(info.value) and str(path) in str(info.value)
    graph = _load_trusted(path)
    graph.has_weights = True
    x = np.arange(24, dtype="float32").reshape(2, 4, 3)
    np.testing.assert_allclose(kport.run(graph, [x])[0], x * 2.)


def test_time_distributed_lambda_with_unknown_time_steps_is_refused(tmp_path):
    path = _wrapped_lambda_json(tmp_path, "TimeDistributed", lambda x: x * 2., [None, None, 3], name="td_free")
    with pytest.raises(UnsupportedLayerError, match="unknown size") as info:
        _load_trusted(path)
    assert "td_free" in str(info.value) and str(path) in str(info.value)


def test_bidirectional_lambda_is_refused_with_or_without_trust(tmp_path):
    path = _wrapped_lambda_json(tmp_path, "Bidirectional", lambda x: x, [None, 4, 3], name="bi_lambda")
    with pytest.raises(UnsafeContentError, match="--trust-lambda"):
        kport.load(str(path))
    with pytest.raises(UnsupportedLayerError, match="other than TimeDistributed") as info:
        _load_trusted(path)
    assert "bi_lambda" in str(info.value) and str(path) in str(info.value)
