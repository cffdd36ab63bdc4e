"""Tests for ``ember.save`` / ``ember.load``.

Round trips are oracle tests: the same object goes through ``T.save`` and ``T.load`` on both
libraries (``same`` compares values, dtypes, shapes, requires_grad, containers). The rest checks
what only ember promises: atomic writes to paths, no pickle, and clear errors for files that are
not ember checkpoints.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import io
import json
import os
import pathlib
import pickle
import signal
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember import serialization

from .oracle import same

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64", "complex64", "complex128"]


def roundtrip(T, obj):
    buf = io.BytesIO()
    T.save(obj, buf)
    buf.seek(0)
    return T.load(buf)


def sample(T, dtype, shape):
    dt = getattr(T, dtype)
    values = T.arange(int(np.prod(shape)), dtype=T.float64).reshape(shape) * 1.25 - 3
    if dt.is_complex:
        flat = [complex(v, -2 * v) for v in values.reshape(-1).tolist()]
        return T.tensor(flat, dtype=dt).reshape(shape)
    return values.to(dt)


# ---- ember's earlier format (manifest + .npy), which load still reads --------------------------
# The writer as it was, kept here to make files of that format for the tests.

from ember import dtypes as _dt  # noqa: E402
from ember._size import Size  # noqa: E402
from ember.tensor import Tensor, device  # noqa: E402


class _Encoder:
    """Walks ``obj`` once, collecting tensors (each object once) and the JSON tree."""

    def __init__(self):
        self.arrays: list[np.ndarray] = []
        self.records: list[dict] = []
        self._seen: dict[int, int] = {}
        self._keep: list[Tensor] = []  # keeps ids in _seen valid during the walk

    def encode(self, x, where):
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int) and type(x) is int:
            return x
        if isinstance(x, float):
            return float(x)
        if isinstance(x, Tensor):
            return {"$": "tensor", "index": self._tensor(x)}
        if isinstance(x, complex):
            return {"$": "complex", "real": x.real, "imag": x.imag}
        if isinstance(x, bytes):
            return {"$": "bytes", "base64": base64.b64encode(x).decode("ascii")}
        if isinstance(x, _dt.dtype):
            return {"$": "dtype", "name": x.name}
        if isinstance(x, device):
            return {"$": "device", "type": x.type, "index": x.index}
        if isinstance(x, Size):
            return {"$": "size", "dims": [int(d) for d in x]}
        if type(x) in (list, tuple):
            tag = type(x).__name__
            return {"$": tag, "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(x)]}
        if type(x) in (dict, collections.OrderedDict):
            node = {"$": "odict" if type(x) is collections.OrderedDict else "dict",
                    "items": [[self.encode(k, f"{where} key {k!r}"),
                               self.encode(v, f"{where}[{k!r}]")] for k, v in x.items()]}
            metadata = getattr(x, "_metadata", None)
            if metadata is not None:
                node["metadata"] = self.encode(metadata, f"{where}._metadata")
            return node
        raise TypeError(
            f"ember.save: can't store an object of type {type(x).__qualname__} at {where}; "
            "ember's checkpoints hold tensors, dicts, OrderedDicts, lists and tuples of them, and "
            "None, bool, int, float, complex, str, bytes, dtype, Size and device values (no "
            "pickle, so no arbitrary objects)")

    def _tensor(self, t):
        key = id(t)
        if key in self._seen:
            return self._seen[key]
        dtype = _dt.from_np(t._data.dtype)
        # NOTE: not np.ascontiguousarray, which turns a 0-dim array into a 1-element one.
        data = np.array(t.detach()._data, order="C", copy=True)
        if dtype is _dt.bfloat16:
            data = data.view(np.uint16)
        from ember import nn

        parameter_type = getattr(nn, "Parameter", None)
        self.records.append({"dtype": dtype.name, "shape": list(t._data.shape),
                             "requires_grad": bool(t.requires_grad),
                             "parameter": parameter_type is not None
                             and isinstance(t, parameter_type)})
        self.arrays.append(data)
        self._seen[key] = len(self.arrays) - 1
        self._keep.append(t)
        return self._seen[key]


def _write_v1_archive(manifest, arrays, f):
    """Write the checkpoint zip to the binary file object ``f``."""
    text = json.dumps(manifest).encode("utf-8")
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("ember-manifest.json", text)
        for i, data in enumerate(arrays):
            with zf.open(f"tensors/{i}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, data, allow_pickle=False)


def ember_v1_bytes(obj):
    """``obj`` as ember's earlier ``save`` wrote it."""
    encoder = _Encoder()
    root = encoder.encode(obj, "obj")
    doc = {"format": "ember.save", "version": 1, "tensors": encoder.records, "root": root}
    buf = io.BytesIO()
    _write_v1_archive(doc, encoder.arrays, buf)
    return buf.getvalue()


# ---- round trips (oracle) --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (5,), (2, 3)])
def test_roundtrip_every_dtype_and_shape(dtype, shape):
    def fn(T):
        back = roundtrip(T, sample(T, dtype, shape))
        # The oracle reads bfloat16 through float32 (NumPy can't hold PyTorch's bfloat16).
        return (back.dtype, back.float()) if dtype == "bfloat16" else back
    same(fn)


def test_roundtrip_non_contiguous_views():
    def fn(T):
        x = T.arange(12.).reshape(3, 4)
        return roundtrip(T, [x.t(), x[:, 1::2], x[1]])
    same(fn)


def test_roundtrip_requires_grad_leaf_and_non_leaf():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        return roundtrip(T, {"leaf": x, "result": x * 3, "plain": T.ones(2)})
    same(fn)


def test_roundtrip_plain_values_and_nesting():
    obj = lambda T: {  # noqa: E731
        "none": None, "t": True, "f": False, "int": -(2 ** 62), "float": 0.1, "inf": float("inf"),
        "str": "ünï", "bytes": b"\x00\xff", "complex": 1 - 2j, "dtype": T.bfloat16,
        "size": T.Size([2, 3]), "device": T.device("cpu"), "tuple": (1, (2.5, [3])),
        "list": [[], {}, ()], 7: "int key", (1, "a"): "tuple key", None: 0,
    }
    def fn(T):
        back = roundtrip(T, obj(T))
        device = back.pop("device")  # ember's and PyTorch's device objects differ by class
        return back, repr(device), list(back)
    same(fn)
    nan = roundtrip(ember, [float("nan")])[0]
    assert nan != nan


def test_roundtrip_model_state_dict_keeps_order_and_metadata():
    def fn(T):
        T.manual_seed(0)
        sd = T.nn.Linear(3, 2).state_dict()
        back = roundtrip(T, sd)
        return (type(back).__name__, list(back.keys()), back._metadata,
                [back[k].shape for k in back], [back[k].requires_grad for k in back])
    same(fn)
    model = ember.nn.Linear(3, 2)
    back = roundtrip(ember, model.state_dict())
    for k, v in model.state_dict().items():
        assert back[k].tolist() == v.tolist()
    fresh = ember.nn.Linear(3, 2)
    fresh.load_state_dict(back)
    assert fresh.weight.tolist() == model.weight.tolist()


def test_roundtrip_optimizer_like_state_dict():
    def fn(T):
        state = {"state": {0: {"step": T.tensor(3.), "exp_avg": T.ones(2, 2)},
                           1: {"step": T.tensor(3.), "exp_avg": T.zeros(2)}},
                 "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                   "weight_decay": 0, "amsgrad": False, "foreach": None,
                                   "params": [0, 1]}]}
        return roundtrip(T, state)
    same(fn)


def test_parameters_come_back_as_parameters():
    def fn(T):
        back = roundtrip(T, {"w": T.nn.Parameter(T.ones(2)),
                             "frozen": T.nn.Parameter(T.zeros(1), requires_grad=False)})
        return type(back["w"]).__name__, back["w"], type(back["frozen"]).__name__, back["frozen"]
    same(fn)


def test_same_tensor_twice_loads_as_one_object():
    def fn(T):
        x = T.ones(3)
        back = roundtrip(T, {"a": x, "b": [x]})
        return back["a"] is back["b"][0]
    same(fn)


def test_shared_storage_stays_shared():
    def fn(T):
        x = T.arange(6.)
        a, b = roundtrip(T, [x, x[2:4]])
        a.add_(10)
        return b
    same(fn)


def test_loaded_tensors_are_writable_and_independent_of_the_saved_ones():
    x = ember.ones(3)
    y = roundtrip(ember, x)
    y.add_(1)
    assert x.tolist() == [1.0, 1.0, 1.0] and y.tolist() == [2.0, 2.0, 2.0]


# ---- paths and file objects ------------------------------------------------------------------

@pytest.mark.parametrize("as_path", [str, pathlib.Path])
def test_paths(tmp_path, as_path):
    def fn(T):
        target = as_path(tmp_path / f"ck_{T.__name__}.pt")
        T.save({"x": T.arange(4), "s": "v"}, target)
        return T.load(target), T.load(target, map_location="cpu", weights_only=True)
    same(fn)


def test_real_file_objects(tmp_path):
    def fn(T):
        target = tmp_path / f"fo_{T.__name__}.pt"
        with open(target, "wb") as f:
            T.save([T.eye(2), 5], f)
        with open(target, "rb") as f:
            return T.load(f, map_location=T.device("cpu"))
    same(fn)


def test_missing_file():
    same(lambda T: T.load("/nonexistent/dir/ck.pt"))


@pytest.mark.skipif(ember.cuda.is_available(), reason="CUDA is available: the load succeeds")
def test_map_location_cuda_without_cuda_raises():
    # PyTorch's CPU build: a storage can't be placed on CUDA (its RuntimeError, when the
    # storage is met)
    def fn(T):
        buf = io.BytesIO()
        T.save({"w": T.ones(2)}, buf)
        buf.seek(0)
        return T.load(buf, map_location="cuda")
    same(fn)


def test_path_written_with_default_permissions(tmp_path):
    target = tmp_path / "mode.pt"
    ember.save(1, target)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask


def test_unpicklable_object_raises_before_touching_the_file(tmp_path):
    target = tmp_path / "bad.pt"
    with pytest.raises((pickle.PicklingError, AttributeError)):
        ember.save({"a": [1, lambda: 0]}, target)
    assert list(tmp_path.iterdir()) == []


# ---- atomic writes ---------------------------------------------------------------------------

def test_crash_mid_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    target = tmp_path / "model.pt"
    ember.save({"w": ember.ones(3)}, target)
    before = target.read_bytes()

    real_write = serialization._write_archive

    def crash(manifest, arrays, f):
        real_write(manifest, arrays, f)
        f.seek(f.tell() // 2)
        f.truncate()
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(serialization, "_write_archive", crash)
    with pytest.raises(KeyboardInterrupt, match="power cut"):
        ember.save({"w": ember.zeros(3), "extra": ember.ones(100)}, target)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    assert target.read_bytes() == before
    assert ember.load(target)["w"].tolist() == [1.0, 1.0, 1.0]


def test_crash_on_first_write_leaves_nothing(tmp_path, monkeypatch):
    def crash(manifest, arrays, f):
        f.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(serialization, "_write_archive", crash)
    with pytest.raises(OSError, match="disk full"):
        ember.save([ember.ones(2)], tmp_path / "new.pt")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_contents(tmp_path):
    target = tmp_path / "ck.pt"
    ember.save({"v": 1}, target)
    ember.save({"v": 2}, target)
    assert ember.load(target) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


# A child process that saves a 16 MB checkpoint through a file object which stalls (says so on
# stdout, then sleeps) once 1 MB is written, so the test can SIGKILL it mid-write. The hook lives
# here, not in ember; EMBER_TEST_NO_O_TMPFILE makes ember take its portable path (no O_TMPFILE,
# as on macOS and Windows).
_STALLING_SAVE = r"""
import os, sys, time
if os.environ.get("EMBER_TEST_NO_O_TMPFILE"):
    del os.O_TMPFILE
import ember
from ember import serialization

class Stalling:
    def __init__(self, f):
        self.f, self.written = f, 0
    def write(self, b):
        n = self.f.write(b)
        self.written += n
        if self.written > 1 << 20:
            self.f.flush()
            print("stalled", flush=True)
            time.sleep(300)
        return n
    def __getattr__(self, name):
        return getattr(self.f, name)

real_write = serialization._write_archive
serialization._write_archive = lambda m, a, f: real_write(m, a, Stalling(f))
ember.save({"w": ember.zeros(4_000_000)}, sys.argv[1])
"""


def kill_mid_save(target, no_o_tmpfile):
    """SIGKILL a process saving to ``target`` mid-write; the directory's names seen meanwhile."""
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(__file__).resolve().parents[1]))
    if no_o_tmpfile:
        env["EMBER_TEST_NO_O_TMPFILE"] = "1"
    child = subprocess.Popen([sys.executable, "-c", _STALLING_SAVE, str(target)],
                             stdout=subprocess.PIPE, env=env)
    watchdog = threading.Timer(120, child.kill)
    watchdog.start()
    try:
        assert child.stdout.readline() == b"stalled\n"
        during = sorted(p.name for p in target.parent.iterdir())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        watchdog.cancel()
    assert child.returncode == -signal.SIGKILL
    return during


def o_tmpfile_works(directory):
    try:
        os.close(os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o666))
        return True
    except (AttributeError, OSError):
        return False


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_save_leaves_the_old_checkpoint_and_no_file(tmp_path):
    if not o_tmpfile_works(tmp_path):
        pytest.skip("no O_TMPFILE on this system or filesystem")
    target = tmp_path / "model.pt"
    ember.save({"w": ember.ones(3)}, target)
    before = target.read_bytes()
    during = kill_mid_save(target, no_o_tmpfile=False)
    assert during == ["model.pt"]  # the half-written data never had a name
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    assert target.read_bytes() == before


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_save_without_o_tmpfile_is_cleaned_by_the_next_save(tmp_path):
    target = tmp_path / "model.pt"
    ember.save({"w": ember.ones(3)}, target)
    before = target.read_bytes()
    during = kill_mid_save(target, no_o_tmpfile=True)
    assert len(during) == 2 and during[0].startswith(".model.pt.ember-tmp-")
    assert sorted(p.name for p in tmp_path.iterdir()) == during  # the dead writer's temporary
    assert target.read_bytes() == before
    assert ember.load(target)["w"].tolist() == [1.0, 1.0, 1.0]
    ember.save({"w": ember.zeros(2)}, tmp_path / "other.pt")  # another target's save: kept
    assert during[0] in [p.name for p in tmp_path.iterdir()]
    ember.save({"w": ember.zeros(2)}, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "other.pt"]
    assert ember.load(target)["w"].tolist() == [0.0, 0.0]


def test_save_writes_through_a_symlink(tmp_path):
    def fn(T):
        d = tmp_path / T.__name__
        (d / "real").mkdir(parents=True)
        T.save(1, d / "real" / "ck.pt")
        os.chmod(d / "real" / "ck.pt", 0o600)
        os.symlink(os.path.join("real", "ck.pt"), d / "link.pt")
        os.symlink(os.path.join("real", "new.pt"), d / "dangling.pt")
        T.save({"v": T.arange(3)}, d / "link.pt")
        T.save([2], str(d / "dangling.pt"))
        return (os.path.islink(d / "link.pt"), T.load(d / "real" / "ck.pt"),
                os.stat(d / "real" / "ck.pt").st_mode & 0o777,
                os.path.islink(d / "dangling.pt"), T.load(d / "real" / "new.pt"),
                sorted(os.listdir(d)), sorted(os.listdir(d / "real")))
    same(fn)


@pytest.mark.parametrize("link, says", [("loop", "too many levels of symbolic links"),
                                         ("into_missing_dir", "whose directory does not exist")])
def test_save_through_a_broken_symlink_raises_runtime_error(tmp_path, link, says):
    for T in (pytest.importorskip("torch"), ember):  # PyTorch's message names C++ source lines
        d = tmp_path / T.__name__
        d.mkdir()
        os.symlink("ck.pt" if link == "loop" else os.path.join("missing", "ck.pt"), d / "ck.pt")
        with pytest.raises(RuntimeError) as info:
            T.save(1, d / "ck.pt")
        assert sorted(os.listdir(d)) == ["ck.pt"] and os.path.islink(d / "ck.pt")
    assert str(d / "ck.pt") in str(info.value) and says in str(info.value)


# ---- bad files -------------------------------------------------------------------------------

def good_bytes():
    buf = io.BytesIO()
    ember.save({"w": ember.arange(50.), "b": [1, 2]}, buf)
    return buf.getvalue()


def load_error(tmp_path, data, name="bad.pt"):
    target = tmp_path / name
    target.write_bytes(data)
    with pytest.raises(RuntimeError) as info:
        ember.load(target)
    message = str(info.value)
    assert str(target) in message
    return message


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1])
def test_truncated_file(tmp_path, keep):
    data = good_bytes()
    message = load_error(tmp_path, data[:int(len(data) * keep)])
    assert "truncated or corrupt" in message


def test_flipped_bytes_in_tensor_data(tmp_path):
    data = bytearray(good_bytes())
    at = data.index(np.float32(49.0).tobytes())
    data[at] ^= 0xFF
    assert "corrupt" in load_error(tmp_path, bytes(data))


def test_empty_and_random_files(tmp_path):
    assert "empty" in load_error(tmp_path, b"")
    rng = np.random.default_rng(0)
    assert "not an ember checkpoint" in load_error(tmp_path, b"Z" + rng.bytes(300))


def test_pytorch_files_load_and_the_legacy_format_is_named(tmp_path):
    torch = pytest.importorskip("torch")
    target = tmp_path / "torch_zip.pt"
    torch.save({"w": torch.ones(2)}, target)
    assert ember.load(target)["w"].tolist() == [1.0, 1.0]
    target = tmp_path / "torch_legacy.pt"
    torch.save({"w": torch.ones(2)}, target, _use_new_zipfile_serialization=False)
    with pytest.raises(serialization.UnsupportedCheckpointError,
                       match="PyTorch's legacy format") as info:
        ember.load(target)
    assert str(target) in str(info.value)


def test_files_in_embers_earlier_format_still_load():
    obj = {"w": ember.arange(4.), "p": ember.nn.Parameter(ember.ones(2)), "n": [1, b"x", 2j]}
    back = ember.load(io.BytesIO(ember_v1_bytes(obj)))
    assert back["w"].tolist() == [0, 1, 2, 3] and isinstance(back["p"], ember.nn.Parameter)
    assert back["n"] == [1, b"x", 2j]


def test_numpy_file(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.ones(3))
    assert "NumPy .npy file" in load_error(tmp_path, buf.getvalue())


def make_zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, payload in entries.items():
            zf.writestr(name, payload)
    return buf.getvalue()


def npy(array, allow_pickle=False):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def manifest(records, root, **overrides):
    doc = {"format": "ember.save", "version": 1, "tensors": records, "root": root}
    doc.update(overrides)
    return json.dumps(doc)


RECORD = {"dtype": "float32", "shape": [2], "requires_grad": False, "parameter": False}
TENSOR = {"$": "tensor", "index": 0}


@pytest.mark.parametrize("entries, expected", [
    ({"other.txt": "hi"}, "file in archive is not in a subdirectory: other.txt"),
    ({"a/other.txt": "hi"}, "zip archive without a/data.pkl"),
    ({"ember-manifest.json": "{not json"}, "corrupt"),
    ({"ember-manifest.json": manifest([], 1, format="other")}, "does not describe"),
    ({"ember-manifest.json": manifest([], 1, version=99)}, "format version 99"),
    ({"ember-manifest.json": manifest([], {"$": "lambda"})}, "unknown entry type 'lambda'"),
    ({"ember-manifest.json": manifest([], {"no": "tag"})}, "unexpected entry"),
    ({"ember-manifest.json": manifest([RECORD], TENSOR)}, "corrupt"),  # array missing
    ({"ember-manifest.json": manifest([RECORD], TENSOR),
      "tensors/0.npy": npy(np.ones(3, np.float32))}, "manifest says float32 [2]"),
    ({"ember-manifest.json": manifest([RECORD], TENSOR),
      "tensors/0.npy": npy(np.ones(2, np.int64))}, "manifest says float32 [2]"),
])
def test_malformed_archives(tmp_path, entries, expected):
    assert expected in load_error(tmp_path, make_zip(entries))


def test_pickled_array_is_refused_not_executed(tmp_path):
    ran = []
    payload = npy(np.array([ran], dtype=object), allow_pickle=True)
    record = dict(RECORD, shape=[1])
    data = make_zip({"ember-manifest.json": manifest([record], TENSOR), "tensors/0.npy": payload})
    assert "tensor 0 holds object" in load_error(tmp_path, data)


def test_file_object_errors_name_the_object():
    with pytest.raises(RuntimeError, match="can't load <_io.BytesIO object"):
        ember.load(io.BytesIO(b"junk"))


class Pipe(io.RawIOBase):
    """A write-only or read-only stream that cannot seek, like a pipe or a socket."""

    def __init__(self, data=b""):
        self.data = bytearray(data)

    def readable(self):
        return True

    def writable(self):
        return True

    def readinto(self, b):
        n = min(len(b), len(self.data))
        b[:n] = self.data[:n]
        del self.data[:n]
        return n

    def write(self, b):
        self.data += bytes(b)
        return len(b)


def test_unseekable_streams():
    out = Pipe()
    ember.save({"x": ember.arange(3.)}, out)
    back = ember.load(Pipe(out.data))
    assert back["x"].tolist() == [0.0, 1.0, 2.0]


def test_checkpoint_after_other_bytes_in_a_file_object():
    buf = io.BytesIO()
    buf.write(b"header bytes")
    ember.save([ember.ones(2), "tail"], buf)
    buf.seek(len(b"header bytes"))
    back = ember.load(buf)
    assert back[0].tolist() == [1.0, 1.0] and back[1] == "tail"


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(serialization)
    assert result.attempted > 0 and result.failed == 0


def test_missing_parent_directory(tmp_path):
    def fn(T):
        T.save(1, str(tmp_path / "missing" / "ck.pt"))
    same(fn)


def test_directory_as_target(tmp_path):
    with pytest.raises(RuntimeError, match="it is a directory"):
        ember.save(1, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ember.save({"k": ember.ones(1)}, "rel.pt")
    assert ember.load("rel.pt")["k"].tolist() == [1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["rel.pt"]


def test_training_checkpoint_resumes_exactly():
    def fn(T):
        def make():
            m = T.nn.Linear(2, 1)
            with T.no_grad():
                m.weight.copy_(T.tensor([[0.5, -1.0]]))
                m.bias.fill_(0.1)
            return m, T.optim.Adam(m.parameters(), lr=0.1)

        def step(m, o):
            o.zero_grad()
            m(T.tensor([[1.0, 2.0], [3.0, 4.0]])).pow(2).sum().backward()
            o.step()

        model, opt = make()
        step(model, opt)
        step(model, opt)
        ck = roundtrip(T, {"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 2})
        # Copied now: PyTorch's load_state_dict adopts the 'step' tensors, which then advance.
        saved = (ck["epoch"], ck["optim"]["param_groups"], list(ck["model"]),
                 [v.clone() for v in ck["optim"]["state"][0].values()])
        resumed, resumed_opt = make()
        resumed.load_state_dict(ck["model"])
        resumed_opt.load_state_dict(ck["optim"])
        step(model, opt)
        step(resumed, resumed_opt)
        assert resumed.weight.tolist() == model.weight.tolist()
        return saved, resumed.weight, resumed.bias, resumed_opt.state_dict()
    same(fn)


scalars = (st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.text(max_size=5)
           | st.floats(allow_nan=False) | st.binary(max_size=5)
           | st.complex_numbers(allow_nan=False))
keys = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
trees = st.recursive(scalars, lambda inner: (
    st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(keys, inner, max_size=3)), max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(tree=trees)
def test_plain_value_trees_roundtrip_exactly(tree):
    back = roundtrip(ember, tree)
    assert back == tree
    assert repr(back) == repr(tree)  # types too: tuples stay tuples, ints stay ints


def test_absurdly_nested_manifest_is_reported_as_corrupt(tmp_path):
    depth = 100_000
    root = '{"$": "list", "items": [' * depth + "1" + "]}" * depth
    text = manifest([], 0).replace('"root": 0', '"root": ' + root)
    data = make_zip({"ember-manifest.json": text})
    assert "corrupt" in load_error(tmp_path, data)


# ---- hostile files: sizes are checked before anything is allocated ---------------------------

def npy_with_header(text, data=b"", version=1):
    """A .npy member with a hand-written header (padded as NumPy pads it) and raw data."""
    header = text.encode("latin1")
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY" + bytes([version, 0]) + len(header).to_bytes(2, "little") + header + data


def f4_header(shape):
    return f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"


def load_error_with_peak(tmp_path, data):
    """load_error, and the peak memory NumPy and Python allocated meanwhile."""
    import tracemalloc

    tracemalloc.start()
    try:
        message = load_error(tmp_path, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return message, peak


def set_declared_size(data, name, size, packed=None):
    """Rewrite the central directory's sizes of member ``name`` (what zipfile trusts)."""
    data = bytearray(data)
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        name_len = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + name_len] == name.encode():
            break
        at += 4
    data[at + 20:at + 24] = (size if packed is None else packed).to_bytes(4, "little")
    data[at + 24:at + 28] = size.to_bytes(4, "little")
    return bytes(data)


@pytest.mark.parametrize("claimed, header", [
    (10 ** 12, (10 ** 12,)),  # both claim 4 TB; the member holds 16 bytes
    (2 * 10 ** 8, (2 * 10 ** 8,)),  # 800 MB: an allocation that would succeed, then fail to fill
    (4, (10 ** 12,)),  # the manifest is modest, the .npy header is not
    (4, (2 ** 64,)),  # a dimension no C integer holds
])
def test_huge_claimed_shapes_are_refused_before_allocating(tmp_path, claimed, header):
    record = dict(RECORD, shape=[claimed])
    data = make_zip({"ember-manifest.json": manifest([record], TENSOR),
                     "tensors/0.npy": npy_with_header(f4_header(header), b"\0" * 16)})
    message, peak = load_error_with_peak(tmp_path, data)
    assert "holds" in message
    assert peak < 20 << 20


def test_a_stored_member_declaring_more_than_the_file_holds(tmp_path):
    count = 5 * 10 ** 8  # 2 GB
    record = dict(RECORD, shape=[count])
    header = npy_with_header(f4_header((count,)))
    data = make_zip({"ember-manifest.json": manifest([record], TENSOR),
                     "tensors/0.npy": header + b"\0" * 16})
    data = set_declared_size(data, "tensors/0.npy", len(header) + 4 * count)
    message, peak = load_error_with_peak(tmp_path, data)
    assert "more than the" in message and "file holds" in message
    assert peak < 20 << 20


def deflated_zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, payload in entries.items():
            zf.writestr(name, payload)
    return buf.getvalue()


def test_zip_bombs_are_refused_before_inflating(tmp_path):
    # A 50 MB manifest deflates to about 50 kB: 1000 to 1.
    bomb = deflated_zip({"ember-manifest.json": manifest([], "a" * 50_000_000)})
    message, peak = load_error_with_peak(tmp_path, bomb)
    assert "zip bomb" in message and peak < 20 << 20
    # A deflated tensor whose declared size (what zipfile would inflate to) is a lie.
    count = 5 * 10 ** 8
    record = dict(RECORD, shape=[count])
    header = npy_with_header(f4_header((count,)))
    lie = deflated_zip({"ember-manifest.json": manifest([record], TENSOR),
                        "tensors/0.npy": header + b"\0" * 16})
    packed = zipfile.ZipFile(io.BytesIO(lie)).getinfo("tensors/0.npy").compress_size
    lie = set_declared_size(lie, "tensors/0.npy", len(header) + 4 * count, packed)
    message, peak = load_error_with_peak(tmp_path, lie)
    assert "zip bomb" in message and peak < 20 << 20


def test_many_small_bombs_are_refused_together(tmp_path):
    # 30 tensors of 1 MiB of zeros, each under the per-member grace, deflate to 1 kB apiece.
    count = 30
    records = [dict(RECORD, shape=[(1 << 18) - 64])] * count
    root = {"$": "list", "items": [{"$": "tensor", "index": i} for i in range(count)]}
    members = {f"tensors/{i}.npy": npy(np.zeros((1 << 18) - 64, np.float32))
               for i in range(count)}
    data = deflated_zip({"ember-manifest.json": manifest(records, root), **members})
    message, peak = load_error_with_peak(tmp_path, data)
    assert "in all" in message and "zip bomb" in message and peak < 5 << 20


def test_a_deflated_copy_of_a_checkpoint_still_loads():
    src = zipfile.ZipFile(io.BytesIO(good_bytes()))
    data = deflated_zip({name: src.read(name) for name in src.namelist()})
    back = ember.load(io.BytesIO(data))
    assert back["w"].tolist() == list(np.arange(50.0)) and back["b"] == [1, 2]


def test_other_compression_methods_and_encryption_are_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("ember-manifest.json", manifest([], 1))
    assert "compression method 12" in load_error(tmp_path, buf.getvalue())
    data = bytearray(make_zip({"ember-manifest.json": manifest([], 1)}))
    at = data.index(b"PK\x01\x02")
    data[at + 8] |= 1  # the central directory's "encrypted" flag
    assert "encrypted" in load_error(tmp_path, bytes(data))


@pytest.mark.parametrize("header", [
    "{'''",  # tokenize.TokenError inside NumPy's header filter
    "\t{\n  1",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': \"\"\"",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,,), }",
    "[1, 2]",
    "{'descr': '<f4', 'shape': (2,), }",
    "{'descr': [('a', 5)], 'fortran_order': False, 'shape': (2,), }",
    "{'descr': '<f4', 'fortran_order': 1, 'shape': (2,), }",
    "{'descr': '<f4', 'fortran_order': False, 'shape': " + "(" * 3000 + ")" * 3000 + "}",
])
def test_malformed_npy_headers_are_a_clean_runtime_error(tmp_path, header):
    data = make_zip({"ember-manifest.json": manifest([RECORD], TENSOR),
                     "tensors/0.npy": npy_with_header(header, b"\0" * 8)})
    assert "tensors/0.npy has a malformed .npy header" in load_error(tmp_path, data)


@pytest.mark.parametrize("member, expected", [
    (npy_with_header(f4_header((2,)), b"\0" * 8, version=9), "malformed .npy header"),
    (npy_with_header(f4_header((-2,)), b"\0" * 8), "holds float32 [-2]"),
    (npy_with_header(f4_header((2,)).replace("<f4", "|O"), b"\0" * 8), "holds object"),
    (npy_with_header(f4_header((2,)), b"\0" * 12), "holds 12 bytes of data"),
    (npy_with_header(f4_header((2,)), b"\0" * 4), "holds 4 bytes of data"),
    (b"\x93NUMPY\x01\x00\xff\xff" + b" " * 200, "malformed .npy header"),
])
def test_npy_members_disagreeing_with_the_manifest(tmp_path, member, expected):
    data = make_zip({"ember-manifest.json": manifest([RECORD], TENSOR), "tensors/0.npy": member})
    assert expected in load_error(tmp_path, data)


def test_big_endian_and_fortran_order_members_load():
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    record = dict(RECORD, shape=[2, 3])
    for array in (values.astype(">f4"), np.asfortranarray(values)):
        data = make_zip({"ember-manifest.json": manifest([record], TENSOR),
                         "tensors/0.npy": npy(array)})
        back = ember.load(io.BytesIO(data))
        assert back.dtype is ember.float32 and back.tolist() == values.tolist()


@pytest.mark.parametrize("record, root, expected", [
    (dict(RECORD, dtype="evil"), TENSOR, "unknown dtype 'evil'"),
    (dict(RECORD, dtype=["float32"]), TENSOR, "unknown dtype"),
    (dict(RECORD, shape=[-1]), TENSOR, "invalid shape [-1]"),
    (dict(RECORD, shape=[2.0]), TENSOR, "invalid shape"),
    (dict(RECORD, shape=[True]), TENSOR, "invalid shape"),
    (dict(RECORD, shape=[1] * 65), TENSOR, "invalid shape"),
    (dict(RECORD, requires_grad="yes"), TENSOR, "invalid requires_grad"),
    (dict(RECORD, dtype="int64", requires_grad=True), TENSOR, "only floating point"),
    (RECORD, {"$": "tensor", "index": 1}, "refers to tensor 1"),
    (RECORD, {"$": "tensor", "index": -1}, "refers to tensor -1"),
    (RECORD, {"$": "tensor", "index": True}, "refers to tensor True"),
    (RECORD, {"$": "device", "type": "evil", "index": 0}, "invalid device"),
    ("not a record", TENSOR, "not a record"),
])
def test_invalid_manifest_records(tmp_path, record, root, expected):
    data = make_zip({"ember-manifest.json": manifest([record], root),
                     "tensors/0.npy": npy(np.zeros(2, np.float32))})
    assert expected in load_error(tmp_path, data)


def test_manifest_size_limit_on_load(tmp_path, monkeypatch):
    data = make_zip({"ember-manifest.json": manifest([], "x" * 2000)})
    monkeypatch.setattr(serialization, "_MAX_MANIFEST", 1000)
    assert "more than the 1000 ember writes" in load_error(tmp_path, data)


def test_random_damage_loads_or_is_a_runtime_error_naming_the_file():
    import random

    rng = random.Random(0)
    good = ember_v1_bytes({"w": ember.arange(5.), "p": ember.nn.Parameter(ember.ones(3)),
                           "i": ember.arange(4), "bf": ember.ones(2, dtype=ember.bfloat16),
                           "t": (1, 2 + 3j, b"ab"), "s": ember.Size([2]), "d": ember.float32,
                           "dev": ember.device("cpu")})
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    tree = json.loads(members.pop("ember-manifest.json"))

    def nodes(node, path=()):
        yield path
        children = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for key, child in children:
            yield from nodes(child, path + (key,))

    junk = [None, True, -1, 1.5, 10 ** 30, "", "int64", [], {}, [1], {"$": "tensor"},
            {"$": "size", "dims": ["a"]}, {"$": "bytes", "base64": "!!"}, {"$": "dtype"},
            {"$": "device", "type": "cpu", "index": "a"}, {"$": "dict", "items": [[[], 1]]}]
    paths = [p for p in nodes(tree) if p]
    damaged = []
    for _ in range(300):  # bytes changed anywhere
        data = bytearray(good)
        for _ in range(rng.randint(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        damaged.append(bytes(data))
    for _ in range(300):  # well-formed JSON with the wrong things in it
        doc = json.loads(json.dumps(tree))
        for _ in range(rng.randint(1, 2)):
            *parents, last = rng.choice(paths)
            node = doc
            with contextlib.suppress(LookupError, TypeError):
                for key in parents:
                    node = node[key]
                node[last] = json.loads(json.dumps(rng.choice(junk)))
        damaged.append(make_zip({"ember-manifest.json": json.dumps(doc), **members}))
    for data in damaged:
        try:
            ember.load(io.BytesIO(data))
        except RuntimeError as e:
            assert str(e).startswith("ember.load: can't load <_io.BytesIO"), str(e)
