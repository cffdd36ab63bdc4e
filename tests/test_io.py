"""``ember._io.atomic_open`` / ``atomic_path``: the one way ember writes files (checkpoints,
traces, pictures). SIGKILL in the middle of a checkpoint save is tested in
tests/test_serialization.py."""

from __future__ import annotations

import errno
import os

import pytest

from ember._io import atomic_open, atomic_path

try:
    import fcntl
except ImportError:
    fcntl = None


def test_replaces_only_after_success_with_normal_permissions(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_path(target) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path) and tmp != str(target)
        with open(tmp, "wb") as f:
            f.write(b"new")
        assert target.read_bytes() == b"old"  # not replaced before the block ends
    assert target.read_bytes() == b"new"
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_path(target) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise RuntimeError("crash")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


# ---- no temporaries left behind, symlinks, permissions ---------------------------------------

def _tmpfile_supported(directory):
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return False
    try:
        os.close(os.open(directory, flag | os.O_WRONLY, 0o666))
        return True
    except OSError:
        return False


def _refuse_o_tmpfile(monkeypatch):
    """Make ``os.open`` refuse O_TMPFILE as a filesystem without it does (EOPNOTSUPP)."""
    real_open = os.open
    flag = getattr(os, "O_TMPFILE", 0)

    def open_(path, flags, *args, **kwargs):
        if flag and flags & flag == flag:
            raise OSError(errno.EOPNOTSUPP, "Operation not supported", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)


@pytest.mark.parametrize("how", ["refused", "missing"])
def test_atomic_open_falls_back_to_a_named_temporary(tmp_path, monkeypatch, how):
    if how == "refused":
        _refuse_o_tmpfile(monkeypatch)
    else:
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)  # as on macOS and Windows
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_open(target) as f:
        f.write(b"new")
        names = sorted(p.name for p in tmp_path.iterdir())
        assert len(names) == 2 and names[0].startswith(".out.bin.ember-tmp-")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_open(target) as f:
            f.write(b"half")
            raise RuntimeError("crash")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_open_with_o_tmpfile_names_nothing_while_writing(tmp_path):
    if not _tmpfile_supported(tmp_path):
        pytest.skip("no O_TMPFILE here")
    target = tmp_path / "out.bin"
    with atomic_open(target) as f:
        f.write(b"new")
        assert list(tmp_path.iterdir()) == []
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


@pytest.mark.skipif(fcntl is None, reason="liveness of a writer is judged by flock")
@pytest.mark.parametrize("writer", ["atomic_open", "atomic_path"])
def test_stale_temporaries_of_dead_writers_are_removed(tmp_path, writer):
    dead = tmp_path / ".out.bin.ember-tmp-1-deadbeef"  # its writer was killed: nobody locks it
    live = tmp_path / ".out.bin.ember-tmp-2-cafef00d"  # a writer still at work holds its lock
    other = tmp_path / ".other.bin.ember-tmp-1-deadbeef"  # another target's: not ours to judge
    for p in (dead, live, other):
        p.write_bytes(b"partial")
    with open(live, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if writer == "atomic_open":
            with atomic_open(tmp_path / "out.bin") as f:
                f.write(b"new")
        else:
            with atomic_path(tmp_path / "out.bin") as tmp, open(tmp, "wb") as f:
                f.write(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, other.name, "out.bin"])
    assert (tmp_path / "out.bin").read_bytes() == b"new"


@pytest.mark.parametrize("writer", ["atomic_open", "atomic_path"])
def test_writes_through_symlinks(tmp_path, writer):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.bin").write_bytes(b"old")
    os.symlink(os.path.join("real", "a.bin"), tmp_path / "link")
    os.symlink(os.path.join("real", "b.bin"), tmp_path / "dangling")
    for name, data in [("link", b"new"), ("dangling", b"created")]:
        if writer == "atomic_open":
            with atomic_open(tmp_path / name) as f:
                f.write(data)
        else:
            with atomic_path(tmp_path / name) as tmp, open(tmp, "wb") as f:
                f.write(data)
        assert os.path.islink(tmp_path / name)
    assert (tmp_path / "real" / "a.bin").read_bytes() == b"new"
    assert (tmp_path / "real" / "b.bin").read_bytes() == b"created"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["a.bin", "b.bin"]


@pytest.mark.parametrize("writer", ["atomic_open", "atomic_path"])
def test_replacing_keeps_the_permissions_of_the_replaced_file(tmp_path, writer):
    target = tmp_path / "secret.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    if writer == "atomic_open":
        with atomic_open(target) as f:
            f.write(b"new")
    else:
        with atomic_path(target) as tmp, open(tmp, "wb") as f:
            f.write(b"new")
    assert target.read_bytes() == b"new"
    assert os.stat(target).st_mode & 0o777 == 0o600
