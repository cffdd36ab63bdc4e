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
"""

# NOTE [checkpoint format]
# A zip archive (stored, not compressed) holding ``ember-manifest.json`` and one
# ``tensors/<i>.npy`` per tensor (NumPy's .npy format, read back with ``allow_pickle=False``).
# The manifest is ``{"format": "ember.save", "version": 1, "tensors": [...], "root": node}``:
# each tensors entry gives dtype name, shape, requires_grad and whether it is a Parameter; a node
# is a JSON scalar (None, bool, int, float, str) or a tagged object ``{"$": tag, ...}`` for
# containers and other values (dict items are key/value pairs, so keys need not be strings).
# bfloat16 arrays are stored as their uint16 bit patterns, since .npy has no bfloat16.

from __future__ import annotations

import base64
import collections
import io
import json
import os
import zipfile
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
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(_MANIFEST, json.dumps(manifest))
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


class _Decoder:
    def __init__(self, zf: zipfile.ZipFile, records: list):
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
            return device(node["type"], node["index"])
        if tag == "size":
            return Size(node["dims"])
        raise _Corrupt(f"the manifest holds an unknown entry type {tag!r}")

    def _key(self, node):
        key = self.decode(node)
        return tuple(key) if isinstance(key, list) else key

    def _tensor(self, index):
        if index in self.tensors:
            return self.tensors[index]
        record = self.records[index]
        dtype = _dt._by_name(record["dtype"])
        with self.zf.open(f"tensors/{index}.npy") as member:
            data = np.lib.format.read_array(member, allow_pickle=False)
        stored = np.dtype(np.uint16) if dtype is _dt.bfloat16 else dtype.np
        if data.dtype != stored or list(data.shape) != record["shape"]:
            raise _Corrupt(f"tensor {index} holds {data.dtype} {list(data.shape)} but the "
                           f"manifest says {record['dtype']} {record['shape']}")
        if dtype is _dt.bfloat16:
            data = data.view(dtype.np)
        if record["parameter"]:
            from . import nn

            t = nn.Parameter(_new(data), requires_grad=record["requires_grad"])
        else:
            t = _new(data, record["requires_grad"])
        self.tensors[index] = t
        return t


def _read_checkpoint(f: IO[bytes]):
    start = f.tell()
    head = f.read(8)
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
        manifest = json.loads(zf.read(_MANIFEST).decode("utf-8"))
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
            raise _Corrupt(f"{_MANIFEST} does not describe an ember checkpoint")
        if manifest.get("version") != _VERSION:
            raise _Corrupt(f"it has format version {manifest.get('version')!r}; this ember reads "
                           f"version {_VERSION}")
        return _Decoder(zf, manifest["tensors"]).decode(manifest["root"])


def _load_from(f: IO[bytes], name: str):
    try:
        if not (hasattr(f, "seekable") and f.seekable()):
            f = io.BytesIO(f.read())  # zipfile needs to seek: buffer a pipe or socket
        return _read_checkpoint(f)
    except _Corrupt as e:
        raise RuntimeError(f"ember.load: can't load {name}: {e}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
            KeyError, IndexError, TypeError, RecursionError) as e:
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
