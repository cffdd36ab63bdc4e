"""``ember.save`` / ``ember.load``: PyTorch's checkpoint format, both ways, loaded safely.

Contract:
- ``save(obj, f)`` writes what ``torch.save(obj, f)`` writes: PyTorch's zip of ``data.pkl`` (a
  protocol-2 pickle) and one record per tensor storage, with PyTorch's exact layout. A file of
  tensors, Parameters, state dicts of modules and optimizers (OrderedDicts with ``_metadata``),
  plain containers (dict, list, tuple, set), None/bool/int/float/complex/str/bytes, dtypes,
  devices and ``Size`` loads with ``torch.load(path, weights_only=True)``. NumPy arrays are
  saved as tensors and NumPy scalars as Python numbers. Tensors that view one buffer (views,
  tied weights) are saved as one storage with offsets and strides, and load back sharing memory,
  in ember and in PyTorch. Any other object (a whole ``nn.Module``) is pickled as PyTorch does:
  by reference to its class (``ember.nn.modules.linear.Linear``), so it loads only with
  ``weights_only=False``.
- ``load(f)`` reads ``torch.save`` files (and ember's), by default as PyTorch 2.6+'s
  ``weights_only=True``: the pickle is scanned and interpreted by ember's own restricted
  interpreter (``ember._pickle_safe``), which allows exactly PyTorch's allowlist plus what was
  registered with ``add_safe_globals``/``safe_globals``, and never imports or calls anything the
  file names. A refused file raises PyTorch's ``pickle.UnpicklingError`` with PyTorch's message.
  ``weights_only=False`` unpickles anything (it can run code: only for trusted files), with
  PyTorch's ``torch.*`` names resolved to ember's, so ``torch.save(model)`` files rebuild ember
  modules. ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` / ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` work as in
  PyTorch.
- A file that can't be read (empty, truncated, corrupt, a CRC mismatch, the legacy pre-1.6
  format, TorchScript, a bare pickle, NumPy or safetensors files) raises ``CheckpointError`` (a
  RuntimeError; ``UnsupportedCheckpointError`` for what ember does not implement) naming the
  file and the problem. Every size and offset in the file is checked before anything is read or
  allocated (NOTE [limits]).
- Devices (NOTE [devices] in tensor.py): ``save`` tags a CUDA tensor's storage with its device
  (``"cuda:0"``, as PyTorch) and writes its bytes from a host copy. ``load`` puts each storage
  where PyTorch's ``torch.load`` would: with ``map_location=None`` on the device it was saved
  from (a CUDA storage on that CUDA device, PyTorch's RuntimeError when CUDA is unavailable or
  the index is out of range); a device string or ``ember.device`` puts every storage there; a
  dict maps saved locations to others (``{"cuda:0": "cpu"}``); a callable is called as
  ``map_location(storage, location)`` with the storage on the CPU and returns it, a moved
  copy (``storage.cuda(0)``, ``.cpu()``, ``.to(device)``) or None for the default. ``"meta"``
  gives meta tensors. Unknown locations raise PyTorch's errors. Tensors viewing one storage
  still share memory on the device.
- ``f`` is a path (str or PathLike) or a binary file object. A path is written atomically
  (``ember._io.atomic_open``): a crash, an exception or SIGKILL mid-write leaves the previous
  checkpoint intact and no temporary file behind. A symlink is written through, as PyTorch
  does. ``mmap=True`` maps a path's stored storages copy-on-write instead of reading them.
"""

# NOTE [checkpoint format]
# ember's default is PyTorch's own format, so checkpoints move both ways: a torch.save file loads
# in ember and an ember.save file loads in torch.load(weights_only=True), which is what users of
# a PyTorch-compatible library expect of ``save``. Its one risk, pickle, is handled on load by
# ember's restricted interpreter (ember/_pickle_safe.py), never by pickle.Unpickler, unless the
# caller passes weights_only=False. The container and pickle encodings are in ember/_torch_zip.py.
# Before, ember wrote its own pickle-free zip (``ember-manifest.json`` and one ``tensors/<i>.npy``
# per tensor); load still reads those files (``_read_ember_archive``), and nothing writes them.

# NOTE [limits]
# What load refuses (a RuntimeError naming the file) before reading or allocating:
# - a zip record that is encrypted or compressed other than stored/deflated; a record whose
#   local header or data lies outside the file; a deflated record inflating to other than its
#   declared size (inflation stops one byte past it: no zip bombs); a CRC-32 mismatch;
# - a data.pkl over 256 MiB or over 50 million opcodes, memo indices beyond the stream, tensors
#   of rank over 64, views reaching past their storage, storage records whose size is not the
#   storage's;
# - in ember's earlier format: members declaring more than _MAX_RATIO times the file's size,
#   manifests over _MAX_MANIFEST bytes, .npy headers that disagree with the manifest.

from __future__ import annotations

import base64
import collections
import io
import json
import math
import os
import re
import warnings
import zipfile
import zlib
from typing import IO, Any

import numpy as np

from . import _torch_zip
from . import dtypes as _dt
from ._pickle_safe import (
    CheckpointError,
    UnsafeCheckpointError,
    UnsupportedCheckpointError,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from ._size import Size
from .creation import _new
from .tensor import Tensor, device, device_of, on_device, to_host

__all__ = ["save", "load", "add_safe_globals", "safe_globals", "get_safe_globals",
           "clear_safe_globals", "CheckpointError", "UnsupportedCheckpointError",
           "UnsafeCheckpointError"]

_FORMAT = "ember.save"
_VERSION = 1
_MANIFEST = "ember-manifest.json"
_MAX_MANIFEST = 256 << 20
_MAX_RATIO = 100
_RATIO_GRACE = 1 << 20
_MAX_NPY_HEADER = 1 << 16  # ember's headers are 118 bytes; NumPy's reader stops at 10000
_READ_CHUNK = 1 << 24
_LEGACY_MAGIC = bytes.fromhex("80028a0a6cfc9c46f9206aa850192e")


# ---- saving ----

def _write_archive(pickled, storages: list[np.ndarray], f: IO[bytes]) -> None:
    """Write the checkpoint zip (``pickled`` is ``(archive name, data.pkl bytes)``) to ``f``."""
    name, data_pkl = pickled
    _torch_zip.write_archive(data_pkl, storages, f, name)


def _atomic_write(path: str, pickled, storages) -> None:
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
        _write_archive(pickled, storages, f)


def save(obj: Any, f, pickle_module=None, pickle_protocol=2,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False) -> None:
    """Save ``obj`` to a path or binary file object in PyTorch's checkpoint format.

    Everything is pickled before the file is touched, so an object that can't be pickled
    raises without writing anything. ``pickle_module``, ``pickle_protocol`` and the two
    format flags are accepted for PyTorch compatibility; ember always writes PyTorch's zip
    format with protocol 2, the one ``torch.load(weights_only=True)`` reads.

    >>> import io, ember
    >>> buf = io.BytesIO()
    >>> ember.save({"w": ember.ones(2)}, buf)
    >>> _ = buf.seek(0)
    >>> ember.load(buf)
    {'w': tensor([1., 1.])}
    """
    data_pkl, storages = _torch_zip.pickle_object(obj)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        _atomic_write(path, (_torch_zip.archive_name(path), data_pkl), storages)
    else:
        _write_archive(("archive", data_pkl), storages, f)
        if hasattr(f, "flush"):
            f.flush()


# ---- decoding ----

class _Corrupt(Exception):
    """Raised inside load; turned into a RuntimeError naming the file."""


class _Placing(Exception):
    """Carries an error of placing a storage (``map_location``: PyTorch's own errors, or the
    caller's callable's) out of load, to be raised as it is."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


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
    def __init__(self, zf: zipfile.ZipFile, records: list[_Record], restore):
        self.zf = zf
        self.records = records
        self.restore = restore
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
        try:
            data = self.restore(data, "cpu")  # (this format saved CPU tensors only)
        except Exception as e:
            raise _Placing(e) from None
        where = device_of(data)
        if record.parameter:
            from . import nn

            t = nn.Parameter(_new(data, device=where), requires_grad=record.requires_grad)
        else:
            t = _new(data, record.requires_grad, where)
        self.tensors[index] = t
        return t


def _sniff(head: bytes, size: int) -> str:
    """What a file that is not a zip looks like, for the error message."""
    if not head:
        return "it is empty (0 bytes)"
    if head.startswith(_LEGACY_MAGIC):
        raise UnsupportedCheckpointError(
            "it is in PyTorch's legacy format (torch.save before PyTorch 1.6, or "
            "_use_new_zipfile_serialization=False), which ember does not read; load it with "
            "PyTorch and re-save it with torch.save's default format")
    if head[:1] == b"\x80" or head[:1] in (b"(", b"]", b"}"):
        return ("it is a bare pickle, not a torch.save zip archive; ember refuses it (pickles "
                "can run arbitrary code)")
    if head[257:262] == b"ustar":
        raise UnsupportedCheckpointError(
            "it is in PyTorch's legacy .tar format (before PyTorch 0.4), which ember does not "
            "read")
    if head.startswith(b"\x93NUMPY"):
        return "it is a NumPy .npy file, not an ember checkpoint; use numpy.load"
    if len(head) > 8 and head[8:9] == b"{" and 8 + int.from_bytes(head[:8], "little") <= size:
        return ("it looks like a safetensors file; load it with "
                "ember.utils.safetensors.load_file")
    return ("its content is not an ember checkpoint (no zip signature at offset 0; starts with "
            f"{head[:8]!r})")


def _swap_bytes(array: np.ndarray, dtype_name: str) -> None:
    """Storage bytes written on a big-endian machine, to little-endian, in place."""
    d = _dt._NAMES[dtype_name]
    unit = d.itemsize // 2 if d.is_complex else d.itemsize  # complex: each half on its own
    if unit > 1:
        array[:array.size // unit * unit].view(f"<u{unit}").byteswap(inplace=True)


def _read_torch_archive(f: IO[bytes], weights_only: bool, mmap_path, pickle_load_args,
                        restore):
    from . import _pickle_safe

    archive = _torch_zip.Archive(f)
    prefix = archive.prefix
    if archive.has("constants.pkl"):
        raise UnsupportedCheckpointError(
            "it is a TorchScript archive (torch.jit.save), not a torch.save checkpoint")
    if not archive.has("data.pkl"):
        raise _Corrupt(f"it is a zip archive without {prefix}/data.pkl, not a torch.save "
                       "checkpoint")
    record = ".data/version" if archive.has(".data/version") else "version"
    if not archive.has(record):
        raise _Corrupt('Expected hasRecord("version") to be true')
    text = archive.read(record, limit=64)
    try:
        version = int(text.decode("ascii").strip())
    except (UnicodeError, ValueError):
        raise _Corrupt(f"Couldn't parse the version {text!r} as Long") from None
    if version > 10:
        raise _Corrupt(f"Attempted to read a PyTorch file with version {version}, but the "
                       "maximum supported version for reading is 10")
    if version < 1:
        raise _Corrupt(f"Attempted to read a PyTorch file with version {version}, but the "
                       "minimum supported version for reading is 1")
    order = archive.read("byteorder", limit=16).decode("ascii", "replace") \
        if archive.has("byteorder") else "little"
    if order not in ("little", "big"):
        raise _Corrupt(f"Unknown endianness type: {order}")
    data_pkl = archive.read("data.pkl", limit=_torch_zip.MAX_PICKLE)

    def load_storage(key, dtype_name, nbytes, location):
        name = f"data/{key}"
        size = archive.record_size(name)
        if size != nbytes:
            raise _Corrupt(f"record size ({size} bytes) of {prefix}/{name} does not match the "
                           f"expected size ({nbytes} bytes) of its storage")
        if mmap_path is not None:
            array = archive.mmap_record(name, mmap_path)
        else:
            array = np.frombuffer(bytearray(archive.read(name)), np.uint8)
        if order == "big":
            _swap_bytes(array, dtype_name)
        try:
            return restore(array, location)
        except BaseException as e:
            placing.append(e)
            raise

    placing: list = []  # an error placing a storage: PyTorch's own, raised as it is
    try:
        if weights_only:
            return _pickle_safe.load_weights_only(data_pkl, load_storage)
        return _pickle_safe.unpickle_unsafe(data_pkl, load_storage, **pickle_load_args)
    except Exception:
        if placing:  # (not the interpreter's "data.pkl is malformed" around it)
            raise _Placing(placing[0]) from None
        raise


def _read_checkpoint(f: IO[bytes], weights_only: bool, mmap_path, pickle_load_args, restore):
    start = f.tell()
    head = f.read(512)
    archive_size = f.seek(0, io.SEEK_END) - start
    f.seek(start)
    if not head.startswith(b"PK\x03\x04"):
        raise _Corrupt(_sniff(head, archive_size))
    try:
        zf = zipfile.ZipFile(f)
    except zipfile.BadZipFile as e:
        raise _Corrupt(f"the zip archive is truncated or corrupt ({e})") from None
    with zf:
        if _MANIFEST in zf.NameToInfo:
            return _read_ember_archive(zf, archive_size, restore)
    f.seek(start)
    return _read_torch_archive(f, weights_only, mmap_path, pickle_load_args, restore)


def _read_ember_archive(zf: zipfile.ZipFile, archive_size: int, restore):
    """A checkpoint in ember's earlier format (see NOTE [checkpoint format])."""
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
    return _Decoder(zf, records, restore).decode(manifest["root"])


def _load_from(f: IO[bytes], name: str, weights_only: bool, mmap_path, pickle_load_args,
               restore):
    try:
        if not (hasattr(f, "seekable") and f.seekable()):
            f = io.BytesIO(f.read())  # zipfile needs to seek: buffer a pipe or socket
        return _read_checkpoint(f, weights_only, mmap_path, pickle_load_args, restore)
    except _Placing as e:
        raise e.error from None
    except UnsafeCheckpointError:
        raise  # PyTorch's message, unchanged
    except UnsupportedCheckpointError as e:
        raise UnsupportedCheckpointError(f"ember.load: can't load {name}: {e}") from None
    except (_Corrupt, CheckpointError) as e:
        raise CheckpointError(f"ember.load: can't load {name}: {e}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            ValueError, KeyError, IndexError, TypeError, RecursionError, UnicodeError,
            NotImplementedError) as e:  # zipfile's "zip file version 9.6"
        if not weights_only and not isinstance(e, (zipfile.BadZipFile, zlib.error, EOFError)):
            raise  # weights_only=False runs the file's own code: its errors are its own
        # zipfile's checks, np.lib.format's header checks and a file that does not fit the
        # format all land here: the file was damaged or was never a checkpoint.
        raise CheckpointError(f"ember.load: can't load {name}: the checkpoint is corrupt "
                              f"({type(e).__name__}: {e})") from None


# ---- where storages go: map_location ----

_CUDA_LOCATION = re.compile(r"cuda(:|[0-9]+)")
_TO_CPU = ("If you are running on a CPU-only machine, please use torch.load with "
           "map_location=torch.device('cpu') to map your storages to the CPU.")


def _cuda_target(location: str):
    """The CUDA device a storage tagged ``location`` goes to, checked as PyTorch checks it."""
    from . import cuda

    d = device(location) if location != "cuda" else None
    if not cuda.is_available():
        raise RuntimeError("Attempting to deserialize object on a CUDA device but "
                           f"torch.cuda.is_available() is False. {_TO_CPU}")
    index = cuda.current_device() if d is None or d.index is None else d.index
    count = cuda.device_count()
    if index >= count:
        raise RuntimeError(
            f"Attempting to deserialize object on CUDA device {index} but "
            f"torch.cuda.device_count() is {count}. Please use torch.load with map_location to "
            "map your storages to an existing device.")
    from .tensor import cuda_device

    return cuda_device(index)


def _place(array, location: str):
    """A storage's bytes (a host uint8 array) where ``location`` says, as PyTorch's
    ``default_restore_location``: the host, a CUDA device or meta; PyTorch's errors for the
    rest."""
    if location == "cpu":
        return array
    if location == "cuda" or _CUDA_LOCATION.match(location):
        return on_device(array, _cuda_target(location))
    if location.startswith("mps"):
        raise RuntimeError(f"torch.UntypedStorage(): Storage device not recognized: {location}")
    if location == "meta":
        from ._meta import meta_array

        return meta_array(array.shape, array.dtype)
    for name in ("privateuseone", "hpu", "xpu", "mtia"):
        if location == name or re.match(f"{name}(:|[0-9]+)", location):
            if location == "mtia":  # (no index: PyTorch asks the backend for its current one)
                raise RuntimeError("Cannot execute getCurrentDevice() without MTIA backend.")
            if name in ("privateuseone", "hpu"):  # (PyTorch has no such module loaded)
                raise RuntimeError(f"The {name.upper()} device module is not registered. "
                                   f"{_TO_CPU}")
            raise RuntimeError(f"Attempting to deserialize object on a {name.upper()} device "
                               f"but torch.{name}.is_available() is False. {_TO_CPU}")
    raise RuntimeError("don't know how to restore data location of "
                       f"torch.storage.UntypedStorage (tagged with {location})")


class _LoadingStorage:
    """The storage a callable ``map_location`` is given (PyTorch's CPU ``UntypedStorage``):
    it returns it, or a copy moved with ``cpu()``, ``cuda(i)`` or ``to(device)``."""

    __slots__ = ("_array",)

    def __init__(self, array):
        self._array = array

    @property
    def device(self):
        return device_of(self._array)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def nbytes(self) -> int:
        return int(self._array.nbytes)

    size = nbytes

    def __len__(self):
        return self.nbytes()

    def element_size(self) -> int:
        return 1

    def cpu(self):
        return self if type(self._array) is np.ndarray else _LoadingStorage(to_host(self._array))

    def cuda(self, device=None, non_blocking=False):
        if device is None:
            location = "cuda"
        elif isinstance(device, int):
            location = f"cuda:{device}"
        else:
            location = str(device)
        return self.to(device=location)

    def to(self, *, device=None, non_blocking=False):
        location = str(device)
        if location == "cpu":
            return self.cpu()
        return _LoadingStorage(_place(to_host(self._array), location))

    def __repr__(self):
        return f"<storage of {self.nbytes()} bytes on {self.device}>"


def _location_name(where):
    if isinstance(where, bytes):
        return where.decode("ascii")
    return where if isinstance(where, str) else str(where)


def _restorer(map_location):
    """``(host bytes, saved location) -> bytes placed``, per PyTorch's ``map_location`` rules
    (see the module docstring)."""
    if map_location is None:
        return _place
    if isinstance(map_location, dict):
        table = {_location_name(k): _location_name(v) for k, v in map_location.items()}
        return lambda array, location: _place(array, table.get(location, location))
    if isinstance(map_location, (str, bytes, device)):
        target = _location_name(map_location)
        return lambda array, location: _place(array, target)

    def restore(array, location):
        got = map_location(_LoadingStorage(array), location)
        if got is None:
            return _place(array, location)
        if not isinstance(got, _LoadingStorage):
            raise TypeError(f"map_location returned a {type(got).__name__}; it must return "
                            "the storage it was given, a moved copy of it, or None")
        return got._array
    return restore


_TRUE = ("1", "y", "yes", "true")


def _resolve_weights_only(weights_only, pickle_module):
    """PyTorch 2.6+'s rules: default True, the two environment overrides, pickle_module."""
    not_set = weights_only is None
    if not_set:
        weights_only = pickle_module is None
    force = os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in _TRUE
    force_no = os.getenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() in _TRUE
    if force and force_no:
        raise RuntimeError(
            "Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD` or `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` "
            "should be set, but both were set.")
    if force:
        weights_only = True
    elif force_no and not_set:
        warnings.warn(
            "Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected, since the"
            "`weights_only` argument was not explicitly passed to `torch.load`, forcing "
            "weights_only=False.", UserWarning, stacklevel=3)
        weights_only = False
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    return bool(weights_only)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args) -> Any:
    """Load a checkpoint written by ``torch.save`` or ``ember.save``, from a path or file object.

    ``weights_only`` (default True, as PyTorch 2.6+): only tensors, state dicts, containers and
    plain values, through ember's restricted interpreter; ``weights_only=False`` unpickles
    anything, which can run code from the file. ``map_location`` says where tensors go, as in
    PyTorch (None: where they were saved; a device, a dict of locations or a callable: see
    the module docstring). ``mmap=True`` (paths only) maps stored tensors copy-on-write
    instead of reading them. A path ending in ``.safetensors`` is read with
    ``ember.utils.safetensors.load_file`` (``map_location`` a device, as PyTorch).
    """
    weights_only = _resolve_weights_only(weights_only, pickle_module)
    if pickle_load_args and weights_only:
        warnings.warn("pickle_load_args only works if `weights_only=False`.", stacklevel=2)
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        if isinstance(name, str) and name.endswith(".safetensors"):
            return _load_safetensors(name, map_location)
        with open(name, "rb") as fh:  # a missing file is PyTorch's FileNotFoundError
            return _load_from(fh, name, weights_only, name if mmap else None, pickle_load_args,
                              _restorer(map_location))
    if mmap:
        raise ValueError("f must be a file path in order to use the mmap argument")
    return _load_from(f, getattr(f, "name", None) or repr(f), weights_only, None,
                      pickle_load_args, _restorer(map_location))


def _load_safetensors(name, map_location):
    """``torch.load`` of a ``.safetensors`` path: ``load_file`` on the device map_location
    names (a dict or callable is PyTorch's RuntimeError)."""
    from .utils.safetensors import load_file

    where = "cpu"
    if isinstance(map_location, dict):
        raise RuntimeError("Loading safetensors file with dict map_location is not supported. "
                           "Use a device string or torch.device instead.")
    if isinstance(map_location, (str, bytes, device)):
        where = _location_name(map_location)
    elif map_location is not None and callable(map_location):
        raise RuntimeError("Loading safetensors file with callable map_location is not "
                           "supported. Use a device string or torch.device instead.")
    return load_file(name, device=where)
