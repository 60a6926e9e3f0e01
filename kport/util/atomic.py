"""Atomic writes: outputs appear whole or not at all."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def atomic_write(path, *, directory: bool = False):
    """Yields a temporary path beside `path`; renames it into place on success.

    On any exception the temporary file (or folder) is removed and `path` is
    left as it was, so a failed conversion never leaves a partial output.
    """
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    base = os.path.basename(path)
    if directory:
        tmp = tempfile.mkdtemp(prefix=f".{base}.", suffix=".tmp", dir=parent)
    else:
        # keep the extension: some writers (torch.export) check it
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp" + os.path.splitext(base)[1], dir=parent)
        os.close(fd)
    try:
        yield tmp
        if directory and os.path.isdir(path):
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.exists(tmp):
            os.remove(tmp)
        raise
