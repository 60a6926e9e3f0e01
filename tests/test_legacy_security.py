"""Malicious pickles are refused before anything runs, and leave no side effect.

Each pickle below would, in a real unpickler, create a marker file (or run some
other code). kport must raise UnsafeContentError naming the file, and the marker
must not exist afterwards. The pickles are written here, by hand, for every
protocol and container kport reads.
"""
from __future__ import annotations

import bz2
import gzip
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

import kport
from kport.errors import KportError, UnsafeContentError
from kport.importers import safe_unpickle


class _Reduce:
    """An object whose pickle calls `func(*args)` on load."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _global(module: str, name: str, args: tuple) -> bytes:
    """A protocol-0 pickle that calls module.name(*args) with string args (no import needed to write it)."""
    body = "".join(f"V{a}\n" for a in args)
    return f"c{module}\n{name}\n({body}tR.".encode()


def _payloads(marker: str):
    cmd = f"touch {marker}"
    code = f"open({marker!r}, 'w').write('owned')"
    yield "os.system", pickle.dumps(_Reduce(os.system, (cmd,)), protocol=2)
    yield "os.system-highest", pickle.dumps(_Reduce(os.system, (cmd,)), protocol=pickle.HIGHEST_PROTOCOL)
    yield "posix.system-p0", _global("posix", "system", (cmd,))
    yield "builtins.eval", pickle.dumps(_Reduce(eval, (code,)), protocol=2)
    yield "builtins.exec-p0", _global("builtins", "exec", (code,))
    yield "__builtin__.eval-py2", _global("__builtin__", "eval", (code,))
    yield "subprocess.call", _global("subprocess", "call", (cmd,))
    yield "nested-pickle.loads", pickle.dumps(
        _Reduce(pickle.loads, (pickle.dumps(_Reduce(os.system, (cmd,))),)), protocol=2)
    yield "numpy.load-allow-pickle", _global("numpy", "load", (marker,))
    # getattr on a real module object: builtins.getattr(builtins.__import__('os'), 'system')
    yield "getattr-on-module", (b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(Vos\ntRVsystem\ntR(V"
                                + cmd.encode() + b"\ntR.")
    # lookalikes under whitelisted families
    yield "theano-lookalike-os", _global("theano.os", "system", (cmd,))
    yield "keras-lookalike-eval", _global("keras.utils", "eval", (code,))
    yield "numpy-lookalike", _global("numpy.core.multiarray", "system", (cmd,))
    yield "copyreg-reconstructor-os", (b"ccopy_reg\n_reconstructor\n(cos\n_wrap_close\ncbuiltins\nobject\nNtR.")
    # a stub class is inert, but getattr may not reach its dunders
    yield "getattr-dunder", b"cbuiltins\ngetattr\n(ctheano\nfoo\nV__class__\ntR."


PAYLOADS = [pytest.param(name, id=name) for name, _ in _payloads("x")]


def _write(tmp_path, name: str, data: bytes, container: str):
    if container == "plain":
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(data)
    elif container == "gzip":
        path = tmp_path / f"{name}.pkl.gz"
        path.write_bytes(gzip.compress(data))
    elif container == "bz2":
        path = tmp_path / f"{name}.pkl.bz2"
        path.write_bytes(bz2.compress(data))
    elif container == "appended":  # a harmless pickle first, the payload second
        path = tmp_path / f"{name}.pkl"
        path.write_bytes(pickle.dumps([np.zeros(3, np.float32)], protocol=2) + data)
    else:  # a Theano pkl_utils zip whose pickle member is the payload
        path = tmp_path / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("pkl", data)
    return path


@pytest.mark.parametrize("container", ["plain", "gzip", "bz2", "appended", "zip"])
@pytest.mark.parametrize("name", PAYLOADS)
def test_malicious_pickle_is_refused_without_side_effect(tmp_path, name, container):
    marker = tmp_path / "pwned"
    data = dict(_payloads(str(marker)))[name]
    path = _write(tmp_path, name, data, container)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # relative paths a payload might use land here too
    try:
        with pytest.raises(UnsafeContentError) as info:
            kport.load(str(path))
    finally:
        os.chdir(cwd)
    assert not marker.exists(), f"{name} ({container}) ran code"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name], "the refused load left files behind"
    assert str(path) in str(info.value)


def test_refusal_names_the_global(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(_global("os", "system", ("true",)))
    with pytest.raises(UnsafeContentError, match=r"'os\.system'"):
        kport.load(str(path))


def test_joblib_sidecar_cannot_escape_the_folder(tmp_path):
    secret = tmp_path / "secret.npy"
    np.save(secret, np.arange(3.0))
    inner = tmp_path / "inner"
    inner.mkdir()
    wrapper = (b"\x80\x02]q\x00csklearn.externals.joblib.numpy_pickle\nNDArrayWrapper\nq\x01)\x81q\x02}q\x03"
               b"X\x08\x00\x00\x00filenameq\x04X\x0d\x00\x00\x00../secret.npyq\x05sba.")
    path = inner / "params.jl"
    path.write_bytes(wrapper)
    with pytest.raises(UnsafeContentError, match="outside the pickle's folder"):
        safe_unpickle.load_all(str(path))


def test_object_arrays_in_sidecars_are_not_unpickled(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    data = (b"\x80\x02csklearn.externals.joblib.numpy_pickle\nNDArrayWrapper\nq\x01)\x81q\x02}q\x03"
            b"X\x08\x00\x00\x00filenameq\x04X\x07\x00\x00\x00obj.npyq\x05sb.")
    path = tmp_path / "p.jl"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="allow_pickle"):
        safe_unpickle.load_all(str(path))


def test_persistent_ids_outside_a_zip_are_refused(tmp_path):
    path = tmp_path / "pid.pkl"
    path.write_bytes(b"\x80\x02X\x03\x00\x00\x00abcQ.")
    with pytest.raises(UnsafeContentError, match="persistent"):
        safe_unpickle.load_all(str(path))


def test_plain_numpy_pickles_still_load(tmp_path):
    # the whitelist must not refuse ordinary parameter pickles (numpy 1 and numpy 2 names)
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1.5, -2.0], dtype=">f8")]
    for proto in (0, 2, pickle.HIGHEST_PROTOCOL):
        data = pickle.dumps(arrays, protocol=proto)
        path = tmp_path / f"p{proto}.pkl"
        path.write_bytes(data.replace(b"numpy.core", b"numpy._core") if proto == 2 else data)
        got = safe_unpickle.load_all(str(path))[0]
        for a, b in zip(got, arrays):
            np.testing.assert_array_equal(a, b)  # big-endian data read with its byte order
            assert (a.dtype.kind, a.dtype.itemsize) == (b.dtype.kind, b.dtype.itemsize)


def test_lambda_layer_is_refused_with_trust_hint(tmp_path):
    cfg = {"class_name": "Sequential", "config": [
        {"class_name": "Lambda", "config": {"name": "lambda_1", "function": "e30=", "function_type": "lambda",
                                            "batch_input_shape": [None, 3], "output_shape": None,
                                            "output_shape_type": "raw", "arguments": {}}}]}
    path = tmp_path / "lam.json"
    import json

    path.write_text(json.dumps(cfg))
    with pytest.raises(UnsafeContentError, match="--trust-lambda") as info:
        kport.load(str(path))
    assert "lambda_1" in str(info.value)
    assert "not supported" not in str(info.value)  # --trust-lambda works (tests/test_legacy_lambda.py)


def test_merge_with_python_function_mode_is_refused(tmp_path):
    import json

    cfg = {"class_name": "Model", "config": {
        "name": "m", "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["mg", 0, 0]],
        "layers": [
            {"name": "a", "class_name": "InputLayer", "config": {"name": "a", "batch_input_shape": [None, 2]},
             "inbound_nodes": []},
            {"name": "b", "class_name": "InputLayer", "config": {"name": "b", "batch_input_shape": [None, 2]},
             "inbound_nodes": []},
            {"name": "mg", "class_name": "Merge", "config": {"name": "mg", "mode": "4wEAAAA=", "mode_type": "lambda",
                                                            "concat_axis": -1, "dot_axes": -1},
             "inbound_nodes": [[["a", 0, 0], ["b", 0, 0]]]}]}}
    path = tmp_path / "merge.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(UnsafeContentError, match="mg"):
        kport.load(str(path))


def test_truncated_pickle_is_a_format_error(tmp_path):
    data = pickle.dumps([np.zeros((4, 4), np.float32)], protocol=2)
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(KportError, match="not a readable pickle"):
        safe_unpickle.load_all(str(path))


def test_stub_objects_do_nothing_when_touched():
    # an allowed Theano global is an inert record: calling it runs nothing and keeps the arguments
    cls = safe_unpickle.resolve_global("theano.compile.function_module", "_constructor_Function")
    obj = cls("maker", io.BytesIO(b"x"))
    assert obj.args[0] == "maker" and not callable(obj)


def test_corrupted_pickles_fail_cleanly(tmp_path):
    # flipped bytes in a real Keras 1 model pickle: a kport error or a clean load, never another exception
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    source = (Path(__file__).resolve().parent.parent / "fixtures" / "legacy" / "keras122_py27"
              / "params_conv_th_py2.py2p2.pkl").read_bytes()
    path = tmp_path / "fuzzed.pkl"

    @hypothesis.settings(max_examples=150, deadline=None, derandomize=True)
    @hypothesis.given(st.lists(st.tuples(st.integers(0, len(source) - 1), st.integers(0, 255)), min_size=1,
                               max_size=4))
    def check(edits):
        data = bytearray(source)
        for pos, value in edits:
            data[pos] = value
        path.write_bytes(bytes(data))
        try:
            safe_unpickle.load_all(str(path))
        except KportError:
            pass

    check()


@pytest.mark.parametrize("payload", [
    _global("builtins", "bytearray", ()).replace(b"(tR", b"(I99999999999999\ntR"),
    b"cnumpy\nndarray\n((I100000\nI100000\nI100000\ntVf8\ntR.",
])
def test_absurd_allocations_are_refused(tmp_path, payload):
    path = tmp_path / "big.pkl"
    path.write_bytes(payload)
    with pytest.raises(UnsafeContentError, match="asks for a"):
        safe_unpickle.load_all(str(path))
