"""``ember.save`` / ``ember.load``: checkpoints in a safe format (no pickle, ever).

Contract:
- ``save(obj, f)`` stores tensors and (nested) dicts, OrderedDicts (with their ``_metadata``, as
  ``Module.state_dict()`` carries it), lists and tuples of tensors and plain values: None, bool,
  int, float, complex, str, bytes, ``ember.dtype``, ``ember.Size`` and ``ember.device``. That
  covers model and optimizer state_dicts. Anything else is a TypeError naming where it sits in
  ``obj``, raised before the file is touched.
- A tensor keeps its dtype (bfloat16 included), shape, values and ``requires_grad``, and comes
  back as a leaf (a Parameter comes back as a Parameter), as PyTorch's. The same tensor object
  saved twice comes back as one object.
- Tensors that merely share storage (views, tied weights) are saved as separate arrays and come
  back as separate tensors: PyTorch keeps their sharing, ember does not.
- ``f`` is a path (str or PathLike) or a binary file object. A path is written atomically
  (``ember._io.atomic_open``): a crash, an exception or SIGKILL mid-write leaves the previous
  checkpoint intact and no temporary file behind. A symlink is written through, as PyTorch
  does: it stays a link, and the file it points to gets the new checkpoint.
- ``load`` returns what was saved. A file that is not an ember checkpoint (empty, truncated,
  corrupt, random bytes, a PyTorch ``.pt``/pickle file, a NumPy file) raises a RuntimeError that
  names the file and says what is wrong. Nothing from the file is ever executed.
- ``load`` is safe on hostile files: every size the file declares (manifest shapes and dtypes,
  ``.npy`` headers, zip members' sizes) is checked against the bytes the file actually holds
  before anything is allocated, so memory use is bounded by the file's size (see NOTE [limits]).
"""

# NOTE [checkpoint format]
# A zip archive (stored, not compressed) holding ``ember-manifest.json`` and one
# ``tensors/<i>.npy`` per tensor (NumPy's .npy format, read back with ``allow_pickle=False``).
# The manifest is ``{"format": "ember.save", "version": 1, "tensors": [...], "root": node}``:
# each tensors entry gives dtype name, shape, requires_grad and whether it is a Parameter; a node
# is a JSON scalar (None, bool, int, float, str) or a tagged object ``{"$": tag, ...}`` for
# containers and other values (dict items are key/value pairs, so keys need not be strings).
# bfloat16 arrays are stored as their uint16 bit patterns, since .npy has no bfloat16.

# NOTE [limits]
# What load refuses (a RuntimeError naming the file) before reading or allocating:
# - a zip member that is encrypted or compressed other than stored/deflated; a stored member
#   larger than the whole file; a deflated member declaring more than _MAX_RATIO times its
#   compressed size once over _RATIO_GRACE (a zip bomb: zipfile would inflate what it declares);
#   members declaring more than _RATIO_GRACE + _MAX_RATIO times the file's size in all (many
#   small bombs, or many entries sharing one stored region);
# - a manifest over _MAX_MANIFEST bytes (save refuses to write one);
# - a tensor record whose dtype/shape are not a known dtype and non-negative ints, or whose
#   byte count is not what its member holds (the .npy header's own dtype, shape and length are
#   checked again before the array is allocated); malformed .npy headers.
# So what load allocates is bounded by the archive's size times _MAX_RATIO, plus _RATIO_GRACE.

from __future__ import annotations

import base64
import collections
import io
import json
import math
import os
import zipfile
import zlib
from typing import IO, Any

import numpy as np

from . import dtypes as _dt
from ._size import Size
from .creation import _new
from .tensor import Tensor, check_device, device

__all__ = ["save", "load"]

_FORMAT = "ember.save"
_VERSION = 1
_MANIFEST = "ember-manifest.json"
_MAX_MANIFEST = 256 << 20
_MAX_RATIO = 100
_RATIO_GRACE = 1 << 20
_MAX_NPY_HEADER = 1 << 16  # ember's headers are 118 bytes; NumPy's reader stops at 10000
_READ_CHUNK = 1 << 24


# ---- encoding: Python objects to a JSON manifest and arrays ----

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
        from . import nn

        parameter_type = getattr(nn, "Parameter", None)
        self.records.append({"dtype": dtype.name, "shape": list(t._data.shape),
                             "requires_grad": bool(t.requires_grad),
                             "parameter": parameter_type is not None
                             and isinstance(t, parameter_type)})
        self.arrays.append(data)
        self._seen[key] = len(self.arrays) - 1
        self._keep.append(t)
        return self._seen[key]


def _write_archive(manifest: dict, arrays: list[np.ndarray], f: IO[bytes]) -> None:
    """Write the checkpoint zip to the binary file object ``f``."""
    text = json.dumps(manifest).encode("utf-8")
    if len(text) > _MAX_MANIFEST:
        raise RuntimeError(
            f"ember.save: the checkpoint's manifest would be {len(text)} bytes, more than the "
            f"{_MAX_MANIFEST} ember.load accepts; it holds every str and bytes value, so store "
            "large binary data as a uint8 tensor instead")
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(_MANIFEST, text)
        for i, data in enumerate(arrays):
            with zf.open(f"tensors/{i}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, data, allow_pickle=False)


def _atomic_write(path: str, manifest: dict, arrays: list[np.ndarray]) -> None:
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        raise RuntimeError(f"Parent directory {parent} does not exist.")  # PyTorch's message
    # A symlink is written through, as PyTorch's open(path, "wb") does; these are the RuntimeErrors
    # PyTorch raises (with C++ source locations we leave out) when that open would fail.
    real = os.path.realpath(path)
    if os.path.isdir(real):
        raise RuntimeError(f"ember.save: can't write {path}: it is a directory")
    if os.path.islink(real):
        raise RuntimeError(f"ember.save: can't write {path}: too many levels of symbolic links")
    if not os.path.isdir(os.path.dirname(real)):
        raise RuntimeError(f"ember.save: can't write {path}: it is a symbolic link to {real}, "
                           "whose directory does not exist")
    from ._io import atomic_open

    with atomic_open(real) as f:
        _write_archive(manifest, arrays, f)


def save(obj: Any, f, pickle_module=None, pickle_protocol=2,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False) -> None:
    """Save ``obj`` (tensors, state_dicts, nested containers) to a path or binary file object.

    ``pickle_module`` and ``pickle_protocol`` are accepted for PyTorch compatibility and unused:
    the format never pickles (see NOTE [checkpoint format]).

    >>> import io, ember
    >>> buf = io.BytesIO()
    >>> ember.save({"w": ember.ones(2)}, buf)
    >>> _ = buf.seek(0)
    >>> ember.load(buf)
    {'w': tensor([1., 1.])}
    """
    encoder = _Encoder()
    root = encoder.encode(obj, "obj")
    manifest = {"format": _FORMAT, "version": _VERSION, "tensors": encoder.records, "root": root}
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), manifest, encoder.arrays)
    else:
        _write_archive(manifest, encoder.arrays, f)


# ---- decoding ----

class _Corrupt(Exception):
    """Raised inside load; turned into a RuntimeError naming the file."""


def _sniff(data: bytes) -> str:
    """What an unreadable file looks like, for the error message."""
    if not data:
        return "it is empty (0 bytes)"
    if data[:1] == b"\x80" or data[:1] in (b"(", b"]", b"}"):
        return ("it looks like a PyTorch (pickle-based) file; ember can't load pickles (they can "
                "run arbitrary code). Load it with PyTorch and re-save its tensors with ember")
    if data.startswith(b"\x93NUMPY"):
        return "it is a NumPy .npy file, not an ember checkpoint"
    return f"its content is not an ember checkpoint (starts with {data[:8]!r})"


def _member(zf: zipfile.ZipFile, name: str, archive_size: int) -> zipfile.ZipInfo:
    """``name``'s entry, refused unless reading it is bounded by the file's size (NOTE [limits])."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise _Corrupt(f"the checkpoint is corrupt: it has no {name}") from None
    size, packed = info.file_size, info.compress_size
    if info.flag_bits & 0x1:
        raise _Corrupt(f"{name} is encrypted; ember checkpoints never are")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Corrupt(f"{name} uses zip compression method {info.compress_type}; ember reads "
                       "stored and deflated members only")
    if packed > archive_size or (info.compress_type == zipfile.ZIP_STORED and size != packed):
        raise _Corrupt(f"{name} declares {size} bytes ({packed} in the archive), more than the "
                       f"{archive_size}-byte file holds")
    if size > _RATIO_GRACE and size > _MAX_RATIO * packed:
        raise _Corrupt(f"{name} declares {size} bytes compressed into {packed}, more than "
                       f"{_MAX_RATIO} to 1; ember refuses it as a zip bomb")
    return info


class _Record:
    """A checked tensor entry of the manifest and its zip member."""

    __slots__ = ("dtype", "stored", "shape", "requires_grad", "parameter", "nbytes", "info")

    def __init__(self, zf, index, entry, archive_size):
        where = f"the manifest's tensor {index}"
        if not isinstance(entry, dict):
            raise _Corrupt(f"{where} is {entry!r}, not a record")
        name, shape = entry.get("dtype"), entry.get("shape")
        self.dtype = _dt._NAMES.get(name) if isinstance(name, str) else None
        if self.dtype is None:
            raise _Corrupt(f"{where} has an unknown dtype {name!r}")
        if not (isinstance(shape, list) and len(shape) <= 64
                and all(type(d) is int and d >= 0 for d in shape)):
            raise _Corrupt(f"{where} has an invalid shape {shape!r}")
        self.shape = tuple(shape)
        self.requires_grad, self.parameter = entry.get("requires_grad"), entry.get("parameter")
        if type(self.requires_grad) is not bool or type(self.parameter) is not bool:
            raise _Corrupt(f"{where} has invalid requires_grad/parameter flags")
        if self.requires_grad and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise _Corrupt(f"{where} is {name} and requires grad, which only floating point and "
                           "complex tensors can")
        self.stored = np.dtype(np.uint16 if self.dtype is _dt.bfloat16 else self.dtype.np)
        self.nbytes = math.prod(self.shape) * self.stored.itemsize
        member = f"tensors/{index}.npy"
        self.info = _member(zf, member, archive_size)
        if not self.nbytes <= self.info.file_size <= self.nbytes + _MAX_NPY_HEADER:
            raise _Corrupt(f"{where} is {name} {shape} ({self.nbytes} bytes) but {member} holds "
                           f"{self.info.file_size} bytes")

    def read(self, zf, index):
        """The array, from a member whose header and length agree with this record."""
        name = self.info.filename
        with zf.open(self.info) as member:
            try:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    header = np.lib.format.read_array_header_1_0(member, _MAX_NPY_HEADER)
                elif version == (2, 0):
                    header = np.lib.format.read_array_header_2_0(member, _MAX_NPY_HEADER)
                else:
                    raise ValueError(f".npy format version {version} is not one ember writes")
            except (zipfile.BadZipFile, zlib.error):
                raise  # the member's CRC or compressed stream, found bad on reading ahead
            except Exception as e:  # NumPy's ValueError, or whatever its header parsing raised
                raise _Corrupt(f"{name} has a malformed .npy header ({type(e).__name__}: "
                               f"{e})") from None
            shape, fortran_order, dtype = header
            if dtype.hasobject or dtype.newbyteorder("=") != self.stored or shape != self.shape:
                raise _Corrupt(f"tensor {index} holds {dtype} {list(shape)} but the manifest says "
                               f"{self.dtype.name} {list(self.shape)}")
            left = self.info.file_size - member.tell()
            if left != self.nbytes:
                raise _Corrupt(f"{name} holds {left} bytes of data; {dtype} {list(shape)} takes "
                               f"{self.nbytes}")
            data = np.empty(shape[::-1] if fortran_order else shape, dtype)
            view = memoryview(data.reshape(-1).view(np.uint8))
            done = 0
            while done < left:  # in chunks: no second copy of a large tensor in memory
                got = member.readinto(view[done:done + _READ_CHUNK])
                if not got:
                    raise _Corrupt(f"{name} ends after {done} of its {left} bytes")
                done += got
        if fortran_order:
            data = data.T.copy()
        if dtype != self.stored:
            data = data.astype(self.stored)  # the other byte order
        return data


class _Decoder:
    def __init__(self, zf: zipfile.ZipFile, records: list[_Record]):
        self.zf = zf
        self.records = records
        self.tensors: dict[int, Tensor] = {}

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or "$" not in node:
            raise _Corrupt(f"the manifest holds an unexpected entry {node!r}")
        tag = node["$"]
        if tag == "tensor":
            return self._tensor(node["index"])
        if tag == "list":
            return [self.decode(v) for v in node["items"]]
        if tag == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if tag in ("dict", "odict"):
            kind = collections.OrderedDict if tag == "odict" else dict
            out = kind((self._key(k), self.decode(v)) for k, v in node["items"])
            if "metadata" in node:
                out._metadata = self.decode(node["metadata"])
            return out
        if tag == "complex":
            return complex(node["real"], node["imag"])
        if tag == "bytes":
            return base64.b64decode(node["base64"])
        if tag == "dtype":
            return _dt._by_name(node["name"])
        if tag == "device":
            try:
                return device(node["type"], node["index"])
            except RuntimeError as e:  # an unknown device type
                raise _Corrupt(f"the manifest holds an invalid device ({e})") from None
        if tag == "size":
            return Size(node["dims"])
        raise _Corrupt(f"the manifest holds an unknown entry type {tag!r}")

    def _key(self, node):
        key = self.decode(node)
        return tuple(key) if isinstance(key, list) else key

    def _tensor(self, index):
        if type(index) is not int or not 0 <= index < len(self.records):
            raise _Corrupt(f"the manifest refers to tensor {index!r}, which it does not list")
        if index in self.tensors:
            return self.tensors[index]
        record = self.records[index]
        data = record.read(self.zf, index)
        if record.dtype is _dt.bfloat16:
            data = data.view(record.dtype.np)
        if record.parameter:
            from . import nn

            t = nn.Parameter(_new(data), requires_grad=record.requires_grad)
        else:
            t = _new(data, record.requires_grad)
        self.tensors[index] = t
        return t


def _read_checkpoint(f: IO[bytes]):
    start = f.tell()
    head = f.read(8)
    archive_size = f.seek(0, io.SEEK_END) - start
    f.seek(start)
    if not head.startswith(b"PK"):
        raise _Corrupt(_sniff(head))
    try:
        zf = zipfile.ZipFile(f)
    except zipfile.BadZipFile as e:
        raise _Corrupt(f"the zip archive is truncated or corrupt ({e})") from None
    with zf:
        names = zf.namelist()
        if _MANIFEST not in names:
            if any(n.endswith("data.pkl") for n in names):
                raise _Corrupt(
                    "it is a PyTorch checkpoint (a zip of pickles); ember can't load pickles "
                    "(they can run arbitrary code). Load it with PyTorch and re-save its "
                    "tensors with ember")
            raise _Corrupt(f"it is a zip archive without {_MANIFEST}, not an ember checkpoint")
        info = _member(zf, _MANIFEST, archive_size)
        if info.file_size > _MAX_MANIFEST:
            raise _Corrupt(f"{_MANIFEST} declares {info.file_size} bytes, more than the "
                           f"{_MAX_MANIFEST} ember writes")
        manifest = json.loads(zf.read(info).decode("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
            raise _Corrupt(f"{_MANIFEST} does not describe an ember checkpoint")
        if manifest.get("version") != _VERSION:
            raise _Corrupt(f"it has format version {manifest.get('version')!r}; this ember reads "
                           f"version {_VERSION}")
        entries = manifest["tensors"]
        if not isinstance(entries, list):
            raise _Corrupt(f"{_MANIFEST} lists its tensors as {type(entries).__name__}")
        records = [_Record(zf, i, entry, archive_size) for i, entry in enumerate(entries)]
        declared = info.file_size + sum(record.info.file_size for record in records)
        if declared > _RATIO_GRACE + _MAX_RATIO * archive_size:
            raise _Corrupt(f"its members declare {declared} bytes in all, more than {_MAX_RATIO} "
                           f"times the {archive_size}-byte file; ember refuses it as a zip bomb")
        return _Decoder(zf, records).decode(manifest["root"])


def _load_from(f: IO[bytes], name: str):
    try:
        if not (hasattr(f, "seekable") and f.seekable()):
            f = io.BytesIO(f.read())  # zipfile needs to seek: buffer a pipe or socket
        return _read_checkpoint(f)
    except _Corrupt as e:
        raise RuntimeError(f"ember.load: can't load {name}: {e}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            ValueError, KeyError, IndexError, TypeError, RecursionError,
            NotImplementedError) as e:  # zipfile's "zip file version 9.6"
        # zipfile's CRC checks, np.lib.format's header checks and a manifest that does not fit
        # the format all land here: the file was damaged or was never ember's.
        raise RuntimeError(f"ember.load: can't load {name}: the checkpoint is corrupt "
                           f"({type(e).__name__}: {e})") from None


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args) -> Any:
    """Load what ``ember.save`` wrote, from a path or binary file object.

    Every tensor lands on the CPU: ``map_location`` may be None, ``"cpu"``, a cpu device, or a
    dict or callable (accepted and unused); another device raises ember's no-backend error.
    ``weights_only`` is accepted for PyTorch compatibility: ember's format holds only data, so
    loading is always as safe as PyTorch's ``weights_only=True``. ``mmap`` is accepted and
    unused: tensors are read into memory.
    """
    if isinstance(map_location, (str, device)):
        check_device(map_location)
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        with open(name, "rb") as fh:  # a missing file is PyTorch's FileNotFoundError
            return _load_from(fh, name)
    return _load_from(f, getattr(f, "name", None) or repr(f))
