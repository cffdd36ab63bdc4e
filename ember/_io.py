"""Writing files safely: the one way ember writes files (checkpoints, traces, pictures, tables).

Contract:
- ``with atomic_open(path) as f: f.write(...)`` and ``with atomic_path(path) as tmp: write(tmp)``
  replace ``path`` with what was written only when the block succeeds, flushed to disk first, so
  a crash, an exception or SIGKILL never leaves a half-written file: readers see the old content
  or the new one.
- Nothing is left behind. On Linux ``atomic_open`` writes an anonymous ``O_TMPFILE`` inode that
  the kernel frees if the process dies; it gets a name only for the instant between linking it
  into the directory and renaming it over ``path``. Elsewhere (no ``O_TMPFILE``, a filesystem
  that refuses it, and always for ``atomic_path``, whose callers need a path) the temporary is
  a named file ``.<name>.ember-tmp-<pid>-<random>`` next to the target. A temporary whose writer
  died (SIGKILL, power loss) is removed by the next write of the same target.
- A symlink is written through, as ``open(path, "w")`` does: the link stays a link and the file
  it points to gets the new content (and a dangling link's target is created).
- The new file keeps the permission bits of the file it replaces; a new file gets the bits a
  plain ``open()`` would give it (0o666 less the umask).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import time

try:
    import fcntl
except ImportError:  # Windows: an open file can't be deleted, which serves the same purpose
    fcntl = None

__all__ = ["atomic_open", "atomic_path"]

_MARK = ".ember-tmp-"
_STALE_AFTER_S = 24 * 3600  # a temporary untouched this long is stale even if still locked
_NAME_KEEP = 150  # of the target's name in a temporary's name, which must stay under NAME_MAX


def _temp_prefix(name):
    return "." + name[:_NAME_KEEP] + _MARK


def _temp_name(name):
    return f"{_temp_prefix(name)}{os.getpid()}-{secrets.token_hex(4)}"


def _lock(fd):
    """Mark ``fd``'s file as being written: a live writer holds this lock, a dead one can't.

    Blocking: a cleaner probing the file holds the lock for an instant. Where the filesystem
    has no locks (ENOLCK), cleaners can't take the lock either and leave the file alone.
    """
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)


def _writer_gone(path):
    """Whether the writer of the temporary ``path`` has died, judged by the lock it held."""
    if fcntl is None:
        return True  # unlinking a file another process has open fails on Windows
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # also drops the lock just taken


def _remove_stale(directory, name):
    """Delete temporaries of ``name`` in ``directory`` left by writers that died."""
    prefix = _temp_prefix(name)
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            old = entry.stat(follow_symlinks=False).st_mtime < time.time() - _STALE_AFTER_S
            if old or _writer_gone(entry.path):
                os.unlink(entry.path)
        except OSError:
            pass  # gone already, in use, or not ours to delete


def _resolve(path):
    """The file that ``open(path, "w")`` would write: symlinks followed, absolute."""
    return os.path.realpath(os.fspath(path))


def _keep_mode(fd, target):
    """Give the new file ``target``'s permission bits if it exists (it has the umask's already)."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return
    if hasattr(os, "fchmod"):  # Windows has only a read-only bit, which a writer must lack
        os.fchmod(fd, mode)


def _sync_directory(directory):
    """Persist the rename itself (POSIX; a directory can't be opened on Windows)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the data itself is synced
    finally:
        os.close(fd)


def _open_anonymous(directory):
    """An ``O_TMPFILE`` descriptor in ``directory``, or None where that is not available."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):  # linking it needs /proc
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as e:
        # EISDIR: a kernel without O_TMPFILE; EOPNOTSUPP/EINVAL: a filesystem without it.
        if e.errno in (errno.EISDIR, errno.EOPNOTSUPP, errno.EINVAL):
            return None
        raise


def _link_anonymous(fd, directory, name):
    """Link the ``O_TMPFILE`` inode ``fd`` into ``directory`` under a temporary name; return it.

    ``linkat`` of ``/proc/self/fd/N`` with ``AT_SYMLINK_FOLLOW`` (no privilege needed, unlike
    ``AT_EMPTY_PATH``). ``os.link`` only calls ``linkat`` when given a directory descriptor;
    plain ``link()`` would try to link the /proc symlink itself and fail with EXDEV.
    """
    dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        while True:
            tmp = _temp_name(name)
            try:
                os.link(f"/proc/self/fd/{fd}", tmp, dst_dir_fd=dir_fd, follow_symlinks=True)
                return tmp
            except FileExistsError:
                continue
    finally:
        os.close(dir_fd)


def _open_named(directory, name):
    """A new named temporary next to the target, locked: (fd, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, _temp_name(name))
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        _lock(fd)
        try:
            if os.path.samestat(os.fstat(fd), os.stat(tmp)):
                return fd, tmp
        except OSError:
            pass
        os.close(fd)  # a cleaner took it for a dead writer's before the lock was ours: again


def _unlink_quietly(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


@contextlib.contextmanager
def atomic_open(path):
    """``with atomic_open(path) as f: f.write(data)`` — a binary file whose content replaces
    ``path`` (through a symlink) once the block succeeds; see the module docstring."""
    target = _resolve(path)
    directory, name = os.path.split(target)
    _remove_stale(directory, name)
    fd = _open_anonymous(directory)
    tmp = None
    if fd is None:
        fd, tmp = _open_named(directory, name)
    else:
        _lock(fd)  # before the inode ever has a name
    try:
        with open(fd, "wb", closefd=False) as f:
            yield f
            f.flush()
        _keep_mode(fd, target)
        os.fsync(fd)
        if tmp is None:  # O_TMPFILE: give the inode a name, briefly, to rename it into place
            tmp = os.path.join(directory, _link_anonymous(fd, directory, name))
        if os.name == "nt":  # Windows can't rename a file that is open
            os.close(fd)
            fd = None
        os.replace(tmp, target)
        tmp = None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            _unlink_quietly(tmp)
    _sync_directory(directory)


@contextlib.contextmanager
def atomic_path(path):
    """``with atomic_path(path) as tmp: write(tmp)`` — then ``tmp`` replaces ``path``.

    For writers that need a path (a plotting library, ``open(tmp, "w")`` in text mode); prefer
    ``atomic_open``, which leaves nothing behind even when the process is killed.
    """
    target = _resolve(path)
    directory, name = os.path.split(target)
    _remove_stale(directory, name)
    fd, tmp = _open_named(directory, name)
    try:
        _keep_mode(fd, target)
        if os.name == "nt":
            os.close(fd)
            fd = None
        yield tmp
        if fd is not None:
            os.fsync(fd)  # the caller's writes reached this inode through its own descriptor
        os.replace(tmp, target)
        tmp = None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            _unlink_quietly(tmp)
    _sync_directory(directory)
