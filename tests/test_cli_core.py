"""`kport inspect`, `kport run`, `kport weights` and the CLI's error contract, on real-Keras fixtures."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "fixtures" / "models"
MLP = MODELS / "tfkeras" / "mlp.h5"
MULTI_IO = MODELS / "keras3" / "multi_io.keras"


def kport(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kport.cli.main", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd)


def test_inspect_prints_summary_and_provenance():
    res = kport("inspect", MLP)
    assert res.returncode == 0, res.stderr
    assert "Format: tf.keras-h5" in res.stdout and "Keras: 2.21" in res.stdout
    assert "Total params:" in res.stdout and "Layer (type)" in res.stdout


def test_inspect_json_counts_match_the_weights():
    import kport as kp

    info = json.loads(kport("inspect", MLP, "--json").stdout)
    graph = kp.load(MLP)
    assert info["params"]["total"] == graph.param_count()
    assert [l["name"] for l in info["layers"]] == list(graph.layers)
    assert info["outputs"][0]["name"] == graph.outputs[0]


def test_inspect_counts_batchnorm_statistics_as_non_trainable():
    import kport as kp
    from kport.summary import summarize

    graph = kp.load(MODELS / "tfkeras" / "cnn2d.h5")
    bn = [l for l in graph.layers.values() if l.op.kind == "BatchNormalization"]
    assert bn, "fixture must hold a BatchNormalization layer"
    stats = sum(int(np.prod(l.weights[k].shape)) for l in bn for k in ("moving_mean", "moving_variance"))
    params = summarize(graph)["params"]
    assert params["non_trainable"] == stats
    assert params["trainable"] + params["non_trainable"] == graph.param_count()


def test_run_matches_recorded_outputs_by_name_and_by_position(tmp_path):
    import kport as kp

    io = np.load(MODELS / "keras3" / "multi_io.npz")
    graph = kp.load(MULTI_IO)
    inputs = [io[f"input_{i}"] for i in range(len(graph.inputs))]
    by_name = tmp_path / "named.npz"
    np.savez(by_name, **{spec.name: arr for spec, arr in zip(graph.inputs, inputs)})
    by_pos = tmp_path / "positional.npz"
    np.savez(by_pos, *inputs)
    for src in (by_name, by_pos):
        out = tmp_path / f"out_{src.stem}.npz"
        res = kport("run", MULTI_IO, "--input", src, "--output", out)
        assert res.returncode == 0, res.stderr
        got = np.load(out)
        assert list(got.files) == graph.outputs
        for i, name in enumerate(graph.outputs):
            np.testing.assert_allclose(got[name], io[f"output_{i}"], atol=1e-5, rtol=1e-4)


def test_weights_round_trip_through_a_torch_state_dict_is_bit_exact(tmp_path):
    import kport as kp

    state = tmp_path / "w.safetensors"
    tuned = tmp_path / "tuned.h5"
    assert kport("weights", MLP, "--to", "torch", "-o", state).returncode == 0
    res = kport("weights", MLP, "--from", state, "-o", tuned)
    assert res.returncode == 0, res.stderr
    a, b = kp.load(MLP), kp.load(tuned)
    for name, layer in a.layers.items():
        for wname, arr in layer.weights.items():
            assert np.array_equal(arr, b.layers[name].weights[wname]), (name, wname)


@pytest.mark.parametrize("content,needle", [
    (b"", "empty"),
    (b"this is not a model\n", "not a Keras model file"),
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 64, "cannot open as HDF5"),
])
def test_bad_files_give_one_line_errors(tmp_path, content, needle):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(content)
    res = kport("inspect", bad)
    assert res.returncode != 0
    assert needle in res.stderr and str(bad) in res.stderr
    assert "Traceback" not in res.stderr


def test_run_with_wrong_input_shape_names_the_input(tmp_path):
    src = tmp_path / "in.npz"
    np.savez(src, np.zeros((2, 999), np.float32))
    res = kport("run", MLP, "--input", src, "--output", tmp_path / "out.npz")
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "expects shape" in res.stderr
    assert not (tmp_path / "out.npz").exists()


LEGACY = ROOT / "fixtures" / "legacy" / "keras122"


def test_run_binds_a_parameter_pickle_onto_arch(tmp_path):
    io = np.load(LEGACY / "params_mlp.npz")
    src, out = tmp_path / "in.npz", tmp_path / "out.npz"
    np.savez(src, io["input_0"])
    res = kport("run", LEGACY / "params_mlp_shared.p2.pkl", "--arch", LEGACY / "params_mlp.json",
                "--input", src, "--output", out)
    assert res.returncode == 0, res.stderr
    got = np.load(out)
    np.testing.assert_allclose(got[got.files[0]], io["output_0"], atol=1e-5, rtol=1e-4)


def test_layout_channels_last_takes_nhwc_inputs_with_the_same_outputs(tmp_path):
    io = np.load(LEGACY / "conv2d_th.npz")
    info = json.loads(kport("inspect", LEGACY / "conv2d_th.h5", "--layout", "channels_last", "--json").stdout)
    assert info["inputs"][0]["shape"][1:] == [7, 7, 2]
    src, out = tmp_path / "in.npz", tmp_path / "out.npz"
    np.savez(src, np.transpose(io["input_0"], (0, 2, 3, 1)))
    res = kport("run", LEGACY / "conv2d_th.h5", "--layout", "channels_last", "--input", src, "--output", out)
    assert res.returncode == 0, res.stderr
    got = np.load(out)
    np.testing.assert_allclose(got[got.files[0]], io["output_0"], atol=1e-5, rtol=1e-4)


def test_convert_and_check_take_the_load_options(tmp_path):
    out = tmp_path / "nhwc.onnx"
    res = kport("convert", LEGACY / "conv2d_th.h5", "--layout", "channels_last", "-o", out)
    assert res.returncode == 0 and "PASS" in res.stdout, res.stderr
    import onnx

    shape = [d.dim_value for d in onnx.load(out).graph.input[0].type.tensor_type.shape.dim[1:]]
    assert shape == [7, 7, 2]
    res = kport("check", LEGACY / "params_mlp_dict.pkl", "--arch", LEGACY / "params_mlp.json",
                "--backends", "numpy,onnxruntime")
    assert res.returncode == 0 and "PASS" in res.stdout, res.stderr


def test_convert_refuses_to_overwrite_its_input(tmp_path):
    import shutil

    src = tmp_path / "mlp.h5"
    shutil.copy(MLP, src)
    before = src.read_bytes()
    res = kport("convert", src, "--to", "h5")
    assert res.returncode != 0 and "overwrite the input" in res.stderr
    assert src.read_bytes() == before
