"""Turning the low-level errors a damaged file provokes into one clear FormatError."""
from __future__ import annotations

from contextlib import contextmanager

from kport.errors import FormatError, KportError


@contextmanager
def reading(path: str):
    """Reads inside this block report a damaged file as a FormatError naming it.

    h5py answers a corrupt byte with OSError, RuntimeError or KeyError, and a
    damaged JSON attribute fails to parse (ValueError); all mean the same to a
    user: the file is damaged.
    """
    try:
        yield
    except KportError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError) as err:
        raise FormatError(f"the file is damaged ({type(err).__name__}: {err})", path=path,
                          hint="it is truncated or corrupt; copy or save it again") from err
