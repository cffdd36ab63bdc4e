"""Writing files safely: ``atomic_path(path)`` gives a temporary path in the same directory and
renames it over ``path`` only when writing succeeded, so a crash never leaves a half-written
file (checkpoints, traces, pictures, benchmark tables). Used by every writer in ember.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(path):
    """``with atomic_path(path) as tmp: write(tmp)`` — then ``tmp`` replaces ``path``.

    The temporary file is removed if writing fails; the final file gets the permissions a
    plain ``open()`` would give it (``mkstemp`` makes it owner-only).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
