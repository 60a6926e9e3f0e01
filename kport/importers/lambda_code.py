"""A Lambda's stored function -> a callable the tracer can drive (only with --trust-lambda).

What the eras store (`function` with `function_type`, or Merge `mode` with `mode_type`):
- Keras 1.0-1.1: a raw_unicode_escape'd `marshal.dumps(code)` string;
- Keras 1.2-2.x, tf.keras: `[code, defaults, closure]`, code base64 (raw_unicode_escape before 2.0);
- Keras 3 `.keras`: `{"class_name": "__lambda__", "config": {"code", "defaults", "closure"}}`;
- `function_type: 'function'` (Keras 3: `{"class_name": "function"}`): a module function by name.

Python 3.11 bytecode (this interpreter) becomes a real function whose globals
are the shim backend and a few harmless builtins, after a static check: every
instruction must be a valid 3.11 opcode with its caches, no import / global or
attribute store, and no name starting with `_` (which closes the attribute walks
`().__class__.__bases__` that lead out of the sandbox). Bytecode of other
Python 3 versions is refused before anything runs, unless it is also valid,
stack-consistent 3.11 bytecode (the simplest arithmetic lambdas are
byte-identical in 3.11 and 3.12, and mean the same). Python 2 bytecode is never
run: py2_marshal reads it and py2_bytecode evaluates it symbolically.

The trace runs in the importing process: the function only ever sees proxies,
the shim and constants, and building IR objects needs the importer's graph.
"""
from __future__ import annotations

import base64
import binascii
import dis
import inspect
import marshal
import opcode
import sys
import types
from typing import Any, Callable

from kport.errors import FormatError, UnsafeContentError, UnsupportedLayerError

_FORBIDDEN = {"IMPORT_NAME", "IMPORT_FROM", "IMPORT_STAR", "STORE_GLOBAL", "DELETE_GLOBAL", "STORE_ATTR",
              "DELETE_ATTR", "STORE_NAME", "DELETE_NAME", "LOAD_NAME", "LOAD_CLASSDEREF", "SETUP_ANNOTATIONS",
              "LOAD_BUILD_CLASS", "YIELD_VALUE", "GET_AWAITABLE", "SEND", "PRINT_EXPR"}
# array methods that reach files or raw memory (numpy constants are real arrays), and the frame and
# generator attributes that lead to other frames' globals (and from there to any module)
_DENIED_ATTRIBUTES = {"tofile", "dump", "ctypes", "fromfile", "memmap", "load", "save", "savez", "savetxt",
                      "loadtxt", "genfromtxt", "system", "popen", "gi_frame", "gi_code", "gi_yieldfrom",
                      "gi_suspended", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code", "ag_await",
                      "f_back", "f_globals", "f_builtins", "f_locals", "f_code", "tb_frame", "tb_next",
                      "co_consts", "mro"}
# generators and coroutines expose their frames; a Lambda needs neither
_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | \
    inspect.CO_ITERABLE_COROUTINE
_PY_TAG = f"{sys.version_info[0]}.{sys.version_info[1]}"

# Keras backend / TF / numpy modules whose functions map onto the shim by name
_KNOWN_MODULES = (("keras.backend", "K"), ("keras.src.backend", "K"), ("tf_keras", "K"), ("keras.ops", "ops"),
                  ("keras.src.ops", "ops"), ("tensorflow", "tf"), ("numpy", "np"), ("theano.tensor", "K"))


def load(stored: Any, function_type: str | None, module: str | None, ctx) -> Callable:
    """Returns `f(tracer, inputs, arguments) -> proxies` for a stored Lambda / Merge function.

    Raises:
        UnsupportedLayerError: a function defined in the user's code (only its name is stored).
        UnsafeContentError: bytecode that fails the static check.
        FormatError: bytecode kport cannot read (another Python 3 version, corrupt).
    """
    if isinstance(stored, dict):  # Keras 3
        cfg = stored.get("config")
        if stored.get("class_name") == "__lambda__" and isinstance(cfg, dict):
            return _from_code(cfg.get("code"), cfg.get("defaults"), cfg.get("closure"), ctx)
        return _named(str(cfg), stored.get("module") or module, ctx)
    if function_type == "function":
        return _named(str(stored), module, ctx)
    if isinstance(stored, (list, tuple)) and len(stored) == 3:
        return _from_code(*stored, ctx)
    if isinstance(stored, str):
        return _from_code(stored, None, None, ctx)
    raise FormatError(f"the Lambda's function is stored as {type(stored).__name__}, which kport cannot read",
                      path=ctx.path, layer=ctx.layer)


def _named(name: str, module: str | None, ctx) -> Callable:
    module = module or ""
    ns = next((alias for prefix, alias in _KNOWN_MODULES if module.startswith(prefix)), None)
    if ns is None:
        raise UnsupportedLayerError(
            f"Lambda calls the function {module + '.' if module else ''}{name}, defined outside the file "
            "(only its name is stored)", path=ctx.path, layer=ctx.layer,
            hint="rewrite it as a lambda or with Keras layers; kport maps only Keras backend, TF and numpy functions")

    def call(tracer, inputs, arguments):
        from kport.importers.lambda_backend_shim import lambda_globals

        return getattr(lambda_globals(tracer)[ns], name)(inputs, **arguments)

    return call


def decode_bytes(code: str | bytes) -> bytes:
    """The marshal bytes of a stored code string (base64 since Keras 2, raw_unicode_escape before)."""
    if isinstance(code, bytes):
        return code
    try:  # base64 text is ascii in lines; marshal bytes always hold characters outside its alphabet
        return base64.b64decode("".join(code.split()).encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return code.encode("raw_unicode_escape")


def _from_code(code: Any, defaults, closure, ctx) -> Callable:
    if not isinstance(code, (str, bytes)) or not code:
        raise FormatError("the Lambda's code is missing", path=ctx.path, layer=ctx.layer)
    raw = decode_bytes(code)
    if raw[:1] == b"c":  # Python 2 (and <= 3.3) marshal a code object as plain 'c'
        from kport.importers import py2_bytecode, py2_marshal

        try:
            code2 = py2_marshal.loads(raw)
        except py2_marshal.MarshalError as err:
            raise FormatError(f"the Lambda's bytecode cannot be read as Python 2: {err}", path=ctx.path,
                              layer=ctx.layer, hint="re-save the model with Python 3.11, or rewrite the Lambda")
        return py2_bytecode.evaluator(code2, defaults, closure, ctx)
    return _python3(raw, defaults, closure, ctx)


def _python3(raw: bytes, defaults, closure, ctx) -> Callable:
    other = FormatError(f"the Lambda's bytecode was not written by Python {_PY_TAG}, the only Python 3 version "
                        "whose bytecode kport can evaluate", path=ctx.path, layer=ctx.layer,
                        hint=f"re-save the model with Python {_PY_TAG}, or rewrite the Lambda with Keras layers")
    try:
        code = marshal.loads(raw)
    except (ValueError, EOFError, TypeError, SystemError):  # older layouts fail inside marshal itself
        raise other from None
    if not isinstance(code, types.CodeType):
        raise other
    check_code(code, ctx, other)
    n_free = len(code.co_freevars)
    cells = tuple(closure) if closure else ()
    if len(cells) != n_free:
        raise FormatError(f"the Lambda's closure has {len(cells)} values, its code needs {n_free}",
                          path=ctx.path, layer=ctx.layer)
    defaults = tuple(defaults) if defaults else None

    def call(tracer, inputs, arguments):
        from kport.importers.lambda_backend_shim import SAFE_BUILTINS, lambda_globals

        scope = lambda_globals(tracer)
        scope["__builtins__"] = dict(SAFE_BUILTINS)
        fn = types.FunctionType(code, scope, code.co_name, defaults,
                                tuple(types.CellType(v) for v in cells) if n_free else None)
        try:
            return fn(inputs, **arguments)
        except NameError as err:
            raise tracer.refuse(f"the name {str(err).split(chr(39))[1] if chr(39) in str(err) else err}",
                                "kport's Lambda tracer provides K, tf, keras.ops, np and a few builtins") from None

    return call


def check_code(code: types.CodeType, ctx, other: Exception) -> None:
    """Refuses code objects that are not valid Python 3.11 bytecode or that reach Python internals.

    Structure first (so another version's bytecode reads as such): every opcode known with its inline
    caches, argument indices in range, jump targets on instructions and a stack depth that stays
    within 0..co_stacksize on every path. Then safety: no forbidden instruction, no `_` name.
    """
    _check_flags(code, ctx)
    _check_structure(code, other)
    _check_safety(code, ctx)


def _check_flags(code: types.CodeType, ctx) -> None:
    if code.co_flags & _GENERATOR_FLAGS:
        raise _unsafe("a generator or coroutine (their frames reach other modules)", ctx)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _check_flags(const, ctx)


_TERMINAL = {"RETURN_VALUE", "RAISE_VARARGS", "RERAISE", "JUMP_FORWARD", "JUMP_BACKWARD",
             "JUMP_BACKWARD_NO_INTERRUPT"}


def _check_structure(code: types.CodeType, other: Exception) -> None:
    raw = code.co_code
    if len(raw) % 2:
        raise other
    i = 0
    caches = getattr(opcode, "_inline_cache_entries", [0] * 256)
    while i < len(raw):
        op = raw[i]
        name = opcode.opname[op]
        if name.startswith("<") or name == "CACHE":
            raise other
        n = caches[op]
        if i + 2 + 2 * n > len(raw) or any(raw[i + 2 + 2 * k] != 0 for k in range(n)):
            raise other
        i += 2 + 2 * n
    if code.co_exceptiontable:  # try/with blocks: not Lambda material, and not checked below
        raise other
    try:
        instructions = list(dis.get_instructions(code))
        if any(ins.opname.startswith("<") for ins in instructions) or not _stack_ok(code, instructions):
            raise other
    except (IndexError, ValueError, KeyError, TypeError):
        raise other from None
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _check_structure(const, other)


def _stack_ok(code: types.CodeType, instructions: list) -> bool:
    """Follows every path, checking the stack depth the way the compiler computed co_stacksize."""
    index = {ins.offset: i for i, ins in enumerate(instructions)}
    seen: dict[int, int] = {}
    work = [(0, 0)]
    while work:
        i, depth = work.pop()
        while i < len(instructions):
            ins = instructions[i]
            if ins.offset in seen:
                if seen[ins.offset] != depth:
                    return False
                break
            seen[ins.offset] = depth
            arg = ins.arg if ins.opcode >= opcode.HAVE_ARGUMENT else None
            if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
                if ins.argval not in index:
                    return False
                jumped = depth + dis.stack_effect(ins.opcode, arg, jump=True)
                if not 0 <= jumped <= code.co_stacksize:
                    return False
                work.append((index[ins.argval], jumped))
            if ins.opname in _TERMINAL:
                break
            depth += dis.stack_effect(ins.opcode, arg, jump=False)
            if not 0 <= depth <= code.co_stacksize:
                return False
            i += 1
    return True


def _check_safety(code: types.CodeType, ctx) -> None:
    for ins in dis.get_instructions(code):
        if ins.opname in _FORBIDDEN:
            raise _unsafe(f"instruction {ins.opname}", ctx)
    for name in code.co_names:
        if name.startswith("_"):
            raise _unsafe(f"the name '{name}' (Python internals)", ctx)
        if name in _DENIED_ATTRIBUTES:
            raise _unsafe(f"the name '{name}' (file, memory or frame access)", ctx)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _check_safety(const, ctx)


def _unsafe(what: str, ctx) -> UnsafeContentError:
    return UnsafeContentError(f"the Lambda's code uses {what}; kport refuses it even with --trust-lambda",
                              path=ctx.path, layer=ctx.layer, hint="rewrite the Lambda with Keras layers")


__all__ = ["load", "decode_bytes", "check_code"]
