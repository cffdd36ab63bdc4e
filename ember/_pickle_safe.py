"""Reading ``data.pkl`` of a PyTorch checkpoint without running anything from it.

Contract:
- ``load_weights_only(data, storage_loader)`` turns a pickle stream into the object it describes
  when PyTorch 2.13's ``torch.load(weights_only=True)`` would accept it, and raises
  ``UnsafeCheckpointError`` (a ``pickle.UnpicklingError``, PyTorch's class) with PyTorch's
  message otherwise. Nothing named by the stream is imported or called: the stream is scanned
  opcode by opcode first (every refusal happens before anything is built), then interpreted by
  a small interpreter of the 34 opcodes PyTorch's weights-only unpickler implements, which maps
  each allowed global to an ember-side handler (NOTE [two phases]).
- ``storage_loader(key, dtype_name, nbytes, location)`` returns the storage's bytes as a
  writable uint8 array: a NumPy array, a device array (the storage placed on CUDA, NOTE
  [devices] in tensor.py) or a meta array; every tensor on one storage is a strided view of
  that array, so views keep sharing memory after loading, on the CPU and on a device.
- The allowlist is PyTorch's (144 names, ``DEFAULT_ALLOWED``) plus what the user registered with
  ``add_safe_globals`` / ``safe_globals``; globals of ``sys``, ``os``, ``posix`` and ``nt`` are
  refused even when registered, as in PyTorch.
- ``unpickle_unsafe(data, storage_loader)`` is ``weights_only=False``: a plain unpickler (it
  runs whatever the file names, which is what the caller asked for) whose ``torch.*`` names
  resolve to ember's (the rebuild functions to ember's, ``torch.nn.modules.linear.Linear`` to
  ``ember.nn.modules.linear.Linear``) so whole-module checkpoints written by PyTorch rebuild as
  ember modules.
"""

# NOTE [two phases]
# CPython's unpickler applies NEWOBJ, BUILD, APPEND(S) and SETITEM(S) to whatever a global
# resolved to, so a restricted ``find_class`` alone leaves room for tricks (BUILD on a class,
# APPEND onto a proxy). Here nothing the stream names ever reaches CPython's unpickler: phase 1
# (``_scan``) decodes opcodes with ``pickletools.genops``, which only parses arguments, and
# refuses unknown opcodes, refused globals and absurd memo indices; phase 2 (``_Interpreter``)
# executes the decoded list with handlers that check every argument's exact type.

from __future__ import annotations

import _compat_pickle
import collections
import contextlib
import math
import pickle
import pickletools
import sys

import numpy as np

__all__ = ["CheckpointError", "UnsupportedCheckpointError", "UnsafeCheckpointError",
           "add_safe_globals", "safe_globals", "get_safe_globals", "clear_safe_globals"]


class CheckpointError(RuntimeError):
    """A checkpoint that can't be read: wrong format, truncated, corrupt."""


class UnsupportedCheckpointError(CheckpointError):
    """A well-formed checkpoint using something ember does not implement."""


# A checkpoint refused under ``weights_only=True`` (it names or does what is not allowed):
# PyTorch's own class, pickle.UnpicklingError, so tracebacks and ``type(e).__name__`` read as
# PyTorch's do.
UnsafeCheckpointError = pickle.UnpicklingError


# ---- PyTorch's allowlist (Appendix A of the team's checkpoint spec; PyTorch 2.13) ----

_LEGACY = ("BFloat16", "Bool", "Byte", "Char", "ComplexDouble", "ComplexFloat", "Double", "Float",
           "Half", "Int", "Long", "Short")
_LEGACY_TENSORS = ("BFloat16", "Bool", "Byte", "Char", "Double", "Float", "Half", "Int", "Long",
                   "Short")
_SPARSE_TENSORS = ("BFloat16", "Byte", "Char", "Double", "Float", "Half", "Int", "Long", "Short")
_QUANT_STORAGES = ("QInt32", "QInt8", "QUInt2x4", "QUInt4x2", "QUInt8")
_DTYPES = ("bfloat16 bits16 bits1x8 bits2x4 bits4x2 bits8 bool complex128 complex32 complex64 "
           "float16 float32 float4_e2m1fn_x2 float64 float8_e4m3fn float8_e4m3fnuz float8_e5m2 "
           "float8_e5m2fnuz float8_e8m0fnu int1 int16 int2 int3 int32 int4 int5 int6 int64 int7 "
           "int8 qint32 qint8 quint2x4 quint4x2 quint8 uint1 uint16 uint2 uint3 uint32 uint4 "
           "uint5 uint6 uint64 uint7 uint8").split()
_QSCHEMES = ("per_channel_affine", "per_channel_affine_float_qparams", "per_channel_symmetric",
             "per_tensor_affine", "per_tensor_symmetric")
_REBUILDS = ("_rebuild_device_tensor_from_cpu_tensor", "_rebuild_device_tensor_from_numpy",
             "_rebuild_meta_tensor_no_storage", "_rebuild_nested_tensor", "_rebuild_parameter",
             "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
             "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3",
             "_rebuild_wrapper_subclass")

# storage class name -> the dtype its bytes hold
STORAGE_DTYPES = {
    "Double": "float64", "Float": "float32", "Half": "float16", "BFloat16": "bfloat16",
    "Long": "int64", "Int": "int32", "Short": "int16", "Char": "int8", "Byte": "uint8",
    "Bool": "bool", "ComplexDouble": "complex128", "ComplexFloat": "complex64",
    "QInt8": "qint8", "QInt32": "qint32", "QUInt8": "quint8", "QUInt4x2": "quint4x2",
    "QUInt2x4": "quint2x4"}

DEFAULT_ALLOWED = frozenset(
    ["_codecs.encode", "builtins.bytearray", "builtins.complex", "builtins.set",
     "collections.Counter", "collections.OrderedDict", "torch.Size", "torch.Tensor",
     "torch.device", "torch._tensor._rebuild_from_type_v2", "torch.nn.parameter.Parameter",
     "torch.serialization._get_layout", "torch.storage.TypedStorage",
     "torch.storage.UntypedStorage"]
    + [f"torch.{n}Storage" for n in _LEGACY + _QUANT_STORAGES]
    + [f"torch.{n}Tensor" for n in _LEGACY_TENSORS]
    + [f"torch.cuda.{n}Storage" for n in _LEGACY]
    + [f"torch.cuda.{n}Tensor" for n in _LEGACY_TENSORS]
    + [f"torch.sparse.{n}Tensor" for n in _SPARSE_TENSORS]
    + [f"torch.cuda.sparse.{n}Tensor" for n in _SPARSE_TENSORS]
    + [f"torch.{n}" for n in (*_DTYPES, *_QSCHEMES)]
    + [f"torch._utils.{n}" for n in _REBUILDS])
assert len(DEFAULT_ALLOWED) == 144

BLOCKED_MODULES = frozenset({"sys", "os", "posix", "nt"})

ALLOWED_OPCODES = frozenset(
    "PROTO STOP GLOBAL NEWOBJ REDUCE BUILD APPEND APPENDS SETITEM SETITEMS MARK TUPLE TUPLE1 "
    "TUPLE2 TUPLE3 NONE NEWFALSE NEWTRUE EMPTY_TUPLE EMPTY_LIST EMPTY_DICT EMPTY_SET BININT "
    "BININT1 BININT2 BINFLOAT BINUNICODE SHORT_BINSTRING BINPERSID BINGET LONG_BINGET BINPUT "
    "LONG_BINPUT LONG1".split())

MAX_OPCODES = 50_000_000
MAX_RANK = 64

# ---- user-registered safe globals (torch.serialization.add_safe_globals and friends) ----

_USER_SAFE: list = []


def add_safe_globals(safe_globals):
    """Allow these objects in ``load(weights_only=True)``: each an object (registered under
    ``obj.__module__ + "." + obj.__qualname__``) or an ``(obj, "module.name")`` pair, as
    PyTorch's. An ember object also matches the ``torch.`` spelling of its name (checkpoints
    written by PyTorch say ``torch.nn.modules.linear.Linear`` for ember's ``ember.nn...``)."""
    _USER_SAFE.extend(safe_globals)


def get_safe_globals():
    """The objects registered with ``add_safe_globals``."""
    return list(_USER_SAFE)


def clear_safe_globals():
    """Forget every object registered with ``add_safe_globals``."""
    _USER_SAFE.clear()


class safe_globals(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """``with safe_globals([...]):`` registers the objects for the block and then removes
    exactly those objects, even ones that were registered before the block (as PyTorch)."""

    def __init__(self, safe_globals):
        self.safe_globals = list(safe_globals)

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc):
        for entry in self.safe_globals:
            with contextlib.suppress(ValueError):
                _USER_SAFE.remove(entry)


def _user_globals():
    """``"module.name"`` -> object for every registered entry (and its ``torch.`` spelling)."""
    out = {}
    for entry in _USER_SAFE:
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], str):
            obj, name = entry
        else:
            obj = entry
            name = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
        out[name] = obj
        if name.startswith("ember."):
            out.setdefault("torch." + name[len("ember."):], obj)
    return out


# ---- PyTorch's messages ----

_UNSAFE = ("In PyTorch 2.6, we changed the default value of the `weights_only` argument in "
           "`torch.load` from `False` to `True`. Re-running `torch.load` with `weights_only` set "
           "to `False` will likely succeed, but it can result in arbitrary code execution. Do it "
           "only if you got the file from a trusted source.")
_DOCS = ("\n\nCheck the documentation of torch.load to learn more about types accepted by default "
         "with weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")


def _refused_global(name):
    shown = name[len("builtins."):] if name.startswith("builtins.") else name
    if shown.startswith("ember.") and sys.modules.get("torch") is sys.modules.get("ember"):
        shown = "torch." + shown[len("ember."):]  # (under ``ember run``: what the code calls it)
    inner = (f"Unsupported global: GLOBAL {shown} was not an allowed global by default. Please "
             f"use `torch.serialization.add_safe_globals([{shown}])` or the "
             f"`torch.serialization.safe_globals([{shown}])` context manager to allowlist this "
             "global if you trust this class/function.")
    return UnsafeCheckpointError(
        "Weights only load failed. This file can still be loaded, to do so you have two options, "
        "\033[1mdo those steps only if you trust the source of the checkpoint\033[0m. "
        f"\n\t(1) {_UNSAFE}\n\t(2) Alternatively, to load with `weights_only=True` please check "
        "the recommended steps in the following error message.\n\tWeightsUnpickler error: "
        + inner + _DOCS)


def _blocked_global(name, module):
    return UnsafeCheckpointError(
        f"Weights only load failed. {_UNSAFE}\n\n\nTrying to load unsupported GLOBAL {name} whose "
        f"module {module} is blocked." + _DOCS)


def refused(inner):
    """PyTorch's error for any other refusal (bad opcode, bad BUILD/APPEND target...)."""
    return UnsafeCheckpointError(
        f"Weights only load failed. {_UNSAFE}\nPlease file an issue with the following so that we "
        "can make `weights_only=True` compatible with your use case: WeightsUnpickler error: "
        f"\n\n{inner}" + _DOCS)


def _rename(module, name):
    """Python 2 names as Python's pickle renames them (``__builtin__`` -> ``builtins``...)."""
    key = (module, name)
    if key in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[key]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return module, name


# ---- phase 1: scan ----

def _scan(data, user):
    """Decode ``data`` into ``[(opcode name, argument)]``, refusing what phase 2 must not see."""
    ops = []
    try:
        for op, arg, _pos in pickletools.genops(data):
            if op.name not in ALLOWED_OPCODES:
                raise refused(f"Unsupported operand {op.code.encode('latin-1')[0]}")
            if op.name == "GLOBAL":
                module, _, name = arg.partition(" ")
                module, name = _rename(module, name)
                full = f"{module}.{name}"
                top = module.split(".")[0]
                if top in BLOCKED_MODULES:
                    raise _blocked_global(full, module)
                if full not in DEFAULT_ALLOWED and full not in user:
                    raise _refused_global(full)
                arg = full
            elif op.name in ("BINPUT", "LONG_BINPUT") and arg > len(ops) + 1:
                raise refused(f"memo index {arg} is larger than the stream ({len(ops)} opcodes)")
            ops.append((op.name, arg))
            if len(ops) > MAX_OPCODES:
                raise CheckpointError(f"data.pkl has more than {MAX_OPCODES} opcodes")
            if op.name == "STOP":
                break
    except UnsafeCheckpointError:
        raise
    except (ValueError, UnicodeError) as e:  # genops: truncated stream, bad argument
        raise CheckpointError(f"data.pkl is truncated or corrupt ({e})") from None
    if not ops or ops[-1][0] != "STOP":
        raise CheckpointError("data.pkl is truncated (no STOP opcode)")
    return ops


# ---- phase 2: stand-ins and the interpreter ----

class _Marker:
    """A non-callable name from the allowlist (a dtype, storage class, qscheme, torch.Tensor)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


class _Storage:
    """A storage referenced by a persistent id: its bytes and the dtype its class implies."""

    __slots__ = ("key", "array", "dtype_name", "nbytes")

    def __init__(self, key, array, dtype_name):
        self.key, self.array, self.dtype_name = key, array, dtype_name
        self.nbytes = array.size


def _plain_tree(value):
    """Whether ``value`` is data the interpreter built (nothing callable, no user object)."""
    return not isinstance(value, (_Marker, type)) and not callable(value)


def _ember():
    import ember

    return ember


def _ember_dtype(name):
    from . import dtypes as _dt

    return _dt._NAMES.get(name)


def _carrier(dtype_name):
    """(ember dtype, NumPy dtype) for a torch dtype name, or UnsupportedCheckpointError."""
    d = _ember_dtype(dtype_name)
    if d is None:
        raise UnsupportedCheckpointError(
            f"the checkpoint holds a torch.{dtype_name} tensor, a dtype ember does not have")
    try:
        return d, np.dtype(d.np)
    except TypeError as e:  # bfloat16 without ml_dtypes
        raise UnsupportedCheckpointError(str(e)) from None


def _check_int(x, what, minimum=0):
    if type(x) is not int or x < minimum:
        raise CheckpointError(f"{what} is {x!r}, not an int >= {minimum}")
    return x


def _check_ints(x, what):
    if type(x) is not tuple or len(x) > MAX_RANK:
        raise CheckpointError(f"{what} is {x!r}, not a tuple of at most {MAX_RANK} ints")
    for v in x:
        _check_int(v, what)
    return x


def rebuild_array(storage, offset, size, stride, dtype_name):
    """The ndarray view of ``storage`` that a tensor rebuild describes, after bounds checks."""
    if not isinstance(storage, _Storage):
        raise CheckpointError(f"a tensor's storage is {type(storage).__name__}, not a storage")
    _check_int(offset, "storage_offset")
    _check_ints(size, "size")
    _check_ints(stride, "stride")
    if len(size) != len(stride):
        raise CheckpointError(f"size {size} and stride {stride} differ in length")
    _d, carrier = _carrier(dtype_name)
    item = carrier.itemsize
    count = storage.nbytes // item
    on_host = type(storage.array) is np.ndarray
    if 0 in size and on_host:
        return np.empty(size, carrier)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if 0 not in size and last >= count:
        raise CheckpointError(
            f"tensor view out of bounds: offset {offset}, size {size}, stride {stride} needs "
            f"{last + 1} elements but storage {storage.key} holds {count}")
    if not on_host:
        return _placed_view(storage.array, count * item, carrier, offset, size, stride)
    flat = storage.array[:count * item].view(carrier)
    # np.ndarray over ``flat`` (not as_strided, whose result's base is not an ndarray): every
    # tensor of a storage keeps ``flat`` as its base, so saving them again finds the sharing
    return np.ndarray(size, carrier, buffer=flat, offset=offset * item,
                      strides=tuple(s * item for s in stride))


def _placed_view(raw, nbytes, carrier, offset, size, stride):
    """The view a tensor rebuild describes of ``raw``, a storage's bytes on a device or on
    meta (``load``'s map_location put it there)."""
    from ._meta import MetaArray, meta_array

    if isinstance(raw, MetaArray):
        return meta_array(size, carrier)
    from .backend import namespace

    xp = namespace(raw)
    try:
        if 0 in size:
            return xp.empty(size, carrier)
        flat = raw[:nbytes].view(carrier)
        n = math.prod(size)
        if stride == _contiguous(size):  # (a slice keeps the view's base: saving it again
            return flat[offset:offset + n].reshape(size)  # finds the sharing)
        return xp.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                               strides=tuple(s * carrier.itemsize
                                                             for s in stride))
    except (TypeError, ValueError) as e:  # a dtype the device library lacks (bfloat16)
        raise UnsupportedCheckpointError(
            f"a {carrier.name} tensor can't be placed on the device ({e}); load it with "
            "map_location='cpu'") from None


def _contiguous(size):
    strides, acc = [], 1
    for n in reversed(size):
        strides.append(acc)
        acc *= n
    return tuple(reversed(strides))


def _make_tensor(array, requires_grad):
    from .tensor import Tensor

    if type(requires_grad) is not bool:
        raise CheckpointError(f"requires_grad is {requires_grad!r}, not a bool")
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _check_hooks(hooks):
    if not (isinstance(hooks, dict) and not hooks):
        raise CheckpointError("backward_hooks of a tensor must be an empty OrderedDict")


def _apply_metadata(array, metadata):
    if metadata is None:
        return array
    if type(metadata) not in (dict, collections.OrderedDict) or not set(metadata) <= {"conj",
                                                                                       "neg"}:
        raise CheckpointError(f"unexpected tensor metadata {metadata!r}")
    if metadata.get("conj"):
        array = np.conj(array)
    if metadata.get("neg"):
        array = np.negative(array)
    return array


def rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None,
                      metadata=None):
    _check_hooks(hooks if hooks is not None else {})
    dtype = storage.dtype_name if isinstance(storage, _Storage) else None
    array = rebuild_array(storage, offset, size, stride, dtype)
    return _make_tensor(_apply_metadata(array, metadata), requires_grad)


def rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype,
                      metadata=None):
    _check_hooks(hooks)
    name = dtype.name if isinstance(dtype, _Marker) else getattr(dtype, "name", None)
    if not isinstance(name, str) or not (isinstance(dtype, _Marker) or _ember_dtype(name)):
        raise CheckpointError(f"_rebuild_tensor_v3 got dtype {dtype!r}")
    name = name.rpartition(".")[2]
    array = rebuild_array(storage, offset, size, stride, name)
    return _make_tensor(_apply_metadata(array, metadata), requires_grad)


def rebuild_tensor(storage, offset, size, stride):
    return rebuild_tensor_v2(storage, offset, size, stride)


def _set_attributes(obj, state):
    """Python attributes PyTorch pickles with a tensor; ember's tensors can't hold them."""
    if state is None:
        return obj
    if type(state) is tuple and len(state) == 2:
        for part in state:
            _set_attributes(obj, part)
        return obj
    if not isinstance(state, dict):
        raise CheckpointError(f"tensor state is {type(state).__name__}, not a dict")
    if state:
        raise UnsupportedCheckpointError(
            f"the checkpoint sets Python attributes {sorted(map(str, state))} on a tensor; "
            "ember's tensors have no instance dict to hold them")
    return obj


def _to_parameter(data, requires_grad):
    from .nn.parameter import Parameter
    from .tensor import Tensor

    if not isinstance(data, Tensor) or type(requires_grad) is not bool:
        raise CheckpointError("a Parameter needs a tensor and a bool")
    return Parameter(data.detach(), requires_grad)


def rebuild_parameter(data, requires_grad, hooks):
    _check_hooks(hooks)
    return _to_parameter(data, requires_grad)


def rebuild_parameter_with_state(data, requires_grad, hooks, state):
    return _set_attributes(rebuild_parameter(data, requires_grad, hooks), state)


def _size(dims):
    from ._size import Size

    return Size(_check_ints(dims, "torch.Size"))


def _device(*args):
    from .tensor import device

    if not (1 <= len(args) <= 2 and type(args[0]) is str
            and (len(args) == 1 or args[1] is None or type(args[1]) is int)):
        raise CheckpointError(f"torch.device{args!r} is not a device")
    try:
        return device(*args)
    except (RuntimeError, ValueError) as e:
        raise CheckpointError(f"torch.device{args!r}: {e}") from None


def _layout(name):
    if name != "torch.strided":
        raise UnsupportedCheckpointError(f"layout {name!r}: ember has strided tensors only")
    return _ember().strided


def _encode(text, encoding="utf-8", errors="strict"):
    if type(text) is not str or encoding not in ("latin1", "latin-1", "iso-8859-1") \
            or errors != "strict":
        raise refused(f"_codecs.encode({type(text).__name__}, {encoding!r}) is not allowed; "
                      "only latin1 text, as pickled bytes")
    return text.encode("latin1")


def _set(items=()):
    if type(items) not in (list, tuple):
        raise CheckpointError("set() of a non-sequence")
    return set(items)


def _complex(real=0.0, imag=0.0):
    if type(real) not in (int, float) or type(imag) not in (int, float):
        raise CheckpointError("complex() of a non-number")
    return complex(real, imag)


def _bytearray(data=b""):
    if type(data) is not bytes:
        raise CheckpointError("bytearray() of a non-bytes value")
    return bytearray(data)


def _counter(items=None):
    if items is not None and type(items) is not dict:
        raise CheckpointError("Counter() of a non-dict")
    return collections.Counter(items or {})


def _ordered_dict(*args):
    if args:
        raise CheckpointError("OrderedDict() with arguments")
    return collections.OrderedDict()


def rebuild_from_type_v2(func, new_type, args, state):
    if func not in (rebuild_tensor_v2, rebuild_tensor_v3, rebuild_tensor, rebuild_parameter,
                    rebuild_parameter_with_state) or type(args) is not tuple:
        raise CheckpointError(f"_rebuild_from_type_v2 of {func!r}")
    result = func(*args)
    if isinstance(new_type, _Marker) and new_type.name == "torch.Tensor":
        pass
    elif new_type is _to_parameter:
        result = _to_parameter(result, result.requires_grad)
    else:
        raise UnsupportedCheckpointError(f"a tensor subclass {new_type!r}")
    return _set_attributes(result, state)


def _unsupported(name):
    def handler(*args):
        raise UnsupportedCheckpointError(
            f"the checkpoint uses {name}: quantized, sparse, nested, meta and wrapper-subclass "
            "tensors and legacy tensor classes are not supported by ember")
    return handler


# allowed callable name -> handler; every other allowed name is a _Marker
_CALLABLES = {
    "torch._utils._rebuild_tensor": rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": rebuild_tensor_v2,
    "torch._utils._rebuild_tensor_v3": rebuild_tensor_v3,
    "torch._utils._rebuild_parameter": rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": rebuild_parameter_with_state,
    "torch.nn.parameter.Parameter": _to_parameter,
    "torch._tensor._rebuild_from_type_v2": rebuild_from_type_v2,
    "collections.OrderedDict": _ordered_dict,
    "collections.Counter": _counter,
    "builtins.set": _set,
    "builtins.complex": _complex,
    "builtins.bytearray": _bytearray,
    "_codecs.encode": _encode,
    "torch.Size": _size,
    "torch.device": _device,
    "torch.serialization._get_layout": _layout,
}
for _name in _REBUILDS:
    _CALLABLES.setdefault(f"torch._utils.{_name}", _unsupported(f"torch._utils.{_name}"))

_NEWOBJ_OK = {"collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter"}


def storage_dtype(marker):
    """The dtype name a storage class marker implies (UntypedStorage: raw bytes)."""
    if not isinstance(marker, _Marker):
        return None
    name = marker.name
    if name in ("torch.storage.UntypedStorage", "torch.storage.TypedStorage"):
        return "uint8"
    base = name.rpartition(".")[2]
    if base.endswith("Storage") and name.startswith("torch."):
        return STORAGE_DTYPES.get(base[:-len("Storage")])
    return None


class _Interpreter:
    """Executes the scanned opcode list; see NOTE [two phases]."""

    def __init__(self, ops, storage_loader, user):
        self.ops, self.storage_loader, self.user = ops, storage_loader, user
        self.storages: dict[str, _Storage] = {}

    def resolve(self, name):
        if name in self.user:
            return _UserGlobal(self.user[name])
        if name in _CALLABLES:
            return _CALLABLES[name]
        dtype = _ember_dtype(name[len("torch."):]) if name.startswith("torch.") else None
        return dtype if dtype is not None else _Marker(name)

    def persistent_load(self, pid):
        if type(pid) is not tuple or not pid or pid[0] not in ("storage", b"storage"):
            raise refused("Only persistent_load of storage is allowed, but got "
                          f"{pid[0] if type(pid) is tuple and pid else pid!r}")
        if len(pid) != 5:
            raise CheckpointError(f"a storage id has {len(pid)} fields, not 5 (a legacy file?)")
        _tag, cls, key, location, numel = pid
        if isinstance(key, bytes):
            key = key.decode("ascii")
        if isinstance(location, bytes):
            location = location.decode("ascii")
        dtype_name = storage_dtype(cls)
        if dtype_name is None or type(key) is not str or type(location) is not str:
            raise CheckpointError(f"invalid storage id {pid!r}")
        _check_int(numel, "a storage's numel")
        if dtype_name in ("qint8", "qint32", "quint8", "quint4x2", "quint2x4"):
            raise UnsupportedCheckpointError(f"quantized storage {cls.name}")
        item = 1 if dtype_name == "uint8" else _carrier(dtype_name)[1].itemsize
        nbytes = numel * item
        old = self.storages.get(key)
        if old is not None:
            if old.dtype_name != dtype_name or old.nbytes != nbytes:
                raise CheckpointError(f"storage {key} is referenced with two types or sizes")
            return old
        storage = _Storage(key, self.storage_loader(key, dtype_name, nbytes, location), dtype_name)
        self.storages[key] = storage
        return storage

    def call(self, func, args):
        if type(args) is not tuple:
            raise refused("REDUCE arguments must be a tuple")
        if isinstance(func, _UserGlobal):
            return func.obj(*args)
        if func in _CALLABLES.values():
            return func(*args)
        name = getattr(func, "name", func)
        raise refused(f"Trying to call reduce for unrecognized function {name}")

    def newobj(self, cls, args):
        if type(args) is not tuple:
            raise refused("NEWOBJ arguments must be a tuple")
        if isinstance(cls, _UserGlobal) and isinstance(cls.obj, type):
            return cls.obj.__new__(cls.obj, *args)
        if cls is _ordered_dict:
            return collections.OrderedDict()
        if cls is _counter:
            return collections.Counter()
        if cls is _to_parameter:
            return _to_parameter(*args)
        raise refused(f"Trying to instantiate unsupported class {getattr(cls, 'name', cls)}")

    def build(self, inst, state):
        from .tensor import Tensor

        if type(inst) is collections.OrderedDict:
            if not isinstance(state, dict) or not all(type(k) is str for k in state):
                raise refused("BUILD of an OrderedDict needs a dict of attribute names")
            for k, v in state.items():
                if k.startswith("__") or not _plain_tree(v):
                    raise refused(f"BUILD may not set {k!r} on an OrderedDict")
                setattr(inst, k, v)
            return
        if isinstance(inst, Tensor):
            _set_attributes(inst, state)
            return
        if any(type(inst) is obj for obj in self.user.values()):
            setstate = getattr(inst, "__setstate__", None)
            if setstate is not None:
                setstate(state)
            elif isinstance(state, dict):
                inst.__dict__.update(state)
            return
        raise refused("Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
                      f"`add_safe_globals`, but got {type(inst)}")

    def run(self):
        stack: list = []
        marks: list = []
        memo: dict = {}

        def pop_mark():
            nonlocal stack
            items = stack
            stack = marks.pop()
            return items

        for name, arg in self.ops:
            if name == "MARK":
                marks.append(stack)
                stack = []
            elif name in ("BININT", "BININT1", "BININT2", "LONG1", "BINFLOAT", "BINUNICODE",
                          "SHORT_BINSTRING"):
                stack.append(arg)
            elif name == "BINPUT" or name == "LONG_BINPUT":
                memo[arg] = stack[-1]
            elif name == "BINGET" or name == "LONG_BINGET":
                if arg not in memo:
                    raise CheckpointError(f"Memo value not found at index {arg}")
                stack.append(memo[arg])
            elif name == "EMPTY_DICT":
                stack.append({})
            elif name == "EMPTY_LIST":
                stack.append([])
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "EMPTY_SET":
                stack.append(set())
            elif name == "NONE":
                stack.append(None)
            elif name == "NEWTRUE":
                stack.append(True)
            elif name == "NEWFALSE":
                stack.append(False)
            elif name == "TUPLE":
                items = pop_mark()  # rebinds ``stack``: not inside ``stack.append(...)``
                stack.append(tuple(items))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                if len(stack) < n:
                    raise CheckpointError("stack underflow")
                items = tuple(stack[-n:])
                del stack[-n:]
                stack.append(items)
            elif name == "GLOBAL":
                stack.append(self.resolve(arg))
            elif name == "BINPERSID":
                stack.append(self.persistent_load(stack.pop()))
            elif name == "REDUCE":
                args = stack.pop()
                stack[-1] = self.call(stack[-1], args)
            elif name == "NEWOBJ":
                args = stack.pop()
                stack[-1] = self.newobj(stack[-1], args)
            elif name == "BUILD":
                state = stack.pop()
                self.build(stack[-1], state)
            elif name == "APPEND":
                value = stack.pop()
                self._append(stack[-1], [value])
            elif name == "APPENDS":
                items = pop_mark()
                self._append(stack[-1], items)
            elif name == "SETITEM":
                value, key = stack.pop(), stack.pop()
                self._setitems(stack[-1], [key, value])
            elif name == "SETITEMS":
                items = pop_mark()
                self._setitems(stack[-1], items)
            elif name == "PROTO":
                pass
            elif name == "STOP":
                return stack.pop()
        raise CheckpointError("data.pkl ended without STOP")

    @staticmethod
    def _append(target, items):
        if type(target) is not list:
            raise refused(f"Can only append to lists, but got {type(target).__name__}")
        target.extend(items)

    @staticmethod
    def _setitems(target, items):
        if type(target) not in (dict, collections.OrderedDict, collections.Counter):
            raise refused("Can only SETITEM for dict, collections.OrderedDict, "
                          f"collections.Counter, but got {type(target).__name__}")
        if len(items) % 2:
            raise CheckpointError("SETITEMS with an odd number of items")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]


class _UserGlobal:
    """An object the user allowlisted, as the interpreter holds it."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj


def load_weights_only(data, storage_loader):
    """``data.pkl`` -> object, as ``torch.load(weights_only=True)``; see the module docstring."""
    user = _user_globals()
    ops = _scan(data, user)
    try:
        return _Interpreter(ops, storage_loader, user).run()
    except (CheckpointError, UnsafeCheckpointError):
        raise
    except IndexError:
        raise CheckpointError("data.pkl is malformed (stack underflow)") from None
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError, OverflowError,
            RuntimeError) as e:
        raise CheckpointError(f"data.pkl is malformed ({type(e).__name__}: {e})") from None


# ---- weights_only=False ----

class _TorchNamesUnpickler(pickle.Unpickler):
    """A full unpickler (runs what the file names) whose ``torch.*`` names are ember's."""

    def __init__(self, file, storage_loader, **kwargs):
        super().__init__(file, **kwargs)
        self._interp = _Interpreter([], storage_loader, {})

    def find_class(self, module, name):
        full = f"{module}.{name}"
        if full in _CALLABLES:
            handler = _CALLABLES[full]
            if handler is _to_parameter:
                from .nn.parameter import Parameter

                return Parameter
            return handler
        if module == "torch" or module.startswith("torch."):
            if storage_dtype(_Marker(full)) is not None:
                return _Marker(full)
            if module == "torch":
                dtype = _ember_dtype(name)
                if dtype is not None:
                    return dtype
                if name == "Tensor":
                    from .tensor import Tensor

                    return Tensor
            # NOTE: the documented fallback until ``ember.install_as_torch()`` exists
            # everywhere: PyTorch's module paths name ember's classes at the same paths.
            import sys

            torch = sys.modules.get("torch")
            if torch is None or getattr(torch, "__name__", "") != "ember":
                module = "ember" + module[len("torch"):]
        return super().find_class(module, name)

    def persistent_load(self, pid):
        return self._interp.persistent_load(pid)


def unpickle_unsafe(data, storage_loader, **pickle_load_args):
    """``weights_only=False``: unpickle ``data`` with ember standing in for torch."""
    import io

    pickle_load_args.setdefault("encoding", "utf-8")
    return _TorchNamesUnpickler(io.BytesIO(data), storage_loader, **pickle_load_args).load()
