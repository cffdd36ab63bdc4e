"""PyTorch's checkpoint container (``torch.save``'s zip of ``data.pkl`` plus storages), both ways.

Contract:
- ``Archive(f, name)`` opens a zip written by ``torch.save`` (or any zip tool that kept its
  records: re-zipped, deflated, CRCs off) and reads records through the central directory and
  local headers, checking every offset and size against the file before reading, inflating at
  most the declared size (zip bombs), and the CRC-32 of every record whose stored CRC is not 0
  (PyTorch never checks them). ``mmap_record`` maps a stored record copy-on-write instead.
- ``pickle_object(obj)`` pickles ``obj`` as ``torch.save`` does (protocol 2, tensors as
  ``torch._utils._rebuild_tensor_v2/v3`` calls on persistent-id storages, containers, dtypes,
  devices and sizes as PyTorch pickles them) and returns ``(data_pkl, storages)``; a file of
  only tensors, containers and plain values loads with ``torch.load(weights_only=True)``. Other
  objects (a whole ``nn.Module``) are pickled by reference to their class, as PyTorch does.
  A CUDA tensor's storage is tagged with its device (``"cuda:0"``), as PyTorch's; its bytes are
  copied to the host for writing, and views of one device buffer still share one storage.
- ``write_archive(data_pkl, storages, f, archive_name)`` writes the zip with PyTorch's exact
  layout (records, order, 64-byte aligned data, data descriptors, zip64 end records), so
  PyTorch's offset-recomputing loaders accept it too.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np

from ._pickle_safe import CheckpointError, UnsupportedCheckpointError

ALIGNMENT = 64
MAX_PICKLE = 256 << 20  # data.pkl bigger than this is refused (ember policy)

# ---- reading ----


class Archive:
    """The records of a ``torch.save`` zip; see the module docstring."""

    def __init__(self, f, verify_crc=True):
        self.f = f
        self.verify_crc = verify_crc
        self.size = f.seek(0, io.SEEK_END)
        try:
            zf = zipfile.ZipFile(f)
        except zipfile.BadZipFile as e:
            raise CheckpointError(f"the zip archive is truncated or corrupt ({e})") from None
        infos = zf.infolist()
        if not infos:
            raise CheckpointError("the zip archive is empty")
        first = infos[0].filename
        if "/" not in first:
            raise CheckpointError(f"file in archive is not in a subdirectory: {first} (a NumPy "
                                  ".npz file? use numpy.load)")
        self.prefix = first.split("/", 1)[0]
        self.records: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.filename in self.records:
                raise CheckpointError(f"the zip archive has two records named {info.filename}")
            self.records[info.filename] = info

    def has(self, record):
        return f"{self.prefix}/{record}" in self.records

    def _info(self, record):
        name = f"{self.prefix}/{record}"
        info = self.records.get(name)
        if info is None:
            raise CheckpointError(f"file not found in checkpoint: {name}")
        if info.flag_bits & 0x1:
            raise UnsupportedCheckpointError(f"{name} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnsupportedCheckpointError(
                f"{name} uses zip compression method {info.compress_type}; ember reads stored "
                "and deflated records only")
        return name, info

    def _data_offset(self, name, info):
        """Where the record's bytes start, from its local header, after bounds checks."""
        at = info.header_offset
        if not 0 <= at <= self.size - 30:
            raise CheckpointError(f"the local header of {name} lies outside the file")
        self.f.seek(at)
        header = self.f.read(30)
        sig, n, e = struct.unpack("<I22xHH", header)
        if sig != 0x04034B50:
            raise CheckpointError(f"the zip archive is truncated or corrupt (bad local header "
                                  f"for {name})")
        local_name = self.f.read(n)
        if local_name.decode("utf-8", "replace") != name and local_name != name.encode("cp437",
                                                                                      "replace"):
            raise CheckpointError(f"the local header of {name} names {local_name!r}")
        start = at + 30 + n + e
        if start + info.compress_size > self.size:
            raise CheckpointError(f"the zip archive is truncated or corrupt ({name} runs past "
                                  "the end of the file)")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise CheckpointError(f"{name} is stored but declares two sizes")
        return start

    def read(self, record, limit=None):
        """The record's bytes (a bytes object); ``limit``: refuse records declaring more."""
        name, info = self._info(record)
        if limit is not None and info.file_size > limit:
            raise CheckpointError(f"{name} declares {info.file_size} bytes, more than {limit}")
        start = self._data_offset(name, info)
        self.f.seek(start)
        raw = self.f.read(info.compress_size)
        if info.compress_type == zipfile.ZIP_DEFLATED:
            inflater = zlib.decompressobj(-15)
            data = inflater.decompress(raw, info.file_size + 1)
            if len(data) != info.file_size:
                raise CheckpointError(f"{name} inflates to other than its declared "
                                      f"{info.file_size} bytes")
        else:
            data = raw
        if len(data) != info.file_size:
            raise CheckpointError(f"the zip archive is truncated or corrupt ({name})")
        if self.verify_crc and info.CRC and zlib.crc32(data) != info.CRC:
            raise CheckpointError(f"CRC-32 mismatch in {name}: the checkpoint is corrupted")
        return data

    def record_size(self, record):
        return self._info(record)[1].file_size

    def mmap_record(self, record, path):
        """A copy-on-write map of a stored record (``mmap=True``); deflated ones are read."""
        name, info = self._info(record)
        if info.compress_type != zipfile.ZIP_STORED or info.file_size == 0:
            return np.frombuffer(bytearray(self.read(record)), np.uint8)
        start = self._data_offset(name, info)
        return np.memmap(path, dtype=np.uint8, mode="c", offset=start, shape=(info.file_size,))


# ---- writing: the pickle ----

class _Global:
    """A name pickled as ``GLOBAL module name`` without importing the module (torch's)."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __reduce_ex__(self, protocol):
        return self.name  # "save as global": handled by _Pickler.save_global

    def __call__(self, *args):  # pickle's save_reduce insists on a callable
        raise TypeError(f"{self.module}.{self.name} is only a name to pickle")


_GLOBALS: dict[str, _Global] = {}


def _g(full):
    g = _GLOBALS.get(full)
    if g is None:
        module, _, name = full.rpartition(".")
        g = _GLOBALS[full] = _Global(module, name)
    return g


# dtypes whose tensors are pickled through _rebuild_tensor_v2 with a legacy storage class
_STORAGE_CLASSES = {"float64": "Double", "float32": "Float", "float16": "Half",
                    "bfloat16": "BFloat16", "int64": "Long", "int32": "Int", "int16": "Short",
                    "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex128": "ComplexDouble",
                    "complex64": "ComplexFloat"}

_SAME_STORAGE_TYPES = ("Cannot save multiple tensors or storages that view the same data as "
                       "different types")


class _StorageRef:
    __slots__ = ("key", "dtype", "array", "location")

    def __init__(self, dtype, array, location="cpu"):
        self.key = None  # assigned at first appearance in the pickle, as torch's writer does
        self.dtype = dtype
        self.array = array  # uint8, little-endian bytes, on the host
        self.location = location  # the device the storage lives on ("cpu", "cuda:0")


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _device_mirrors(arrays):
    """Host copies of device arrays that share memory as the device arrays do: ``{id(array):
    (host array, location)}``. Each device buffer (an array's ``base``, or the array) is copied
    once, and each array becomes a host view of its copy with the same offset and strides; an
    array whose buffer is not one C-contiguous block is copied on its own."""
    from . import backend
    from .tensor import device_of, to_host

    copies: dict = {}  # the device buffer's address and size -> its host copy
    out = {}
    for a in arrays:
        location = str(device_of(a))
        root = a
        while root.base is not None:
            root = root.base
        if a.size == 0 or not root.flags.c_contiguous:
            out[id(a)] = (to_host(a), location)
            continue
        b = backend.of(a)
        start = b.data_ptr(root)
        key = (location, start, root.nbytes)
        host = copies.get(key)
        if host is None:
            host = copies[key] = to_host(root.reshape(-1)).view(np.uint8)
        out[id(a)] = (np.ndarray(a.shape, a.dtype, buffer=host, offset=b.data_ptr(a) - start,
                                 strides=a.strides), location)
    return out


def _tensor_arrays(tensors):
    """Group the arrays of ``tensors`` into storages: ``{id(tensor): (ref, off, size, stride)}``.

    Views of one NumPy buffer share one storage (the byte range all of them touch), as in
    PyTorch; an array that can't (negative or odd strides, big-endian, empty) gets a copy.
    Device arrays are saved through their host mirrors (``_device_mirrors``).
    """
    from . import dtypes as _dt
    from ._meta import MetaArray

    arrays = [t._data if not isinstance(t, np.ndarray) else t for t in tensors]
    on_device = [a for a in arrays if type(a) is not np.ndarray and type(a) is not MetaArray]
    mirrors = _device_mirrors(on_device) if on_device else {}
    out = {}
    groups: dict[int, list] = collections.defaultdict(list)
    for t, a in zip(tensors, arrays):
        location = "cpu"
        if id(a) in mirrors:
            a, location = mirrors[id(a)]
        elif type(a) is not np.ndarray:
            raise TypeError(f"ember.save: can't save a {type(a).__name__}-backed tensor "
                            "(a meta tensor has no data)")
        dtype = _dt.from_np(a.dtype.newbyteorder("="))
        item = a.itemsize
        root = _root(a)
        if (a.size == 0 or not a.dtype.isnative or any(s < 0 or s % item for s in a.strides)
                or not (root.flags.c_contiguous or root.flags.f_contiguous)):
            groups[id(t)].append((t, a, dtype, None, location))
        else:
            groups[id(root)].append((t, a, dtype, root, location))
    for members in groups.values():
        root = members[0][3]
        dtype = members[0][2]
        location = members[0][4]
        if root is None:
            t, a, dtype, _, _ = members[0]
            copy = np.array(a, order="C", dtype=a.dtype.newbyteorder("<"), copy=True)
            ref = _StorageRef(dtype, copy.reshape(-1).view(np.uint8), location)
            out[id(t)] = (ref, 0, a.shape, _contiguous_strides(a.shape))
            continue
        if any(m[2] is not dtype for m in members):
            raise RuntimeError(_SAME_STORAGE_TYPES)  # PyTorch's class and words
        bounds = [np.lib.array_utils.byte_bounds(m[1]) for m in members]
        lo = min(b[0] for b in bounds)
        hi = max(b[1] for b in bounds)
        item = members[0][1].itemsize
        root_lo = np.lib.array_utils.byte_bounds(root)[0]
        raw = root.reshape(-1, order="A").view(np.uint8)[lo - root_lo:hi - root_lo]
        if any((b[0] - lo) % item for b in bounds) or (hi - lo) % item:
            # misaligned members (views through another dtype's buffer): each its own copy
            for t, a, dtype, _, _ in members:
                copy = np.array(a, order="C", copy=True)
                ref = _StorageRef(dtype, copy.reshape(-1).view(np.uint8), location)
                out[id(t)] = (ref, 0, a.shape, _contiguous_strides(a.shape))
            continue
        ref = _StorageRef(dtype, raw, location)
        for t, a, _dtype, _, _ in members:
            address = a.__array_interface__["data"][0]
            out[id(t)] = (ref, (address - lo) // item, a.shape,
                          tuple(s // item for s in a.strides))
    return out


def _contiguous_strides(shape):
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


class _Pickler(pickle._Pickler):
    """Python's pickler, protocol 2, with PyTorch's encodings for tensors and torch values."""

    def __init__(self, file, layout):
        super().__init__(file, protocol=2)
        self.layout = layout  # None: the first pass, collecting tensors
        self.tensors: list = []
        self.seen: set[int] = set()
        self.storages: list[_StorageRef] = []

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            if obj.key is None:
                obj.key = str(len(self.storages))
                self.storages.append(obj)
            cls = _STORAGE_CLASSES.get(obj.dtype.name)
            if cls is None:  # dtypes without a legacy class: untyped, numel in bytes
                return ("storage", _g("torch.storage.UntypedStorage"), obj.key, obj.location,
                        obj.array.size)
            numel = obj.array.size // obj.dtype.itemsize
            return ("storage", _g(f"torch.{cls}Storage"), obj.key, obj.location, numel)
        return None

    def save_global(self, obj, name=None):
        from . import dtypes as _dt

        if type(obj) is _Global:
            module, name = obj.module, obj.name
        elif type(obj) is _dt.dtype:
            module, name = "torch", obj.name
        else:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, np.generic) and not isinstance(obj, np.ndarray):
            obj = obj.item()  # NumPy scalars as Python numbers (weights_only refuses NumPy's)
        super().save(obj, save_persistent_id)

    def reducer_override(self, obj):
        from . import dtypes as _dt
        from ._size import Size
        from .tensor import Tensor, device

        t = type(obj)
        if t in (int, float, str, bool, type(None), list, dict, tuple):
            return NotImplemented
        if isinstance(obj, (Tensor, np.ndarray)):
            return self._tensor(obj)
        if t is _dt.dtype:
            return obj.name  # "save as global": save_global writes ``torch <name>``
        if t is Size:
            return (_g("torch.Size"), (tuple(int(d) for d in obj),))
        if t is device:
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            return (_g("torch.device"), args)
        if t is bytes:  # b"" too: Python pickles it as bytes(), which weights_only refuses
            return (_g("_codecs.encode"), (obj.decode("latin1"), "latin1"))
        if t is bytearray:
            return (_g("builtins.bytearray"), (bytes(obj),))
        if t is complex:
            return (_g("builtins.complex"), (obj.real, obj.imag))
        if t is set:
            return (_g("builtins.set"), (list(obj),))
        if t is collections.Counter:
            return (_g("collections.Counter"), (dict(obj),))
        if t is collections.OrderedDict:
            state = dict(vars(obj)) or None
            return (_g("collections.OrderedDict"), (), state, None, iter(obj.items()))
        return NotImplemented

    def _tensor(self, obj):
        from .nn.parameter import Parameter
        from .tensor import Tensor

        if self.layout is None:
            if id(obj) not in self.seen:
                self.seen.add(id(obj))
                self.tensors.append(obj)
            return (_g("builtins.int"), ())
        ref, offset, size, stride = self.layout[id(obj)]
        rg = bool(obj.requires_grad) if isinstance(obj, Tensor) else False
        is_param = isinstance(obj, Parameter)
        legacy = _STORAGE_CLASSES.get(ref.dtype.name)
        args = (ref, offset, tuple(size), stride, False if is_param else rg,
                collections.OrderedDict())
        if legacy is not None:
            inner = (_g("torch._utils._rebuild_tensor_v2"), args)
        else:
            inner = (_g("torch._utils._rebuild_tensor_v3"), args + (ref.dtype,))
        if is_param:
            return (_g("torch._utils._rebuild_parameter"),
                    (_Call(*inner), rg, collections.OrderedDict()))
        return inner


class _Call:
    """A nested ``func(*args)`` in a reduce's arguments (the tensor inside a Parameter)."""

    __slots__ = ("func", "args")

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce_ex__(self, protocol):
        return (self.func, self.args)


def pickle_object(obj):
    """``(data_pkl bytes, [storage uint8 arrays in key order])`` for ``obj``; see the contract."""
    first = _Pickler(io.BytesIO(), None)
    _dump(first, obj)
    layout = _tensor_arrays(first.tensors)
    buf = io.BytesIO()
    second = _Pickler(buf, layout)
    second.tensors_keep = first.tensors  # keeps the ids in layout valid
    _dump(second, obj)
    return buf.getvalue(), [ref.array for ref in second.storages]


def _dump(pickler, obj):
    try:
        pickler.dump(obj)
    except RecursionError:
        raise RecursionError("ember.save: the object is nested too deeply to pickle") from None


# ---- writing: the zip ----

def _fb_padding(offset, name_len, size, alignment):
    start = offset + 30 + name_len + 4
    if size >= 0xFFFFFFFF or offset >= 0xFFFFFFFF:
        start += 4
        if size >= 0xFFFFFFFF:
            start += 16
        if offset >= 0xFFFFFFFF:
            start += 8
    return (-start) % alignment


class _ZipWriter:
    """Writes records with miniz's layout, as PyTorch's writer does."""

    def __init__(self, f, prefix, alignment=ALIGNMENT):
        self.f, self.prefix, self.alignment = f, prefix, alignment
        self.pos = 0
        self.entries: list = []

    def _write(self, data):
        self.f.write(data)
        self.pos += len(data)

    def add(self, record, data):
        name = f"{self.prefix}/{record}".encode()
        view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        size, offset = len(view), self.pos
        big_size, big_offset = size >= 0xFFFFFFFF, offset >= 0xFFFFFFFF
        extra = b""
        if big_size or big_offset:
            block = (struct.pack("<QQ", size, 0) if big_size else b"") + \
                    (struct.pack("<Q", offset) if big_offset else b"")
            extra += struct.pack("<HH", 1, len(block)) + block
        pad = _fb_padding(offset, len(name), size, self.alignment)
        extra += b"FB" + struct.pack("<H", pad) + b"Z" * pad
        flags = 0x0808 if size else 0x0800
        self._write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, flags, 0, 0, 0, 0, 0, 0,
                                len(name), len(extra)) + name + extra)
        crc = 0
        for start in range(0, size, 1 << 26):  # CRC and write in chunks: no copy of the data
            chunk = view[start:start + (1 << 26)]
            crc = zlib.crc32(chunk, crc)
            self._write(chunk)
        if size:
            if big_size or big_offset:
                self._write(struct.pack("<IIQQ", 0x08074B50, crc, size, size))
            else:
                self._write(struct.pack("<IIII", 0x08074B50, crc, size, size))
        self.entries.append((name, flags, crc, size, offset))
        return crc

    def finish(self):
        cd_offset = self.pos
        for name, flags, crc, size, offset in self.entries:
            big_size, big_offset = size >= 0xFFFFFFFF, offset >= 0xFFFFFFFF
            block = (struct.pack("<QQ", size, size) if big_size else b"") + \
                    (struct.pack("<Q", offset) if big_offset else b"")
            extra = struct.pack("<HH", 1, len(block)) + block if block else b""
            size32 = 0xFFFFFFFF if big_size else size
            self._write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0, flags, 0, 0, 0, crc,
                                    size32, size32, len(name), len(extra), 0, 0, 0, 0,
                                    0xFFFFFFFF if big_offset else offset) + name + extra)
        cd_size = self.pos - cd_offset
        n = len(self.entries)
        eocd64 = self.pos
        self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 0x002D, 0, 0, n, n,
                                cd_size, cd_offset))
        self._write(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                                min(cd_size, 0xFFFFFFFF), min(cd_offset, 0xFFFFFFFF), 0))


def archive_name(path):
    """The top-level folder ``torch.save`` uses for ``path`` (``"archive"`` for buffers)."""
    if path is None:
        return "archive"
    path = os.fspath(path)
    if isinstance(path, bytes) or not path.isascii():
        return "archive"
    stem = os.path.splitext(os.path.basename(path))[0]
    if os.path.basename(path).endswith(".") and not stem.endswith("."):
        stem = os.path.basename(path)[:-1]
    return stem or "archive"


def write_archive(data_pkl, storages, f, name="archive"):
    """Write PyTorch's checkpoint zip for a pickle and its storages to the file object ``f``."""
    w = _ZipWriter(f, name)
    crcs = [w.add("data.pkl", data_pkl)]
    w.add(".format_version", b"1")
    w.add(".storage_alignment", str(ALIGNMENT).encode())
    w.add("byteorder", b"little")
    for key, array in enumerate(storages):
        crcs.append(w.add(f"data/{key}", array))
    w.add("version", b"3\n")
    ident = 0
    for crc in crcs:
        ident = (ident * 1_000_003 + crc) % 10**40
    w.add(".data/serialization_id", f"{ident:040d}".encode())
    w.finish()
