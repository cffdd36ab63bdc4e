"""The CUDA backend on CuPy: ``load()`` registers nothing and returns a ``Backend`` for
``device="cuda"`` when CuPy imports and sees a GPU, else None (``why()`` says what is missing).

Contract: arrays are ``cupy.ndarray``; ``xp`` is the ``cupy`` module (NumPy's API: NumPy's own
functions reach it through ``__array_ufunc__``/``__array_function__``, NOTE [array namespaces]
in backend/__init__.py); ``to_device``/``to_host`` copy with ``cupy.asarray``/``.get()``;
``index`` is the array's device id; memory figures come from CuPy's default memory pool, the
peaks tracked by an allocator that records the pool's use after each allocation.
"""

from __future__ import annotations

from . import Backend

_WHY = ["CuPy was not tried"]


def why() -> str:
    """Why ``load()`` found no GPU (CuPy missing, or CuPy's error)."""
    return _WHY[0]


class CupyBackend(Backend):
    """CUDA devices through CuPy."""

    __slots__ = ("_cupy", "_peak", "_peak_reserved")

    def device_count(self) -> int:
        return self._cupy.cuda.runtime.getDeviceCount()

    def index(self, array) -> int:
        return array.device.id

    def to_device(self, array, index=0):
        cp = self._cupy
        if isinstance(array, cp.ndarray) and array.device.id == index:
            return array
        with cp.cuda.Device(index):
            return cp.asarray(array) if not isinstance(array, cp.ndarray) else array.copy()

    def data_ptr(self, array) -> int:
        return array.data.ptr

    def to_host(self, array):
        return array.get()

    def synchronize(self, index=None) -> None:
        cp = self._cupy
        if index is None:
            cp.cuda.Device().synchronize()
        else:
            cp.cuda.Device(index).synchronize()

    def device_name(self, index=0) -> str:
        props = self._cupy.cuda.runtime.getDeviceProperties(index)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else name

    def properties(self, index=0) -> dict:
        return self._cupy.cuda.runtime.getDeviceProperties(index)

    def special(self):
        import cupyx.scipy.special

        return cupyx.scipy.special

    # ---- memory: CuPy's default pool --------------------------------------------------------
    def _track(self, size):
        pool = self._cupy.get_default_memory_pool()
        ptr = pool.malloc(size)
        used, total = pool.used_bytes(), pool.total_bytes()
        if used > self._peak:
            self._peak = used
        if total > self._peak_reserved:
            self._peak_reserved = total
        return ptr

    def memory(self, index=0) -> dict:
        pool = self._cupy.get_default_memory_pool()
        return {"allocated": pool.used_bytes(), "peak": max(self._peak, pool.used_bytes()),
                "reserved": pool.total_bytes(),
                "peak_reserved": max(self._peak_reserved, pool.total_bytes())}

    def reset_peak(self, index=0) -> None:
        pool = self._cupy.get_default_memory_pool()
        self._peak, self._peak_reserved = pool.used_bytes(), pool.total_bytes()

    def empty_cache(self) -> None:
        self._cupy.get_default_memory_pool().free_all_blocks()


def load():
    """The CuPy backend if CuPy imports and a GPU answers, else None (see ``why()``)."""
    try:
        import cupy
    except ImportError:
        _WHY[0] = "CuPy is not installed"
        return None
    except Exception as e:  # noqa: BLE001 - a broken CuPy install: say why, run on the CPU
        _WHY[0] = f"CuPy failed to import ({type(e).__name__}: {e})"
        return None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - no driver / no device: CuPy's own words
        _WHY[0] = f"CuPy found no CUDA device ({e})"
        return None
    if n < 1:
        _WHY[0] = "CuPy found no CUDA device"
        return None
    try:  # a singular or non-positive-definite matrix raises LinAlgError, as on the CPU
        import cupyx

        cupyx.seterr(linalg="raise")
    except Exception:  # noqa: BLE001 - an older CuPy without the switch: its default
        pass
    b = CupyBackend("cupy", cupy, (cupy.ndarray,), "cuda")
    b._cupy = cupy
    b._peak = b._peak_reserved = 0
    cupy.cuda.set_allocator(b._track)
    _WHY[0] = ""
    return b
