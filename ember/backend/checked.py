"""The device checker: a CPU stand-in for CuPy that refuses what CuPy refuses.

Contract:
- ``CheckedArray``: an array "on the device". It holds a NumPy array but is not one, and
  behaves as ``cupy.ndarray`` does where ember could go wrong: ``np.asarray`` of it (any
  implicit conversion to NumPy: ``__array__``) raises CuPy's TypeError; NumPy ufuncs and array
  functions given one run through ``__array_ufunc__`` / ``__array_function__`` only when CuPy
  has a function of that name (else NumPy's "no implementation found" TypeError, as CuPy's own
  ``NotImplemented``), and refuse NumPy arrays mixed in (CuPy's "Unsupported type" TypeError:
  a host buffer made with ``np.zeros`` inside an op is a bug on the GPU); reductions and
  indexing give 0-d arrays, never NumPy scalars; methods and attributes are CuPy's
  ``ndarray``'s (``.get()`` copies to the host; ``__index__`` is absent; ``flags`` has no
  ``writeable``: CuPy's arrays, broadcast views included, are all writeable, and so are the
  checker's); ufunc methods are CuPy's (``at`` for add/subtract/maximum/minimum/bitwise ops
  on 32/64-bit and half types only, ``reduce``/``accumulate`` for add and multiply,
  ``reduceat`` for add: others raise NotImplementedError); bfloat16, object and
  string dtypes are refused (CuPy has none). Values are computed by NumPy, so a result on the
  checker equals the CPU result bit for bit.
- ``NAMESPACE`` (``xp``): CuPy's module as seen by ember's kernels: each name CuPy has (per
  the installed CuPy, else the snapshot in ``_cupy_names.py``) is NumPy's, its array arguments
  unwrapped and results wrapped; ``asarray``/``array`` take host arrays (a host-to-device
  copy); any other name raises AttributeError as CuPy's module would.
- ``BACKEND``: the ``Backend`` ("cuda") ``ember.cuda`` registers while the checker is on
  (``ember.cuda.use_checker()``): one device, ``cuda:0``.

NOTE [device checker]: CI has no GPU, but the CUDA path must run on every CI run. The checker
is a backend whose arrays fail exactly where CuPy's would fail for ember: an op that makes a
host buffer (``np.zeros``, ``np.asarray``) or calls a NumPy function CuPy lacks raises here as
it would on a GPU. Performance and CuPy's numerical differences (cuBLAS summation order,
CuPy's own kernels) are not modelled: the GPU script (bench/gpu_check.sh) checks those on a
real device.
"""

from __future__ import annotations

import functools
import warnings
import weakref

import numpy as np

from . import Backend, _wrapping

__all__ = ["CheckedArray", "NAMESPACE", "BACKEND", "cupy_names"]

IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly.")


@functools.lru_cache(maxsize=1)
def cupy_names():
    """``(modules, ufuncs, ndarray attributes)`` of CuPy: the installed one's, else the
    snapshot's."""
    try:
        import cupy  # noqa: F401 - only its names are read (it imports without a GPU)
    except Exception:  # noqa: BLE001 - no CuPy (or a broken one): the snapshot
        from . import _cupy_names as snap

        return snap.MODULES, snap.UFUNCS, snap.NDARRAY
    import importlib

    import cupy

    modules = {"": frozenset(dir(cupy))}
    for sub in ("linalg", "fft", "random", "lib", "lib.stride_tricks"):
        modules[sub] = frozenset(dir(importlib.import_module(f"cupy.{sub}")))
    modules["cupyx.scipy.special"] = frozenset(
        dir(importlib.import_module("cupyx.scipy.special")))
    ufuncs = frozenset(n for n in modules[""] if isinstance(getattr(cupy, n, None), cupy.ufunc))
    return modules, ufuncs, frozenset(dir(cupy.ndarray))


_REFUSED_KINDS = "OSUVMm"


def _check_dtype(a):
    dt = a.dtype
    if dt.kind in _REFUSED_KINDS or dt.name == "bfloat16":
        raise TypeError(f"Unsupported type {dt}")


class _Device:
    """What ``cupy.ndarray.device`` is: the device's id."""

    __slots__ = ("id",)

    def __init__(self, index):
        self.id = index

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


_DEVICE0 = _Device(0)
_OWNED: dict = {}  # id of a host buffer a device array owns -> its bytes (the "device memory")
_PEAK = [0]
_TOTAL = [0]


def _own(a):
    _OWNED[id(a)] = a.nbytes
    _TOTAL[0] += a.nbytes
    if _TOTAL[0] > _PEAK[0]:
        _PEAK[0] = _TOTAL[0]
    weakref.finalize(a, _release, id(a))


def _release(key):
    _TOTAL[0] -= _OWNED.pop(key, 0)


class _Flags:
    """``cupy.ndarray.flags``: contiguity and ownership only (no ``writeable``: a CuPy array
    is always writeable, broadcast views included)."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, flags):
        self.c_contiguous = flags.c_contiguous
        self.f_contiguous = flags.f_contiguous
        self.owndata = flags.owndata

    def __getitem__(self, name):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "OWNDATA": "owndata"}[name])


class CheckedArray:
    """An array on the checker's device (see the module docstring)."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100.0  # (binary operators with a NumPy array defer to this class)
    __hash__ = None

    def __init__(self, a):
        self._a = a
        if a.base is None and id(a) not in _OWNED:
            _own(a)

    # ---- what CuPy refuses ------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        modules, ufuncs, _ = cupy_names()
        name = ufunc.__name__
        if name not in modules[""]:
            return NotImplemented
        if method != "__call__" and (name not in ufuncs or not _method_ok(name, method,
                                                                          inputs)):
            raise NotImplementedError(
                f"CuPy does not support {name}.{method}"
                + (f" for {inputs[0].dtype}" if method == "at" else "")
                + " (ember's device checker)")
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        res = getattr(ufunc, method)(*(_unwrap(x) for x in inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(res)

    def __array_function__(self, func, types, args, kwargs):
        mod = func.__module__ or "numpy"
        sub = mod.split(".", 1)[1] if "." in mod else ""
        modules = cupy_names()[0]
        if sub not in modules or func.__name__ not in modules[sub]:
            return NotImplemented
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    # ---- CuPy's ndarray ---------------------------------------------------------------------
    @property
    def strides(self):
        return self._a.strides

    @property
    def flags(self):
        return _Flags(self._a.flags)

    @property
    def device(self):
        return _DEVICE0

    @property
    def T(self):  # noqa: N802 - NumPy's name
        return CheckedArray(self._a.T)

    @property
    def mT(self):  # noqa: N802 - NumPy's name
        return CheckedArray(self._a.mT)

    @property
    def real(self):
        return CheckedArray(self._a.real)

    @real.setter
    def real(self, value):
        self._a.real = _unwrap(value)

    @property
    def imag(self):
        return CheckedArray(self._a.imag)

    @imag.setter
    def imag(self, value):
        self._a.imag = _unwrap(value)

    @property
    def base(self):
        return None if self._a.base is None else CheckedArray(self._a.base)

    def get(self, stream=None, order="C", out=None):
        """A host copy (``cupy.ndarray.get``)."""
        return np.array(self._a, order=order)

    def __getattr__(self, name):
        if name.startswith("_") or name not in cupy_names()[2]:
            raise AttributeError(
                f"'cupy.ndarray' object has no attribute '{name}' (ember's device checker: "
                "CuPy's ndarray has no such attribute)")
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))
        return method

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap_index(index)])  # (views stay writeable: _writeable)

    def __setitem__(self, index, value):
        self._a[_unwrap_index(index)] = _unwrap(value, host_ok=True)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (CheckedArray(np.asarray(row)) for row in self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __copy__(self):
        return CheckedArray(self._a.copy())

    def __deepcopy__(self, memo):
        return CheckedArray(self._a.copy())

    def __reduce__(self):
        return CheckedArray, (self._a,)

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec)


def _inplace(uf, op):
    def method(self, other):
        self._a[...] = op(self._a, _unwrap(other))
        return self
    return method


_wrapping.install(CheckedArray, _inplace)


# CuPy's ufunc methods (cupy/_core/_kernel.pyx): ``at`` scatters with atomics, so only for
# these ufuncs and dtypes; ``reduce``/``accumulate`` only add and multiply, ``reduceat`` add
_AT = frozenset({"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or",
                 "bitwise_xor"})
_AT_DTYPES = frozenset({"int32", "uint32", "uint64", "float16", "float32", "float64"})
_REDUCE = frozenset({"add", "multiply"})


def _method_ok(name, method, inputs) -> bool:
    if method == "at":
        return name in _AT and np.dtype(inputs[0].dtype).name in _AT_DTYPES
    if method in ("reduce", "accumulate"):
        return name in _REDUCE
    if method == "reduceat":
        return name == "add"
    return method == "outer"


class _Interface:
    """An array interface over existing memory (``_writeable`` builds a view on it)."""

    def __init__(self, interface, base):
        self.__array_interface__ = interface
        self.base = base


def _writeable(a):
    """``a`` writeable, as every CuPy array is: NumPy's read-only views (a broadcast, a
    diagonal) over writeable memory are reopened; read-only memory stays read-only."""
    with warnings.catch_warnings():  # (NumPy's broadcast_arrays results warn on the flag)
        warnings.simplefilter("ignore", FutureWarning)
        if a.flags.writeable:
            return a
        try:
            a.flags.writeable = True
            return a
        except ValueError:
            pass
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not root.flags.writeable:
        return a
    interface = dict(a.__array_interface__)
    interface["data"] = (interface["data"][0], False)
    return np.asarray(_Interface(interface, a))


def _wrap(res):
    if isinstance(res, np.ndarray):
        _check_dtype(res)
        return CheckedArray(_writeable(res))
    if isinstance(res, np.generic):
        return CheckedArray(np.asarray(res))
    if isinstance(res, tuple):
        return tuple(_wrap(r) for r in res)
    if isinstance(res, list):
        return [_wrap(r) for r in res]
    return res


def _unwrap(x, host_ok=False):
    """NumPy's view of an argument: device arrays give their data; a host array is refused
    (CuPy's TypeError) unless ``host_ok`` (an explicit transfer)."""
    if isinstance(x, CheckedArray):
        return x._a
    if isinstance(x, np.ndarray):
        if host_ok:
            return x
        raise TypeError(f"Unsupported type {type(x)}")
    if isinstance(x, tuple):
        return tuple(_unwrap(v, host_ok) for v in x)
    if isinstance(x, list):
        return [_unwrap(v, host_ok) for v in x]
    if isinstance(x, dict):
        return {k: _unwrap(v, host_ok) for k, v in x.items()}
    return x


def _unwrap_index(index):
    # (CuPy takes host integer and boolean arrays as indices: it copies them over)
    return _unwrap(index, host_ok=True)


class _Ufunc:
    """``xp.<ufunc>``: NumPy's ufunc on device arrays, with its methods."""

    __slots__ = ("_uf", "__name__")

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__

    def __call__(self, *args, **kwargs):
        return _device_call(self._uf, args, kwargs)

    def __getattr__(self, name):
        if name in ("reduce", "accumulate", "reduceat", "outer", "at"):
            return _device_fn(getattr(self._uf, name))
        return getattr(self._uf, name)


def _device_call(fn, args, kwargs):
    return _wrap(fn(*_unwrap(args), **_unwrap(kwargs)))


def _device_fn(fn):
    """``fn`` (a NumPy function) taking and giving device arrays."""
    @functools.wraps(fn)
    def on_device(*args, **kwargs):
        return _wrap(fn(*_unwrap(args), **_unwrap(kwargs)))
    return on_device


_HOST_IN = frozenset({"asarray", "array", "asanyarray", "ascontiguousarray", "copy"})


class _Namespace:
    """A CuPy module as ember's kernels see it (see the module docstring)."""

    def __init__(self, sub, numpy_module):
        self._sub = sub
        self._np = numpy_module
        full = sub if sub.startswith("cupyx") else "cupy" + (f".{sub}" if sub else "")
        self.__name__ = full + " (ember device checker)"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        modules = cupy_names()[0]
        if name not in modules.get(self._sub, ()):
            raise AttributeError(f"module '{self.__name__.split()[0]}' has no attribute "
                                 f"'{name}'")
        sub = f"{self._sub}.{name}" if self._sub else name
        if sub in modules:
            got = _Namespace(sub, getattr(self._np, name))
        else:
            obj = getattr(self._np, name)
            if isinstance(obj, np.ufunc) and not self._sub.startswith("cupyx"):
                got = _Ufunc(obj)
            elif isinstance(obj, type) or not callable(obj):
                got = obj  # dtypes, constants, exception classes
            elif name in _HOST_IN and not self._sub:
                got = functools.partial(_to_device_call, obj)
            else:
                got = _device_fn(obj)
        setattr(self, name, got)
        return got


def _to_device_call(fn, obj, *args, **kwargs):
    res = fn(_unwrap(obj, host_ok=True), *args, **kwargs)
    if isinstance(obj, np.ndarray) and res is obj:
        res = res.copy()  # (a transfer never shares host memory)
    return _wrap(res)


NAMESPACE = _Namespace("", np)
_SPECIAL: dict = {}


class CheckedBackend(Backend):
    """The checker as a CUDA backend: one device, index 0."""

    __slots__ = ()

    def device_count(self) -> int:
        return 1

    def index(self, array) -> int:
        return 0

    def to_device(self, array, index=0):
        if isinstance(array, CheckedArray):
            return array
        a = np.array(array)  # (a copy: the device never shares host memory)
        _check_dtype(a)
        return CheckedArray(a)

    def to_host(self, array):
        return array.get()

    def data_ptr(self, array) -> int:
        return array._a.__array_interface__["data"][0]

    def synchronize(self, index=None) -> None:
        """Nothing runs asynchronously on the checker."""

    def device_name(self, index=0) -> str:
        return "ember device checker (CPU)"

    def special(self):
        """``cupyx.scipy.special`` as the checker sees it: SciPy's functions under CuPy's
        names (None without SciPy)."""
        try:
            import scipy.special
        except ImportError:
            return None
        return _SPECIAL.setdefault("ns", _Namespace("cupyx.scipy.special", scipy.special))

    def memory(self, index=0) -> dict:
        # (the checker has no caching allocator: what is reserved is what is allocated)
        return {"allocated": _TOTAL[0], "peak": _PEAK[0], "reserved": _TOTAL[0],
                "peak_reserved": _PEAK[0]}

    def reset_peak(self, index=0) -> None:
        _PEAK[0] = _TOTAL[0]


BACKEND = CheckedBackend("checker", NAMESPACE, (CheckedArray,), "cuda")
