"""Theano parameter pickles bound onto an architecture, and real-world Theano-era pickles.

Whole pickled Keras 1 models are covered by test_legacy_fixtures.py (their manifest
lists the `.pkl` files). Here: parameter collections in every container, bound with
`arch=` (the CLI's `--arch`), and the files in ../shared/realworld/pickles (skipped
when that folder is absent).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kport
from kport.errors import FormatError, WeightError
from kport.importers import safe_unpickle, theano_pickle

ROOT = Path(__file__).resolve().parent.parent
K1 = ROOT / "fixtures" / "legacy" / "keras122"
REALWORLD = ROOT.parent / "shared" / "realworld" / "pickles"
PARAM_FILES = ["params_mlp_shared.p2.pkl", "params_mlp_dict.pkl", "params_mlp_arrays.pkl.gz",
               "params_mlp_arrays.pkl.bz2", "params_mlp_appended.pkl", "params_mlp_pklutils.zip"]


@pytest.mark.parametrize("backend", ["numpy", "onnxruntime"])
@pytest.mark.parametrize("fname", PARAM_FILES)
def test_parameter_pickle_binds_onto_architecture(fname, backend):
    graph = kport.load(str(K1 / fname), arch=str(K1 / "params_mlp.json"))
    data = np.load(K1 / "params_mlp.npz")
    if backend == "numpy":
        got = kport.run(graph, [data["input_0"]])[0]
    else:
        from test_legacy_fixtures import run_onnx

        got = run_onnx(graph, [data["input_0"]])[0]
    np.testing.assert_allclose(got, data["output_0"], rtol=1e-4, atol=1e-5)


def test_parameter_pickle_without_architecture_asks_for_arch():
    with pytest.raises(FormatError, match="--arch"):
        kport.load(str(K1 / "params_mlp_arrays.pkl.gz"))


def test_parameter_pickle_of_another_model_is_refused(tmp_path):
    with pytest.raises(WeightError):
        kport.load(str(K1 / "params_mlp_arrays.pkl.gz"), arch=str(K1 / "conv2d_th.json"))


def test_shared_variables_keep_their_theano_names():
    objs = safe_unpickle.load_all(str(K1 / "params_mlp_shared.p2.pkl"))
    names = [n for n, _ in theano_pickle.collect_parameters(objs)]
    assert len(names) == 4 and names[0].endswith("_W") and names[1].endswith("_b")


def test_appended_pickles_are_all_read():
    objs = safe_unpickle.load_all(str(K1 / "params_mlp_appended.pkl"))
    assert len(objs) == 2  # one pickle per layer, appended in one file


def test_compiled_model_pickle_converts():
    # compiled and run: the pickle also holds Theano functions, which stay inert records
    graph = kport.load(str(K1 / "dense_pickled.compiled.pkl.gz"))
    data = np.load(K1 / "dense_pickled.npz")
    np.testing.assert_allclose(kport.run(graph, [data["input_0"]])[0], data["output_0"], rtol=1e-4, atol=1e-5)
    assert graph.source.backend == "theano" and graph.source.format == "theano-pickle"


# ---- real-world pickles -----------------------------------------------------------------
def _realworld(rel: str) -> Path:
    path = REALWORLD / rel
    if not path.exists():
        pytest.skip(f"{path} is absent (real-world files live outside the repository)")
    return path


@pytest.mark.parametrize("rel", ["theano-tests/theano_sandbox_cuda_tests_CudaNdarray.pkl",
                                 "theano-tests/theano_sandbox_cuda_tests_CudaNdarray_py3.pkl",
                                 "theano-tests/theano_gpuarray_tests_GpuArray.pkl",
                                 "theano-tests/theano_sandbox_gpuarray_tests_GpuArray.pkl"])
def test_theano_gpu_pickles_give_their_host_array(rel):
    objs = safe_unpickle.load_all(str(_realworld(rel)))
    params = theano_pickle.collect_parameters(objs)
    assert len(params) == 1
    np.testing.assert_array_equal(params[0][1], np.array([-42.0], np.float32))


def test_pylearn2_gpu_model_pickle_gives_its_parameters():
    objs = safe_unpickle.load_all(str(_realworld("pylearn2/pylearn2_scripts_tests_model.pkl")))
    params = dict(theano_pickle.collect_parameters(objs))
    assert {k: v.shape for k, v in params.items()} == {"vb": (3,), "Wprime": (4, 3), "hb": (4,), "W": (3, 4)}


@pytest.mark.parametrize("name,count,first", [("200_gen_params.jl", 10, (100, 4096)),
                                              ("200_discrim_params.jl", 8, (64, 3, 5, 5))])
def test_joblib_sidecar_arrays_load(name, count, first):
    path = _realworld(f"dcgan/{name}")
    params = theano_pickle.collect_parameters(safe_unpickle.load_all(str(path)))
    assert len(params) == count and params[0][1].shape == first
    side = np.load(path.parent / f"{name}_01.npy")
    np.testing.assert_array_equal(params[0][1], side)


@pytest.mark.parametrize("layout", ["keep", "channels_last"])
@pytest.mark.parametrize("fname", ["params_conv_th_py2.py2p0.pkl", "params_conv_th_py2.py2p2.pkl"])
def test_python2_parameter_pickles_bind(fname, layout):
    # real Python 2.7 pickles: protocol 0 shared variables, and a protocol 2 dict (unordered in Python 2)
    folder = ROOT / "fixtures" / "legacy" / "keras122_py27"
    graph = kport.load(str(folder / fname), arch=str(folder / "params_conv_th_py2.json"), layout=layout)
    data = np.load(folder / "conv_th_py2.npz")
    x = data["input_0"]
    if layout == "channels_last":
        assert graph.moved_inputs
        x = np.transpose(x, (0, 2, 3, 1))
    np.testing.assert_allclose(kport.run(graph, [x])[0], data["output_0"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("lib", ["pytensor", "aesara"])
def test_successor_shared_variables_load(lib):
    # made by real PyTensor / Aesara (numpy 2 names `numpy._core` in the PyTensor file)
    folder = ROOT / "fixtures" / "legacy" / "successors"
    objs = safe_unpickle.load_all(str(folder / f"{lib}_params.pkl"))
    got = dict(theano_pickle.collect_parameters(objs))  # the 0-d learning-rate variable is not a parameter
    want = np.load(folder / f"{lib}_params.npz")
    assert sorted(got) == sorted(want.files)
    for name in want.files:
        np.testing.assert_array_equal(got[name], want[name])
