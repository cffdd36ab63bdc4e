"""Array backends: which array library an op's kernel computes with, chosen by its inputs.

Contract:
- ``Backend(name, xp, array_types, device_type)``: one array library. ``xp`` is its array
  namespace (a module with NumPy's API: ``numpy`` for ``cpu`` and ``meta``, CuPy's for
  ``cuda`` when issue 15 registers it); ``array_types`` the array classes it owns.
- ``register(backend)``: make a backend known (its array types map to it).
- ``of(*arrays)``: the backend of some arrays (Python numbers and NumPy scalars belong to
  any); arrays of two backends raise PyTorch's "Expected all tensors to be on the same device"
  error. ``namespace(*arrays)`` is ``of(*arrays).xp``.
- A backend moves arrays: ``device_count()``, ``index(array)`` (the device an array is on),
  ``to_device(array, index)`` (a copy onto device ``index``, from the host or another device),
  ``to_host(array)`` (a NumPy copy), ``data_ptr(array)``, ``synchronize(index)``,
  ``device_name(index)``, ``memory(index)``. ``NUMPY``'s are the identity (one device, the
  host). ``unregister(backend)`` forgets one (the device
  checker's context in ``ember.cuda.use_checker``).
- ``special(*arrays)``: SciPy's special functions for ``arrays``' library, or None
  (``Backend.special()``: ``scipy.special``, ``cupyx.scipy.special``...).
- ``device_backend(device_type)``: the registered backend of a device type ("cuda"), or None.
- ``numpy_kernel(fn)``: the record kernel of a NumPy function ``fn``: a ufunc is looked up by
  name in each namespace (``np.sin`` -> ``xp.sin``); any other function of arrays written with
  NumPy's API is itself (NumPy dispatches inside it, NOTE [array namespaces]).
- ``kernel(record, *arrays)``: the array function of an op record for these arrays:
  ``record.kernel(xp)`` (NOTE [op records] in ember/_records.py), cached per namespace.

NOTE [array namespaces]: an op's array work is written against NumPy's API. On NumPy arrays
the eager ops call NumPy directly (the fast path pays nothing for backends). Other array
types reach their library in two ways: NumPy hands ufuncs and array functions (``np.sin``,
``np.sum``, ``np.matmul``, ``np.where``...) to the array's own ``__array_ufunc__`` /
``__array_function__`` (NEP 13/18, which CuPy implements, as ember's meta arrays do); and what
NumPy cannot dispatch (creating arrays: ``np.zeros``, ``np.empty``, ``np.asarray``) asks
``namespace(*inputs)`` for the library. The op records' kernels (``record.kernel(xp)``) are
the same functions looked up in a namespace, for whatever runs ops on arrays without the
eager path (a compiled program, a device sweep).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Backend", "register", "unregister", "of", "namespace", "kernel", "NUMPY",
           "backends", "numpy_kernel", "device_backend", "special"]


class Backend:
    """One array library (see the module docstring)."""

    __slots__ = ("name", "xp", "array_types", "device_type", "_kernels")
    host_ok = False  # (NumPy's arrays join this backend's computations as they are)

    def __init__(self, name, xp, array_types, device_type):
        self.name = name
        self.xp = xp
        self.array_types = tuple(array_types)
        self.device_type = device_type
        self._kernels: dict = {}  # record name -> its array function here

    def __repr__(self):
        return f"Backend({self.name!r}, xp={self.xp.__name__}, device={self.device_type!r})"

    # ---- devices: the host's (NumPy's) here; a device library's backend overrides these ----
    def device_count(self) -> int:
        return 1

    def index(self, array) -> int:
        return 0

    def to_device(self, array, index=0):
        return array

    def to_host(self, array):
        return array

    def synchronize(self, index=None) -> None:
        """Wait for the device's queued work (the host has none)."""

    def device_name(self, index=0) -> str:
        return self.name

    def data_ptr(self, array) -> int:
        """The address of ``array``'s first element (in its device's memory)."""
        return array.__array_interface__["data"][0]

    def special(self):
        """SciPy's special functions for this library's arrays (``scipy.special`` for NumPy,
        ``cupyx.scipy.special`` for CuPy), or None where there are none (SciPy missing)."""
        try:
            import scipy.special
        except ImportError:
            return None
        return scipy.special

    def properties(self, index=0) -> dict:
        return {"name": self.device_name(index), "totalGlobalMem": 0, "major": 0, "minor": 0,
                "multiProcessorCount": 0}

    def memory(self, index=0) -> dict:
        """Bytes ``allocated`` by live arrays, ``reserved`` by the allocator, and their
        ``peak``/``peak_reserved`` since the last ``reset_peak``."""
        return {"allocated": 0, "peak": 0, "reserved": 0, "peak_reserved": 0}

    def reset_peak(self, index=0) -> None:
        """Start the peaks again from the current figures."""

    def empty_cache(self) -> None:
        """Give cached, unused device memory back."""


_BY_TYPE: dict = {}  # array type -> backend
_BACKENDS: list = []
_NEUTRAL = (bool, int, float, complex, np.generic)  # (belong to every backend)


def register(backend: Backend) -> Backend:
    """Make ``backend`` known: arrays of its types now select it."""
    _BACKENDS.append(backend)
    for t in backend.array_types:
        _BY_TYPE[t] = backend
    return backend


def unregister(backend: Backend) -> None:
    """Forget ``backend``: its arrays select no backend any more."""
    if backend in _BACKENDS:
        _BACKENDS.remove(backend)
    for t, b in list(_BY_TYPE.items()):
        if b is backend:
            del _BY_TYPE[t]


def device_backend(device_type: str):
    """The registered backend of ``device_type`` (the latest registered), or None."""
    for b in reversed(_BACKENDS):
        if b.device_type == device_type:
            return b
    return None


NUMPY = register(Backend("numpy", np, (np.ndarray,), "cpu"))


def backends() -> list:
    """The registered backends, NumPy first."""
    return list(_BACKENDS)


def _backend_of(a):
    got = _BY_TYPE.get(type(a))
    if got is None:
        for t, b in list(_BY_TYPE.items()):  # (a subclass: ember's MetaArray is an ndarray)
            if isinstance(a, t):
                got = _BY_TYPE[type(a)] = b
                break
    return got


def of(*arrays) -> Backend:
    """The backend of ``arrays`` (NumPy when none is an array of another library)."""
    found = None
    for a in arrays:
        if isinstance(a, _NEUTRAL) or a is None:
            continue
        b = _backend_of(a)
        if b is None:
            raise TypeError(f"ember has no array backend for {type(a).__module__}."
                            f"{type(a).__qualname__}")
        if found is None:
            found = b
        elif b is not found:
            # (a backend whose arrays live in host memory takes NumPy's as constants: the
            # compiler's traced arrays, ember/compiler/_trace.py)
            if found is NUMPY and b.host_ok:
                found = b
                continue
            if b is NUMPY and found.host_ok:
                continue
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two "
                f"devices, {b.device_type} and {found.device_type}!")
    return found or NUMPY


def special(*arrays):
    """SciPy's special-function namespace for ``arrays`` (see ``Backend.special``)."""
    return of(*arrays).special()


def namespace(*arrays):
    """The array namespace (``numpy``, or another library's) of ``arrays``."""
    return of(*arrays).xp


def kernel(record, *arrays):
    """``record``'s array function in the namespace of ``arrays`` (``record.kernel(xp)``)."""
    b = of(*arrays)
    fn = b._kernels.get(record.name)
    if fn is None:
        if record.kernel is None:
            raise NotImplementedError(f"the op {record.name!r} declares no array kernel")
        fn = b._kernels[record.name] = record.kernel(b.xp)
    return fn


def numpy_kernel(fn):
    """The record kernel ``kernel(xp)`` of the NumPy function ``fn`` (see the contract)."""
    if isinstance(fn, np.ufunc):
        name = fn.__name__

        def ufunc_kernel(xp):
            return getattr(xp, name)
        ufunc_kernel.__name__ = f"kernel_{name}"
        return ufunc_kernel

    def function_kernel(xp):
        return fn
    function_kernel.__name__ = f"kernel_{getattr(fn, '__name__', 'fn')}"
    return function_kernel
