"""A restricted unpickler for Theano-era files: it imports nothing and runs nothing.

`find_class` never imports a module. Each global a pickle names is resolved
from a fixed table: numpy's array/dtype/scalar reconstructors become small safe
re-implementations, a few harmless builtins (set, slice, OrderedDict, ...) are
themselves, and classes and functions of the Theano family (theano, aesara,
pytensor, keras, lasagne, pylearn2, joblib wrappers) become inert `Stub` classes
that only record their constructor arguments and state. Every other global
(os.system, eval, getattr on a real object, nested pickle loads, unknown
modules, lookalike names) raises `UnsafeContentError` before anything runs.

Containers handled here: gzip/bz2 compression, several pickles appended in one
file, Theano `pkl_utils` zips (arrays as `.npy` members named by persistent ids)
and old joblib `NDArrayWrapper` side-car `.npy` files (read with
`allow_pickle=False`).
"""
from __future__ import annotations

import bz2
import collections
import gzip
import io
import os
import pathlib
import pickle
import zipfile
from typing import Any

import numpy as np

from kport.errors import FormatError, UnsafeContentError

# module prefixes whose classes and functions load as inert stubs (never imported)
STUB_PREFIXES = ("theano", "aesara", "pytensor", "keras", "lasagne", "pylearn2", "blocks", "fuel", "nolearn",
                 "sklearn.externals.joblib", "joblib", "pygpu")
# names that never load, even under a stub prefix: they mean "run this" in any real unpickler
DENIED_MODULES = {"os", "posix", "nt", "sys", "subprocess", "builtins", "__builtin__", "importlib", "pickle",
                  "cPickle", "_pickle", "marshal", "runpy", "ctypes", "socket", "shutil", "pty"}
DENIED_NAMES = {"system", "popen", "eval", "exec", "execfile", "compile", "__import__", "import_module", "getattr",
                "setattr", "delattr", "globals", "locals", "vars", "open", "input", "load", "loads", "apply",
                "func_load", "__reduce__", "__reduce_ex__", "__globals__", "__subclasses__", "__code__",
                "__builtins__", "__getattribute__", "__class__"}
MODULE_ALIASES = {"numpy._core": "numpy.core", "__builtin__": "builtins", "copy_reg": "copyreg",
                  "exceptions": "builtins"}
# a pickle may ask for an allocation of any size: refuse the absurd ones instead of exhausting memory
MAX_ALLOCATION = 1 << 34  # 16 GiB


def _sized(cls):
    """bytes / bytearray that refuse an integer size beyond MAX_ALLOCATION."""
    def make(*args):
        if args and isinstance(args[0], int) and args[0] > MAX_ALLOCATION:
            raise UnsafeContentError(f"the pickle asks for a {args[0]}-byte {cls.__name__}")
        return cls(*args)

    return make


SAFE_BUILTINS = {"object": object, "set": set, "frozenset": frozenset, "slice": slice, "complex": complex,
                 "bytearray": _sized(bytearray), "list": list, "dict": dict, "tuple": tuple, "int": int,
                 "float": float, "str": str, "bool": bool, "bytes": _sized(bytes), "long": int, "unicode": str,
                 "range": range}
NUMPY_SCALAR_TYPES = {"float16", "float32", "float64", "float128", "longdouble", "int8", "int16", "int32", "int64",
                      "uint8", "uint16", "uint32", "uint64", "bool_", "complex64", "complex128", "intc", "intp",
                      "float_", "int_", "longlong", "ulonglong", "object_", "str_", "bytes_"}
TEXT_ENCODINGS = {"latin1", "latin-1", "iso-8859-1", "utf-8", "utf8", "ascii"}


class Stub:
    """An inert stand-in for a pickled object of a class kport does not import.

    Attributes:
        args: positional arguments the pickle passed to the class (or function).
        kwargs: keyword arguments (NEWOBJ_EX).
        state: what `__setstate__` received (usually the instance `__dict__`).
        items: values appended by APPEND/APPENDS (list subclasses).
        entries: key/value pairs set by SETITEMS (dict subclasses).
    """

    path: str = ""

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.args, obj.kwargs, obj.state, obj.items, obj.entries = args, kwargs, None, [], {}
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.state = state

    def append(self, value):
        self.items.append(value)

    def extend(self, values):
        self.items.extend(values)

    def __setitem__(self, key, value):
        self.entries[key] = value

    @property
    def attrs(self) -> dict:
        """The recorded instance attributes (state dict, or the dict half of a (dict, slots) pair)."""
        s = self.state
        if isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], (dict, type(None))):
            merged = dict(s[0] or {})
            merged.update(s[1] or {})
            return merged
        return s if isinstance(s, dict) else {}

    def __repr__(self):
        return f"<pickled {self.path}>"


def is_stub(obj: Any, suffix: str | None = None) -> bool:
    """Whether `obj` is a stub instance (optionally of a class path ending in `suffix`)."""
    return isinstance(obj, Stub) and (suffix is None or obj.path.endswith(suffix))


def stub_path(obj: Any) -> str | None:
    """The dotted path of a stub class or instance (a pickled function reference is a stub class)."""
    if isinstance(obj, type) and issubclass(obj, Stub):
        return obj.path
    if isinstance(obj, Stub):
        return obj.path
    return None


# ---- safe re-implementations of the reconstructors pickles name ---------------------
class _NdarrayGlobal:
    """What the global `numpy.ndarray` loads as: the class argument of `_reconstruct`, or a sized constructor."""

    def __call__(self, shape, dtype=float, *args):
        return _new_array(shape, dtype, *args)

    def __repr__(self):
        return "numpy.ndarray"


NDARRAY = _NdarrayGlobal()


def _reconstruct(cls, shape, dtype):
    if cls is not NDARRAY and cls is not np.ndarray:
        raise UnsafeContentError(f"numpy array subclass {cls!r} is not loaded",
                                 hint="only plain numpy arrays are read from pickles")
    return _new_array(shape, dtype)


def _new_array(shape, dtype=float, *args):
    # numpy.ndarray(shape, dtype) allocates at once: check the size first
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in dims):
        raise UnsafeContentError(f"array shape {shape!r} is not a shape")
    nbytes = int(np.prod([int(d) for d in dims], dtype=object) or 0) * np.dtype(dtype).itemsize
    if nbytes > MAX_ALLOCATION:
        raise UnsafeContentError(f"the pickle asks for a {nbytes}-byte array")
    return np.ndarray.__new__(np.ndarray, dims, dtype, *args)


def _scalar(dtype, data=None):
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        return data
    if isinstance(data, str):
        data = data.encode("latin1")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0].copy()


def _frombuffer(buf, dtype, shape, order):
    arr = np.frombuffer(bytes(buf), dtype=np.dtype(dtype))
    return arr.reshape(shape, order=order).copy()


def _encode(text, encoding="utf-8"):
    if not isinstance(text, str) or str(encoding).lower() not in TEXT_ENCODINGS:
        raise UnsafeContentError(f"_codecs.encode with {encoding!r} is not loaded")
    return text.encode(encoding)


def _copyreg_reconstructor(cls, base, state):
    if isinstance(cls, type) and issubclass(cls, Stub):
        obj = cls.__new__(cls)
        if state is not None:
            obj.args = (state,)
        return obj
    if cls in (object, dict, list, set, collections.OrderedDict) and base in (object, dict, list, set):
        return base.__new__(cls) if base is object else base(state or ())
    raise UnsafeContentError(f"copyreg._reconstructor of {cls!r} is not loaded")


def _newobj(cls, *args):
    if isinstance(cls, type) and (issubclass(cls, Stub) or cls in SAFE_BUILTINS.values()
                                  or cls is collections.OrderedDict):
        return cls.__new__(cls, *args)
    raise UnsafeContentError(f"copyreg.__newobj__ of {cls!r} is not loaded")


def _safe_getattr(obj, name, *default):
    # Aesara pickles reach members through getattr (a TensorType's bound `filter`); only stubs
    # answer, with another inert stub
    is_stub_obj = isinstance(obj, Stub) or (isinstance(obj, type) and issubclass(obj, Stub))
    if is_stub_obj and isinstance(name, str) and name not in DENIED_NAMES and not name.startswith("__"):
        return _stub_class(f"{obj.path}.{name}")
    raise UnsafeContentError(f"getattr({obj!r}, {name!r}) is not loaded: a pickle may only look up names "
                             "inside the Theano family")


def _gpu_to_numpy(array, *context):
    # CudaNdarray_unpickler / GpuArray_unpickler receive the host copy as a numpy array
    return np.asarray(array)


_STUB_CLASSES: dict[str, type] = {}


def _stub_class(path: str) -> type:
    cls = _STUB_CLASSES.get(path)
    if cls is None:
        cls = type(path.rsplit(".", 1)[-1], (Stub,), {"path": path, "__module__": "kport.pickled"})
        _STUB_CLASSES[path] = cls
    return cls


NUMPY_FUNCTIONS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): NDARRAY,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "dtype"): np.dtype,
}
GPU_UNPICKLERS = {"CudaNdarray_unpickler", "GpuArray_unpickler"}


def resolve_global(module: str, name: str) -> Any:
    """Maps a pickled global to a safe object, or raises UnsafeContentError.

    Args:
        module: the module the pickle names (normalized: numpy._core, __builtin__, copy_reg).
        name: the attribute name within it.
    """
    module = MODULE_ALIASES.get(module, module)
    for old, new in MODULE_ALIASES.items():
        if module.startswith(old + "."):
            module = new + module[len(old):]
    key = (module, name)
    if key in NUMPY_FUNCTIONS:
        return NUMPY_FUNCTIONS[key]
    if module == "numpy" and name in NUMPY_SCALAR_TYPES:
        return getattr(np, name)
    if module == "_codecs" and name == "encode":
        return _encode
    if module == "copyreg" and name == "_reconstructor":
        return _copyreg_reconstructor
    if module == "copyreg" and name == "__newobj__":
        return _newobj
    if module == "builtins" and name in SAFE_BUILTINS:
        return SAFE_BUILTINS[name]
    if module == "builtins" and name == "getattr":
        return _safe_getattr
    if module == "builtins" and name.endswith(("Error", "Exception", "Warning")) and name.isidentifier():
        return _stub_class(f"builtins.{name}")
    if module == "collections" and name == "OrderedDict":
        return collections.OrderedDict
    if module in ("pathlib", "pathlib._local") and name in ("PosixPath", "PurePosixPath", "WindowsPath",
                                                           "PureWindowsPath", "Path"):
        return pathlib.PurePosixPath if "Posix" in name or name == "Path" else pathlib.PureWindowsPath
    if module == "numpy.random" and name == "__RandomState_ctor":
        return _stub_class("numpy.random.__RandomState_ctor")
    if module in ("numpy.random._pickle", "numpy.random.mtrand") and name in ("__randomstate_ctor", "RandomState",
                                                                             "__bit_generator_ctor"):
        return _stub_class(f"{module}.{name}")
    if any(module == p or module.startswith(p + ".") for p in STUB_PREFIXES):
        if name in DENIED_NAMES or any(part in DENIED_MODULES for part in module.split(".")):
            raise UnsafeContentError(f"the pickle names '{module}.{name}', which kport never loads",
                                     hint="the file asks to run code; it is not a plain model or weights pickle")
        if name in GPU_UNPICKLERS:
            return _gpu_to_numpy
        return _stub_class(f"{module}.{name}")
    raise UnsafeContentError(f"the pickle names '{module}.{name}', which kport does not load",
                             hint="kport reads Theano/Keras/Lasagne pickles without running code; anything else "
                                  "(code execution, other libraries' objects) is refused")


class RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose globals come only from `resolve_global` (nothing is imported)."""

    def __init__(self, fh, *, persistent=None, path: str | None = None):
        super().__init__(fh, encoding="latin1")
        self._persistent = persistent
        self._path = path

    def find_class(self, module, name):
        try:
            return resolve_global(str(module), str(name))
        except UnsafeContentError as err:
            raise err.with_context(path=self._path)

    def persistent_load(self, pid):
        if self._persistent is None:
            raise UnsafeContentError("the pickle uses persistent ids outside a pkl_utils zip", path=self._path)
        return self._persistent(pid)


# ---- files ------------------------------------------------------------------------
def load_all(path: str) -> list[Any]:
    """Reads every pickle in a file (compressed, appended or zipped) with the restricted unpickler.

    Raises:
        UnsafeContentError: the file names a global outside the whitelist (nothing ran).
        FormatError: the bytes are not a readable pickle.
    """
    path = str(path)
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith(b"PK\x03\x04"):
        return [_load_pkl_utils_zip(path, data)]
    try:
        if data.startswith(b"\x1f\x8b"):
            data = gzip.decompress(data)
        elif data.startswith(b"BZh"):
            data = bz2.decompress(data)
    except (OSError, EOFError, ValueError) as err:
        raise FormatError(f"cannot decompress ({err})", path=path, hint="the file is truncated or corrupt")
    objs = _load_stream(data, path)
    return [resolve_sidecars(o, os.path.dirname(os.path.abspath(path)), path) for o in objs]


def loads(data: bytes, path: str) -> Any:
    """Reads one pickle held in memory (e.g. nested inside another) with the same restrictions."""
    objs = _load_stream(bytes(data), path)
    if not objs:
        raise FormatError("an embedded pickle is empty", path=path)
    return objs[0]


def _load_stream(data: bytes, path: str, persistent=None) -> list[Any]:
    bio = io.BytesIO(data)
    objs = []
    while True:
        rest = data[bio.tell():]
        if not rest.strip():
            break
        try:
            objs.append(RestrictedUnpickler(bio, persistent=persistent, path=path).load())
        except UnsafeContentError as err:
            raise err.with_context(path=path)
        except RecursionError:
            raise FormatError("the pickle nests too deeply to read", path=path)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
                UnicodeDecodeError, MemoryError) as err:
            if objs:  # trailing bytes after complete pickles: keep what was read
                break
            raise FormatError(f"not a readable pickle ({type(err).__name__}: {err})", path=path,
                              hint="the file is truncated, corrupt, or not a pickle")
    return objs


def is_pkl_utils_zip(path: str) -> bool:
    """Whether a zip is a Theano `pkl_utils.dump` file (a `pkl` member, no Keras `config.json`)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "pkl" in names and "config.json" not in names


def _load_pkl_utils_zip(path: str, data: bytes) -> Any:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = set(zf.namelist())
    except zipfile.BadZipFile as err:
        raise FormatError(f"cannot read the zip ({err})", path=path)
    if "pkl" not in names:
        raise FormatError("zip file without a 'pkl' member is not a Theano pkl_utils file", path=path)

    def persistent(pid):
        kind, _, member = str(pid).partition(".")
        if member not in names:
            raise FormatError(f"persistent id '{pid}' names no member of the zip", path=path)
        raw = zf.read(member)
        if kind == "gpuarray":  # a pickled context name, then the array
            bio = io.BytesIO(raw)
            RestrictedUnpickler(bio, path=path).load()
            return np.load(bio, allow_pickle=False)
        if kind in ("ndarray", "cuda_ndarray"):
            return np.load(io.BytesIO(raw), allow_pickle=False)
        raise UnsafeContentError(f"unknown persistent id kind '{kind}'", path=path)

    return _load_stream(zf.read("pkl"), path, persistent)[0]


def resolve_sidecars(obj: Any, folder: str, path: str, _seen=None) -> Any:
    """Replaces joblib `NDArrayWrapper` stubs by the side-car `.npy` arrays they name."""
    if is_stub(obj, "NDArrayWrapper"):
        fname = obj.attrs.get("filename")
        if isinstance(fname, bytes):
            fname = fname.decode("latin1")
        if not isinstance(fname, str) or os.path.basename(fname) != fname or fname in ("", ".", ".."):
            raise UnsafeContentError(f"NDArrayWrapper names the file {fname!r} outside the pickle's folder", path=path)
        side = os.path.join(folder, fname)
        if not os.path.exists(side):
            raise FormatError(f"side-car array file '{fname}' is missing", path=path,
                              hint="keep the .npy files joblib wrote next to the pickle")
        return np.load(side, allow_pickle=False)
    if isinstance(obj, list):
        return [resolve_sidecars(o, folder, path) for o in obj]
    if isinstance(obj, tuple):
        return tuple(resolve_sidecars(o, folder, path) for o in obj)
    if isinstance(obj, dict):
        return type(obj)((k, resolve_sidecars(v, folder, path)) for k, v in obj.items())
    return obj
