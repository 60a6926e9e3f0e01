"""Keras 1.2.2 and 2.2.4 files made on the Theano backend must reproduce Theano's own outputs.

Fixtures: fixtures/legacy/keras<ver>/ (made by fixtures/legacy/make_legacy_fixtures.py in the
legacy environments). Every case runs on the numpy reference and on ONNX Runtime, from the
`.h5` file, from the double-encoded JSON + `save_weights` file, and from its pickles; each `.h5`
also at opset 13, on torch and (slow) on the tf backend (a tf.keras file kport writes, run by
real tf_keras), as saved and moved to channels_last, and (slow) as a Keras 3 `.keras` file real
Keras 3 loads. Keras-1-only layers are written there as constructions of built-in layers
(kport/exporters/keras/constructions_legacy.py); none is refused.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import kport
from kport.errors import ExportError, UnsupportedLayerError

LEGACY = Path(__file__).resolve().parent.parent / "fixtures" / "legacy"
ATOL, RTOL = 1e-5, 1e-4


def _cases():
    params = []
    for manifest in sorted(LEGACY.glob("keras*/manifest.json")):
        folder = manifest.parent
        for case in json.loads(manifest.read_text())["cases"]:
            for fmt, fname in case["files"].items():
                if fmt in ("npz", "weights"):
                    continue
                weights = case["files"].get("weights") if fmt == "json" else None
                arch = None
                if case["case"].startswith("params_"):
                    continue  # parameter pickles: test_legacy_pickles.py
                params.append(pytest.param(folder, case["case"], fname, weights, arch,
                                           id=f"{folder.name}-{case['case']}-{fmt}"))
    return params


@lru_cache(maxsize=16)
def _load_cached(path: str, weights: str | None):
    return kport.load(path, weights=weights)


def _load(path: str, weights: str | None, **options):
    try:
        return _load_cached(path, weights) if not options else kport.load(path, weights=weights, **options)
    except UnsupportedLayerError as err:
        if "unknown layer class" in err.message:  # runs by itself once the op exists in kport.ops
            pytest.skip(f"no op yet: {err.message}")
        raise


def _expected(folder: Path, case: str):
    data = np.load(folder / f"{case}.npz")
    inputs = [data[f"input_{i}"] for i in range(sum(k.startswith("input_") for k in data.files))]
    outputs = [data[f"output_{i}"] for i in range(sum(k.startswith("output_") for k in data.files))]
    return inputs, outputs


def assert_close(got, want, what: str):
    assert len(got) == len(want), f"{what}: {len(got)} outputs, Theano gave {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g)
        assert g.shape == w.shape, f"{what} output {i}: shape {g.shape}, Theano {w.shape}"
        excess = np.abs(g - w) - (ATOL + RTOL * np.abs(w))
        k = int(np.argmax(excess))
        assert excess.flat[k] <= 0, (f"{what} output {i}: worst at {np.unravel_index(k, w.shape)}: "
                                     f"kport {g.flat[k]!r}, Theano {w.flat[k]!r}")


def run_onnx(graph, inputs, opset: int = 17):
    ort = pytest.importorskip("onnxruntime")
    from kport.exporters.onnx.export import export_onnx

    model = export_onnx(graph, opset=opset)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {s.name: x.astype(s.dtype) for s, x in zip(graph.inputs, inputs)})


def run_torch(graph, inputs):
    pytest.importorskip("torch")
    try:
        return kport.run(graph, inputs, backend="torch")
    except ExportError as err:
        if "cannot be exported to PyTorch" in err.message:  # another family's hook: runs once it exists
            pytest.skip(err.message)
        raise


def run_tf(graph, inputs):
    """kport writes a tf.keras .h5 and real tf_keras runs it (the `tf` backend)."""
    pytest.importorskip("tf_keras")
    return kport.run(graph, inputs, backend="tf")


def run_backend(graph, inputs, backend):
    if backend == "numpy":
        return kport.run(graph, inputs)
    if backend.startswith("onnxruntime"):
        return run_onnx(graph, inputs, 13 if backend.endswith("opset13") else 17)
    if backend == "tf":
        return run_tf(graph, inputs)
    return run_torch(graph, inputs)


def _cases_by_backend():
    # every file on numpy and ONNX Runtime; the .h5 of each case also at opset 13 and on torch
    out = []
    for p in _cases():
        fname = p.values[2]
        for backend in ("numpy", "onnxruntime") + (("onnxruntime-opset13", "torch", "tf") if fname.endswith(".h5")
                                                   else ()):
            marks = [pytest.mark.slow] if backend == "tf" else []
            out.append(pytest.param(*p.values, backend, id=f"{p.id}-{backend}", marks=marks))
    return out


@pytest.mark.parametrize("folder,case,fname,weights,arch,backend", _cases_by_backend())
def test_legacy_file_matches_theano(folder, case, fname, weights, arch, backend):
    graph = _load(str(folder / fname), str(folder / weights) if weights else None)
    inputs, outputs = _expected(folder, case)
    assert_close(run_backend(graph, inputs, backend), outputs, f"{folder.name}/{fname} on {backend}")


def test_fixture_set_is_complete():
    # the layer list must stay covered: fail loudly if a regeneration drops a case
    names = {c["case"] for m in LEGACY.glob("keras*/manifest.json") for c in json.loads(m.read_text())["cases"]}
    for case in ("dense_mlp", "dense_pickled", "conv2d_th", "conv2d_tf", "batchnorm_th", "merge_functional",
                 "merge_sequential", "highway_maxout", "srelu_psoftplus", "embedding_tdd", "conv1d", "deconv2d_th",
                 "conv2d_same_even_th", "conv2d_full_th", "pool_same_k2s2_th", "spatial_th", "conv3d_th",
                 "nested_sequential", "nested_functional_shared", "advanced_activations", "conv2d_cf",
                 "conv2d_transpose_cf", "separable_depthwise_cf", "spatial_cf", "pickled_cf", "lstm_cpu", "conv_th_py2", "locally2d_th",
                 "locally2d_tf", "locally2d_cf", "locally2d_cl", "seq1d"):
        assert case in names


def test_keras1_theano_file_is_recognised():
    graph = _load(str(LEGACY / "keras122" / "conv2d_th.h5"), None)
    assert graph.source.keras_major == 1
    assert graph.source.backend == "theano"  # inferred: no ':0' in the weight names


def _h5_cases():
    return [p for p in _cases() if p.values[2].endswith(".h5")]


@pytest.mark.parametrize("backend", ["numpy", "onnxruntime", "torch", pytest.param("tf", marks=pytest.mark.slow)])
@pytest.mark.parametrize("folder,case,fname,weights,arch", _h5_cases())
def test_layout_channels_last_matches_theano(folder, case, fname, weights, arch, backend):
    graph = _load(str(folder / fname), None, layout="channels_last")
    inputs, outputs = _expected(folder, case)
    inputs = [np.transpose(x, graph.moved_axes[s.name]) if s.name in graph.moved_inputs else x
              for x, s in zip(inputs, graph.inputs)]
    outputs = [np.transpose(y, graph.moved_axes[t]) if t in graph.moved_outputs else y
               for y, t in zip(outputs, graph.outputs)]
    if case.endswith(("_th", "_cf")):  # a channels_first model (images or image sequences): its input moved
        assert graph.moved_inputs, f"{fname}: no input moved to channels_last"
        assert all(getattr(layer.op, "data_format", "channels_last") == "channels_last"
                   for layer in graph.layers.values()
                   if layer.op.kind in ("Conv2D", "MaxPooling2D", "BatchNormalization"))
    assert_close(run_backend(graph, inputs, backend), outputs, f"{folder.name}/{fname} channels_last on {backend}")


def test_layout_moves_flatten_dense_rows_without_transposes():
    graph = kport.load(str(LEGACY / "keras122" / "conv2d_th.h5"), layout="channels_last")
    assert not any(layer.op.kind == "Permute" for layer in graph.layers.values())
    original = kport.load(str(LEGACY / "keras122" / "conv2d_th.h5"))
    dense = [name for name, layer in graph.layers.items() if layer.op.kind == "Dense"][0]
    # same rows, another order: the CHW flatten became HWC
    a, b = original.layers[dense].weights["kernel"], graph.layers[dense].weights["kernel"]
    assert not np.array_equal(a, b) and np.array_equal(np.sort(a, axis=0), np.sort(b, axis=0))


def test_layout_moves_per_position_parameters():
    # spatial_th: ... Conv2D(th) -> PReLU (alpha shaped (C, H, W)) -> GlobalMaxPooling2D
    graph = _load(str(LEGACY / "keras122" / "spatial_th.h5"), None, layout="channels_last")
    assert not any(layer.op.kind == "Permute" for layer in graph.layers.values())
    original = _load(str(LEGACY / "keras122" / "spatial_th.h5"), None)
    name = next(n for n, layer in graph.layers.items() if layer.op.kind == "PReLU")
    np.testing.assert_array_equal(graph.layers[name].weights["alpha"],
                                  np.transpose(original.layers[name].weights["alpha"], (1, 2, 0)))


def test_layout_moves_locally_connected_kernel_rows_and_bias():
    # locally2d_th: LocallyConnected2D(th): kernel rows (channel, row, col) -> (row, col, channel);
    # the bias Keras read through a raw reshape to (filters, rows, cols) is stored (rows, cols, filters)
    graph = _load(str(LEGACY / "keras122" / "locally2d_th.h5"), None, layout="channels_last")
    original = _load(str(LEGACY / "keras122" / "locally2d_th.h5"), None)
    name = next(n for n, layer in graph.layers.items() if layer.op.kind == "LocallyConnected2D")
    assert graph.layers[name].op.data_format == "channels_last"
    old, new = original.layers[name].weights, graph.layers[name].weights
    positions, patch, filters = old["kernel"].shape
    cin = graph.inputs[0].shape[-1]
    np.testing.assert_array_equal(
        new["kernel"], old["kernel"].reshape(positions, cin, patch // cin, filters).transpose(0, 2, 1, 3)
        .reshape(positions, patch, filters))
    np.testing.assert_array_equal(new["bias"], old["bias"].reshape(filters, -1).T.reshape(old["bias"].shape))


@pytest.mark.parametrize("case", ["conv2d_same_even_th", "pool_same_k2s2_th", "conv2d_full_th"])
def test_keras1_th_json_gets_theano_padding(tmp_path, case):
    # a Keras 1 JSON does not say Theano; `th` ordering does, so 'same' keeps Theano's windows
    import h5py

    h5 = LEGACY / "keras122" / f"{case}.h5"
    with h5py.File(h5, "r") as f:
        config = f.attrs["model_config"]
    arch = tmp_path / f"{case}.json"
    arch.write_text(config.decode() if isinstance(config, bytes) else config)
    graph = _load(str(arch), str(h5))
    inputs, outputs = _expected(LEGACY / "keras122", case)
    assert_close(kport.run(graph, inputs), outputs, f"{case} from JSON + weights")


def _keras3_outputs(graph, inputs, path):
    keras = pytest.importorskip("keras")
    from kport.exporters.keras.keras3_file import write_keras

    write_keras(graph, path)
    model = keras.models.load_model(path, compile=False)
    out = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


@pytest.mark.slow
@pytest.mark.parametrize("layout", [None, "channels_last"])
@pytest.mark.parametrize("folder,case,fname,weights,arch", _h5_cases())
def test_keras3_file_reproduces_theano(folder, case, fname, weights, arch, layout, tmp_path):
    # kport writes the legacy model as a Keras 3 .keras file; real Keras 3 loads and runs it
    graph = _load(str(folder / fname), None) if layout is None else _load(str(folder / fname), None, layout=layout)
    inputs, outputs = _expected(folder, case)
    if layout:
        inputs = [np.transpose(x, graph.moved_axes[s.name]) if s.name in graph.moved_inputs else x
                  for x, s in zip(inputs, graph.inputs)]
        outputs = [np.transpose(y, graph.moved_axes[t]) if t in graph.moved_outputs else y
                   for y, t in zip(outputs, graph.outputs)]
    got = _keras3_outputs(graph, inputs, tmp_path / "model.keras")
    assert_close(got, outputs, f"{folder.name}/{fname} as Keras 3 .keras ({layout or 'as saved'})")
