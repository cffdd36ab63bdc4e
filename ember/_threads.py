"""``set_num_threads``/``get_num_threads`` and the inter-op pair, on the BLAS NumPy loaded.

Contract: as PyTorch's (the same argument checks and errors); ``set_num_threads`` changes the
thread count of every BLAS library loaded in the process (OpenBLAS, including NumPy's and SciPy's
symbol-prefixed builds, MKL, BLIS), at run time, through its own C entry point called with
``ctypes``, as threadpoolctl does, without a new dependency. ember has no inter-op thread pool:
``get/set_num_interop_threads`` keep PyTorch's contract (settable once) and change nothing else.

NOTE [default BLAS threads]: ``import ember`` sets the BLAS to one thread unless the user chose a
count through the environment (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``,
...). ember's matrices are small (an op's Python overhead, ~10 us, is paid per op whatever the
BLAS does): a threaded GEMM on them costs more in wake-ups than it saves, and on a busy machine
the spinning threads fight each other. Measured on a busy 2-core machine, ``python -m ember demo``
took 4.5-4.7 s with one thread and 12.4-29.7 s with OpenBLAS's default (two). A program with
large matrices on an idle machine opts back in with ``set_num_threads(n)`` or the environment.
"""

from __future__ import annotations

import builtins
import ctypes
import os

_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

# (setter, getter) C names per library family; OpenBLAS builds for NumPy and SciPy add a
# ``scipy_`` prefix and a ``64_``/``_64`` suffix to every symbol
_OPENBLAS = [(f"{p}openblas_set_num_threads{s}", f"{p}openblas_get_num_threads{s}")
             for p in ("", "scipy_") for s in ("", "64_", "_64")]
_MKL = [("MKL_Set_Num_Threads", "MKL_Get_Max_Threads")]
_BLIS = [("bli_thread_set_num_threads", "bli_thread_get_num_threads")]

_libs: dict[str, tuple] = {}  # path -> (setter, getter) of each BLAS found so far
_fallback = 1  # what get_num_threads says when no BLAS can be controlled
_interop = {"count": None, "set": False}


def _candidates():
    """Paths of the shared libraries in this process that look like a BLAS."""
    paths = set()
    try:  # Linux: every mapped library, whatever loaded it
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rstrip().rpartition(" ")[2]
                if ".so" in path:
                    paths.add(path)
    except OSError:  # elsewhere: the libraries vendored in NumPy's wheel
        import glob

        import numpy

        root = os.path.dirname(os.path.dirname(numpy.__file__))
        for sub in ("numpy.libs", os.path.join("numpy", ".dylibs"), "numpy/.libs"):
            paths.update(glob.glob(os.path.join(root, sub, "*")))
    names = ("openblas", "mkl_rt", "libmkl", "blis")
    return sorted(p for p in paths if any(n in os.path.basename(p).lower() for n in names))


def _scan():
    """Find BLAS libraries not seen before (a package may load its own after ember)."""
    for path in _candidates():
        if path in _libs:
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        found = None
        for setter, getter in _OPENBLAS + _MKL + _BLIS:
            if hasattr(lib, setter) and hasattr(lib, getter):
                found = (getattr(lib, setter), getattr(lib, getter))
                break
        _libs[path] = found
    return [f for f in _libs.values() if f is not None]


def _check(name, n):
    if type(n) is not builtins.int:
        import numbers

        if not isinstance(n, numbers.Integral) or isinstance(n, builtins.bool):
            kind = type(n)
            shown = kind.__name__ if kind.__module__ == "builtins" else (
                f"{kind.__module__}.{kind.__name__}")
            raise RuntimeError(f"{name} expects an int, but got {shown}")
    if n <= 0:
        raise RuntimeError(f"{name} expects a positive integer")
    return builtins.int(n)


def set_num_threads(int):  # noqa: A002 - PyTorch's argument name
    """Set the number of threads the BLAS (NumPy's matmul) uses."""
    global _fallback
    n = _check("set_num_threads", int)
    for setter, _getter in _scan():
        setter(n)
    _fallback = n


def get_num_threads():
    """The number of threads the BLAS (NumPy's matmul) uses."""
    libs = _scan()
    if libs:
        return builtins.int(libs[0][1]())
    return _fallback


def get_num_interop_threads():
    """PyTorch's inter-op thread count (ember runs ops on the calling thread)."""
    if _interop["count"] is None:
        try:
            _interop["count"] = len(os.sched_getaffinity(0))
        except AttributeError:
            _interop["count"] = os.cpu_count() or 1
    return _interop["count"]


def set_num_interop_threads(int):  # noqa: A002
    """Set the inter-op thread count; as in PyTorch, only once per process."""
    n = _check("set_num_interop_threads", int)
    if _interop["set"]:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has "
                           "started or set_num_interop_threads called")
    _interop["count"], _interop["set"] = n, True


def apply_default():
    """NOTE [default BLAS threads]: one BLAS thread unless the environment chose."""
    if any(os.environ.get(v) for v in _ENV_VARS):
        return
    try:
        set_num_threads(1)
    except Exception:  # noqa: BLE001 - a BLAS we cannot drive keeps its own default
        pass
