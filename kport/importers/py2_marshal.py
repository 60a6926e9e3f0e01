"""A reader for Python 2.7 `marshal` data (what Keras 1 on Python 2 stored for Lambda functions).

Python 3 cannot load Python 2 marshal data, and must never run its bytecode;
this reader only rebuilds the data: code objects become `Py2Code` records, byte
strings become `str` (latin-1, as Python 2 `str` held bytes), everything else its
Python 3 equivalent. Layout facts (Python 2.7 marshal.c): one type byte, then
little-endian int32 sizes; code objects hold argcount, nlocals, stacksize, flags,
then code, consts, names, varnames, freevars, cellvars, filename, name,
firstlineno and lnotab; 't' strings are interned and later referenced by 'R' index.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

_MAX_DEPTH = 64


class MarshalError(ValueError):
    """The data is not Python 2 marshal data kport can read."""


@dataclass
class Py2Code:
    """A Python 2 code object, as data (never executed)."""

    argcount: int = 0
    nlocals: int = 0
    stacksize: int = 0
    flags: int = 0
    code: bytes = b""
    consts: tuple = ()
    names: tuple = ()
    varnames: tuple = ()
    freevars: tuple = ()
    cellvars: tuple = ()
    filename: str = ""
    name: str = ""
    firstlineno: int = 0
    lnotab: bytes = field(default=b"", repr=False)


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.interned: list[str] = []

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise MarshalError("truncated data")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def string(self, kind: bytes) -> str:
        n = self.int32()
        raw = self.take(n)
        if kind == b"u":
            return raw.decode("utf-8", errors="strict")
        text = raw.decode("latin-1")
        if kind == b"t":
            self.interned.append(text)
        return text

    def read(self, depth: int = 0):
        if depth > _MAX_DEPTH:
            raise MarshalError("nesting too deep")
        kind = self.take(1)
        simple = {b"N": None, b"F": False, b"T": True, b".": Ellipsis}
        if kind in simple:
            return simple[kind]
        if kind == b"i":
            return self.int32()
        if kind == b"I":
            return struct.unpack("<q", self.take(8))[0]
        if kind == b"l":  # long: signed digit count, then 15-bit digits
            n = self.int32()
            value = 0
            for k, (digit,) in enumerate(struct.iter_unpack("<H", self.take(2 * abs(n)))):
                value |= digit << (15 * k)
            return -value if n < 0 else value
        if kind == b"g":
            return struct.unpack("<d", self.take(8))[0]
        if kind == b"f":
            n = self.take(1)[0]
            try:
                return float(self.take(n).decode("ascii"))
            except ValueError:
                raise MarshalError("bad float") from None
        if kind in (b"s", b"t", b"u"):
            return self.string(kind)
        if kind == b"R":
            index = self.int32()
            if not 0 <= index < len(self.interned):
                raise MarshalError("bad string reference")
            return self.interned[index]
        if kind in (b"(", b"["):
            n = self.int32()
            if n < 0 or n > len(self.data):
                raise MarshalError("bad size")
            items = [self.read(depth + 1) for _ in range(n)]
            return tuple(items) if kind == b"(" else items
        if kind == b"c":
            return self.code(depth)
        raise MarshalError(f"type code {kind!r} is not supported")

    def code(self, depth: int) -> Py2Code:
        argcount, nlocals, stacksize, flags = (self.int32() for _ in range(4))
        parts = [self.read(depth + 1) for _ in range(8)]
        code, consts, names, varnames, freevars, cellvars, filename, name = parts
        firstlineno = self.int32()
        lnotab = self.read(depth + 1)
        if not isinstance(code, str) or not all(isinstance(t, tuple) for t in (consts, names, varnames, freevars,
                                                                               cellvars)):
            raise MarshalError("malformed code object")
        if not all(isinstance(n, str) for n in names + varnames + freevars + cellvars):
            raise MarshalError("malformed code object names")
        return Py2Code(argcount, nlocals, stacksize, flags, code.encode("latin-1"), consts, names, varnames,
                       freevars, cellvars, str(filename), str(name), firstlineno,
                       str(lnotab).encode("latin-1"))


def loads(data: bytes):
    """Reads one Python 2 marshal object (a code object for a Lambda).

    Raises:
        MarshalError: truncated, malformed or unsupported data.
    """
    reader = _Reader(bytes(data))
    value = reader.read()
    return value


__all__ = ["loads", "Py2Code", "MarshalError"]
