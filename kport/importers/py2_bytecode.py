"""A symbolic evaluator for Python 2.7 Lambda bytecode: it drives the tracer's proxies and runs nothing.

Only straight-line code over a whitelist of opcodes is evaluated (loads, arithmetic,
subscripts and slices, tuple/list building, calls, return). Every callable it can
reach comes from the shim backend or a few harmless builtins, because constants in
marshal data are plain values and attributes are read only from shim namespaces
(names without a leading underscore) and a tensor's shape facts. Anything else
(imports, jumps, function definitions, other opcodes) is refused, naming it.
Opcode numbers and the stack effects are Python 2.7's (Include/opcode.h, ceval.c).
"""
from __future__ import annotations

import operator
from typing import Any, Callable

from kport.errors import UnsafeContentError, UnsupportedLayerError
from kport.importers.py2_marshal import Py2Code

HAVE_ARGUMENT = 90
EXTENDED_ARG = 145
CO_VARARGS, CO_VARKEYWORDS = 0x04, 0x08
_COMPARE = (operator.lt, operator.le, operator.eq, operator.ne, operator.gt, operator.ge)
_PROXY_ATTRS = ("shape", "ndim", "dtype", "T")
_MAX_STEPS = 10000

# Python 2.7 opcode number -> name, for the opcodes evaluated here
OPCODES = {
    1: "POP_TOP", 2: "ROT_TWO", 3: "ROT_THREE", 4: "DUP_TOP", 9: "NOP", 10: "UNARY_POSITIVE",
    11: "UNARY_NEGATIVE", 19: "BINARY_POWER", 20: "BINARY_MULTIPLY", 21: "BINARY_DIVIDE", 22: "BINARY_MODULO",
    23: "BINARY_ADD", 24: "BINARY_SUBTRACT", 25: "BINARY_SUBSCR", 26: "BINARY_FLOOR_DIVIDE",
    27: "BINARY_TRUE_DIVIDE", 28: "INPLACE_FLOOR_DIVIDE", 29: "INPLACE_TRUE_DIVIDE", 30: "SLICE+0",
    31: "SLICE+1", 32: "SLICE+2", 33: "SLICE+3", 55: "INPLACE_ADD", 56: "INPLACE_SUBTRACT",
    57: "INPLACE_MULTIPLY", 58: "INPLACE_DIVIDE", 67: "INPLACE_POWER", 83: "RETURN_VALUE",
    92: "UNPACK_SEQUENCE", 100: "LOAD_CONST", 102: "BUILD_TUPLE", 103: "BUILD_LIST", 106: "LOAD_ATTR",
    107: "COMPARE_OP", 116: "LOAD_GLOBAL", 124: "LOAD_FAST", 125: "STORE_FAST", 131: "CALL_FUNCTION",
    133: "BUILD_SLICE", 136: "LOAD_DEREF", 141: "CALL_FUNCTION_KW",
}
# names of refused opcodes worth spelling out in the error
REFUSED = {84: "IMPORT_STAR", 85: "EXEC_STMT", 108: "IMPORT_NAME", 109: "IMPORT_FROM", 132: "MAKE_FUNCTION",
           134: "MAKE_CLOSURE", 95: "STORE_ATTR", 97: "STORE_GLOBAL", 101: "LOAD_NAME", 90: "STORE_NAME",
           110: "JUMP_FORWARD", 113: "JUMP_ABSOLUTE", 114: "POP_JUMP_IF_FALSE", 115: "POP_JUMP_IF_TRUE",
           93: "FOR_ITER", 68: "GET_ITER", 111: "JUMP_IF_FALSE_OR_POP", 112: "JUMP_IF_TRUE_OR_POP", 140: "CALL_FUNCTION_VAR", 142: "CALL_FUNCTION_VAR_KW", 71: "PRINT_ITEM"}


def _py2_div(a, b):
    """Python 2 `/` without `from __future__ import division`: ints floor, everything else divides."""
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool) and not isinstance(b, bool):
        return a // b
    return a / b


_BINARY = {
    "BINARY_POWER": operator.pow, "INPLACE_POWER": operator.pow, "BINARY_MULTIPLY": operator.mul,
    "INPLACE_MULTIPLY": operator.mul, "BINARY_DIVIDE": _py2_div, "INPLACE_DIVIDE": _py2_div,
    "BINARY_TRUE_DIVIDE": operator.truediv, "INPLACE_TRUE_DIVIDE": operator.truediv,
    "BINARY_FLOOR_DIVIDE": operator.floordiv, "INPLACE_FLOOR_DIVIDE": operator.floordiv,
    "BINARY_MODULO": operator.mod, "BINARY_ADD": operator.add, "INPLACE_ADD": operator.add,
    "BINARY_SUBTRACT": operator.sub, "INPLACE_SUBTRACT": operator.sub, "BINARY_SUBSCR": operator.getitem,
}


def evaluator(code: Py2Code, defaults, closure, ctx) -> Callable:
    """Returns `f(tracer, inputs, arguments)` evaluating `code` on the tracer's proxies.

    Raises:
        UnsafeContentError: the code holds an opcode outside the whitelist (checked before any tracing).
    """
    instructions = decode(code, ctx)
    if code.flags & (CO_VARARGS | CO_VARKEYWORDS):
        raise _unsupported("*args / **kwargs parameters", ctx)
    cells = list(closure or ())
    if len(cells) != len(code.freevars):
        raise UnsupportedLayerError(f"the Lambda's closure has {len(cells)} values, its code needs "
                                    f"{len(code.freevars)}", path=ctx.path, layer=ctx.layer)

    def call(tracer, inputs, arguments):
        from kport.importers.lambda_backend_shim import SAFE_BUILTINS, lambda_globals

        scope = lambda_globals(tracer)
        local = _bind(code, inputs, arguments, tuple(defaults or ()), ctx)
        return _run(code, instructions, scope, SAFE_BUILTINS, local, cells, tracer, ctx)

    return call


def decode(code: Py2Code, ctx) -> list[tuple[str, int]]:
    """The code's instructions as (name, argument), refusing any opcode outside the whitelist."""
    raw, out, i, ext = code.code, [], 0, 0
    while i < len(raw):
        op = raw[i]
        arg = None
        if op >= HAVE_ARGUMENT:
            if i + 2 >= len(raw):
                raise UnsupportedLayerError("the Lambda's Python 2 bytecode is truncated", path=ctx.path,
                                            layer=ctx.layer)
            arg = raw[i + 1] | (raw[i + 2] << 8) | ext
            i += 3
        else:
            i += 1
        if op == EXTENDED_ARG:
            ext = arg << 16
            continue
        ext = 0
        name = OPCODES.get(op)
        if name is None:
            what = REFUSED.get(op, f"opcode {op}")
            raise UnsafeContentError(f"the Lambda's Python 2 code uses {what}, which kport does not evaluate",
                                     path=ctx.path, layer=ctx.layer,
                                     hint="rewrite the Lambda as one expression over K functions, or with Keras layers")
        out.append((name, arg))
    return out


def _unsupported(what: str, ctx) -> UnsupportedLayerError:
    return UnsupportedLayerError(f"the Lambda's Python 2 code uses {what}, which kport does not evaluate",
                                 path=ctx.path, layer=ctx.layer, hint="rewrite the Lambda with Keras layers")


def _bind(code: Py2Code, inputs, arguments: dict, defaults: tuple, ctx) -> dict:
    params = code.varnames[:code.argcount]
    if not params:
        raise _unsupported("no parameter for its input", ctx)
    values = {params[0]: inputs}
    first_default = len(params) - len(defaults)
    for k, name in enumerate(params[1:], start=1):
        if name in arguments:
            values[name] = arguments[name]
        elif k >= first_default:
            values[name] = defaults[k - first_default]
        else:
            raise UnsupportedLayerError(f"the Lambda's argument '{name}' has no value", path=ctx.path,
                                        layer=ctx.layer, hint="the layer's `arguments` must give it")
    extra = sorted(set(arguments) - set(params))
    if extra:
        raise UnsupportedLayerError(f"the Lambda gets arguments {extra} it does not take", path=ctx.path,
                                    layer=ctx.layer)
    return values


def _attribute(obj, name: str, tracer, ctx):
    from kport.importers.lambda_backend_shim import Namespace
    from kport.importers.lambda_trace import Proxy

    if name.startswith("_"):
        raise UnsafeContentError(f"the Lambda's Python 2 code reads the attribute '{name}' (Python internals)",
                                 path=ctx.path, layer=ctx.layer, hint="rewrite the Lambda with Keras layers")
    if isinstance(obj, Namespace):
        return getattr(obj, name)
    if isinstance(obj, Proxy) and name in _PROXY_ATTRS:
        return getattr(obj, name)
    raise tracer.refuse(f"the attribute .{name} of a {type(obj).__name__}")


def _run(code: Py2Code, instructions, scope: dict, builtins: dict, local: dict, cells: list, tracer, ctx):
    stack: list[Any] = []
    for steps, (name, arg) in enumerate(instructions):
        if steps > _MAX_STEPS:
            raise _unsupported("too many instructions", ctx)
        if name in _BINARY:
            b, a = stack.pop(), stack.pop()
            stack.append(_BINARY[name](a, b))
        elif name == "LOAD_FAST":
            var = code.varnames[arg]
            if var not in local:
                raise _unsupported(f"the unbound local '{var}'", ctx)
            stack.append(local[var])
        elif name == "STORE_FAST":
            local[code.varnames[arg]] = stack.pop()
        elif name == "LOAD_CONST":
            value = code.consts[arg]
            if isinstance(value, Py2Code):
                raise _unsupported("a nested function", ctx)
            stack.append(value)
        elif name == "LOAD_GLOBAL":
            var = code.names[arg]
            if var.startswith("_"):
                raise UnsafeContentError(f"the Lambda's Python 2 code uses the name '{var}' (Python internals)",
                                         path=ctx.path, layer=ctx.layer, hint="rewrite the Lambda with Keras layers")
            if var in scope:
                stack.append(scope[var])
            elif var in builtins:
                stack.append(builtins[var])
            else:
                raise tracer.refuse(f"the name {var}", "kport's Lambda tracer provides K, tf, np and a few builtins")
        elif name == "LOAD_DEREF":
            index = arg - len(code.cellvars)
            if not 0 <= index < len(cells):
                raise _unsupported("a cell variable", ctx)
            stack.append(cells[index])
        elif name == "LOAD_ATTR":
            stack.append(_attribute(stack.pop(), code.names[arg], tracer, ctx))
        elif name in ("CALL_FUNCTION", "CALL_FUNCTION_KW"):
            kwargs = stack.pop() if name == "CALL_FUNCTION_KW" else {}
            if not isinstance(kwargs, dict):
                raise _unsupported("a **mapping that is not a dict", ctx)
            n_pos, n_kw = arg & 0xFF, (arg >> 8) & 0xFF
            for _ in range(n_kw):
                value, key = stack.pop(), stack.pop()
                kwargs = {str(key): value, **kwargs}
            args = [stack.pop() for _ in range(n_pos)][::-1]
            fn = stack.pop()
            if not callable(fn):
                raise tracer.refuse(f"a call of a {type(fn).__name__}")
            stack.append(fn(*args, **kwargs))
        elif name == "BUILD_TUPLE" or name == "BUILD_LIST":
            items = stack[len(stack) - arg:] if arg else []
            del stack[len(stack) - arg:]
            stack.append(tuple(items) if name == "BUILD_TUPLE" else list(items))
        elif name == "BUILD_SLICE":
            parts = [stack.pop() for _ in range(arg)][::-1]
            stack.append(slice(*parts))
        elif name.startswith("SLICE+"):
            kind = int(name[-1])
            stop = stack.pop() if kind & 2 else None
            start = stack.pop() if kind & 1 else None
            stack.append(stack.pop()[start:stop])
        elif name == "UNARY_NEGATIVE":
            stack.append(-stack.pop())
        elif name == "UNARY_POSITIVE":
            stack.append(+stack.pop())
        elif name == "COMPARE_OP":
            if arg >= len(_COMPARE):
                raise _unsupported("a comparison other than < <= == != > >=", ctx)
            b, a = stack.pop(), stack.pop()
            stack.append(_COMPARE[arg](a, b))
        elif name == "UNPACK_SEQUENCE":
            seq = stack.pop()
            if not isinstance(seq, (list, tuple)) or len(seq) != arg:
                raise _unsupported(f"unpacking into {arg} names", ctx)
            stack.extend(reversed(seq))
        elif name == "POP_TOP":
            stack.pop()
        elif name == "DUP_TOP":
            stack.append(stack[-1])
        elif name == "ROT_TWO":
            stack[-1], stack[-2] = stack[-2], stack[-1]
        elif name == "ROT_THREE":
            stack[-1], stack[-2], stack[-3] = stack[-2], stack[-3], stack[-1]
        elif name == "RETURN_VALUE":
            return stack.pop()
    raise _unsupported("code that does not return", ctx)


__all__ = ["evaluator", "decode", "OPCODES"]
