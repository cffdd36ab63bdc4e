"""``ember.cuda``: CUDA devices, on CuPy (NOTE [devices] in ember/tensor.py).

Contract:
- The CUDA backend is chosen once, on first use: CuPy's (``backend/cupy_backend.py``) when
  CuPy imports and sees a GPU; the device checker (``backend/checked.py``) when the environment
  sets ``EMBER_CUDA_CHECKER=1`` or inside ``use_checker()``; else none.
- With a backend: ``is_available()`` True, ``device_count()``, ``current_device()``,
  ``set_device()``, ``with ember.cuda.device(i)``, ``synchronize()``, ``get_device_name()``,
  ``get_device_properties()``, the memory figures (``memory_allocated``,
  ``max_memory_allocated``, ``memory_reserved``, ``max_memory_reserved``, ``memory_stats``,
  ``reset_peak_memory_stats``, ``empty_cache``), the generators (``manual_seed(_all)``,
  ``seed(_all)``, ``initial_seed``, ``get_rng_state(_all)``, ``set_rng_state(_all)``: one
  PyTorch-format CPU generator per device; CUDA samples are drawn on the host from it and
  copied over, so they are reproducible but are not PyTorch's Philox numbers), ``Event`` with
  timing and ``Stream``/``current_stream``/``default_stream`` (one stream per device).
- Without one: what PyTorch built without CUDA answers: ``is_available()`` False,
  ``device_count()`` 0, the memory counters 0, ``empty_cache()`` and the seeding calls accepted
  as no-ops, and every call that needs a device raises PyTorch's ``AssertionError: Torch not
  compiled with CUDA enabled``; placing a tensor on ``cuda`` (``.cuda()``, ``device="cuda"``)
  raises the same AssertionError naming ``pip install 'ember[cuda]'``.
- ``ember.cuda.amp`` holds the deprecated mixed-precision names.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import OrderedDict

from .. import backend as _backend_mod

_NOT_COMPILED = "Torch not compiled with CUDA enabled"
_STATE = {"tried": False, "backend": None, "current": 0, "generators": None}


def _load():
    if _STATE["tried"]:
        return _STATE["backend"]
    _STATE["tried"] = True
    if os.environ.get("EMBER_CUDA_CHECKER") == "1":
        from ..backend import checked

        b = checked.BACKEND
    else:
        from ..backend import cupy_backend

        b = cupy_backend.load()
    if b is not None:
        _backend_mod.register(b)
    _STATE["backend"] = b
    return b


def _backend():
    """The CUDA backend, or None."""
    b = _STATE["backend"]
    return b if b is not None or _STATE["tried"] else _load()


def placement_error() -> AssertionError:
    """The error of placing a tensor on CUDA without a backend."""
    from ..backend import cupy_backend

    why = cupy_backend.why() if _STATE["tried"] else ""
    detail = f": {why}" if why and why != "CuPy was not tried" else ""
    return AssertionError(
        f"{_NOT_COMPILED} (ember's CUDA runs on CuPy{detail}; on a machine with an NVIDIA GPU "
        "install it with pip install 'ember[cuda]', which brings cupy-cuda12x)")


def _require():
    b = _backend()
    if b is None:
        raise AssertionError(_NOT_COMPILED)
    return b


def _index(device=None) -> int:
    """A device argument (None, an int, 'cuda:1', an ember.device) as an index, checked."""
    from ..tensor import device as _device

    b = _require()
    if device is None:
        return _STATE["current"]
    if isinstance(device, int):
        i = device
    else:
        d = device if isinstance(device, _device) else _device(device)
        if d.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {d}")
        i = _STATE["current"] if d.index is None else d.index
    if i < 0:
        return _STATE["current"]
    if i >= b.device_count():
        raise RuntimeError("CUDA error: invalid device ordinal")
    return i


@contextlib.contextmanager
def use_checker():
    """Run the block with the device checker as the CUDA backend (NOTE [device checker] in
    backend/checked.py): ``device="cuda"`` tensors hold arrays that refuse what CuPy refuses."""
    from ..backend import checked

    saved = dict(_STATE)
    if saved["backend"] is not None and saved["backend"] is not checked.BACKEND:
        _backend_mod.unregister(saved["backend"])
    _backend_mod.register(checked.BACKEND)
    _STATE.update(tried=True, backend=checked.BACKEND, current=0, generators=None)
    try:
        yield checked.BACKEND
    finally:
        _backend_mod.unregister(checked.BACKEND)
        _STATE.clear()
        _STATE.update(saved)
        if saved["backend"] is not None:
            _backend_mod.register(saved["backend"])


# ---- devices --------------------------------------------------------------------------------

def is_available() -> bool:
    return _backend() is not None


def device_count() -> int:
    b = _backend()
    return 0 if b is None else b.device_count()


def is_initialized() -> bool:
    return _backend() is not None


def init() -> None:
    _require()


def current_device() -> int:
    _require()
    return _STATE["current"]


def set_device(device) -> None:
    i = _index(device)
    _STATE["current"] = i
    b = _STATE["backend"]
    cp = getattr(b, "_cupy", None)
    if cp is not None:
        cp.cuda.Device(i).use()


class device:
    """``with ember.cuda.device(i)``: make device ``i`` current inside the block."""

    def __init__(self, device):
        self.idx = device
        self.prev_idx = -1

    def __enter__(self):
        if _backend() is None:
            raise RuntimeError("PyTorch was compiled without CUDA support")
        self.prev_idx = _STATE["current"]
        if self.idx is not None and self.idx != -1:
            set_device(self.idx)
        return self

    def __exit__(self, *exc):
        if self.prev_idx != -1:
            set_device(self.prev_idx)
        return False


def synchronize(device=None) -> None:
    """Wait until the device's queued work is done."""
    _require().synchronize(_index(device))


def get_device_name(device=None) -> str:
    return _require().device_name(_index(device))


class _DeviceProperties:
    """``get_device_properties``: name, memory and compute capability."""

    def __init__(self, props):
        name = props.get("name", "")
        self.name = name.decode() if isinstance(name, bytes) else name
        self.total_memory = int(props.get("totalGlobalMem", 0))
        self.major = int(props.get("major", 0))
        self.minor = int(props.get("minor", 0))
        self.multi_processor_count = int(props.get("multiProcessorCount", 0))

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // (1024 * 1024)}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None):
    return _DeviceProperties(_require().properties(_index(device)))


def get_device_capability(device=None):
    p = get_device_properties(device)
    return (p.major, p.minor)


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False  # (CuPy has no bfloat16 arrays)


def get_arch_list():
    return []


# ---- memory -------------------------------------------------------------------------------

def _memory(device=None) -> dict:
    b = _backend()
    if b is None:
        return {"allocated": 0, "peak": 0, "reserved": 0, "peak_reserved": 0}
    return b.memory(_index(device))


def memory_allocated(device=None) -> int:
    """Bytes held by live CUDA tensors on ``device``."""
    return _memory(device)["allocated"]


def max_memory_allocated(device=None) -> int:
    return _memory(device)["peak"]


def memory_reserved(device=None) -> int:
    """Bytes the caching allocator holds (allocated or cached) on ``device``."""
    return _memory(device)["reserved"]


def max_memory_reserved(device=None) -> int:
    return _memory(device)["peak_reserved"]


memory_cached, max_memory_cached = memory_reserved, max_memory_reserved


def memory_stats(device=None):
    if _backend() is None:
        return OrderedDict()
    m = _memory(device)
    return OrderedDict([("allocated_bytes.all.current", m["allocated"]),
                        ("allocated_bytes.all.peak", m["peak"]),
                        ("reserved_bytes.all.current", m["reserved"]),
                        ("reserved_bytes.all.peak", m["peak_reserved"])])


def reset_peak_memory_stats(device=None) -> None:
    b = _backend()
    if b is not None:
        b.reset_peak(_index(device))


reset_max_memory_allocated = reset_accumulated_memory_stats = reset_peak_memory_stats


def empty_cache() -> None:
    """Give cached, unused device memory back to the driver."""
    b = _backend()
    if b is not None:
        b.empty_cache()


def mem_get_info(device=None):
    b = _require()
    cp = getattr(b, "_cupy", None)
    if cp is None:
        return (0, 0)
    with cp.cuda.Device(_index(device)):
        return cp.cuda.runtime.memGetInfo()


def ipc_collect() -> None:
    _require()


# ---- random numbers -----------------------------------------------------------------------

def _generators():
    """One generator per device (PyTorch's CPU engine; NOTE in the module docstring)."""
    gens = _STATE["generators"]
    if gens is None:
        from ..random import Generator, default_generator

        gens = []
        for i in range(device_count()):
            g = Generator(device=f"cuda:{i}")
            g._eng.manual_seed(default_generator.initial_seed())
            gens.append(g)
        _STATE["generators"] = gens
    return gens


def default_generator(index=None):
    """The generator CUDA samples on device ``index`` (the current one) are drawn from."""
    return _generators()[_STATE["current"] if index is None else index]


def manual_seed(seed) -> None:
    """Seed the current device's generator (a no-op without CUDA, as PyTorch)."""
    if _backend() is not None:
        default_generator().manual_seed(seed)


def manual_seed_all(seed) -> None:
    """Seed every device's generator."""
    if _backend() is not None:
        for g in _generators():
            g.manual_seed(seed)


def seed() -> None:
    if _backend() is not None:
        default_generator().seed()


def seed_all() -> None:
    if _backend() is not None:
        s = default_generator().seed()
        for g in _generators():
            g.manual_seed(s)


def initial_seed() -> int:
    _require()
    return default_generator().initial_seed()


def get_rng_state(device="cuda"):
    _require()
    return default_generator(_index(device)).get_state()


def get_rng_state_all():
    return [g.get_state() for g in _generators()] if _backend() is not None else []


def set_rng_state(new_state, device="cuda") -> None:
    """Set a device's generator state (accepted and ignored without CUDA, as PyTorch)."""
    if _backend() is not None:
        default_generator(_index(device)).set_state(new_state)


def set_rng_state_all(new_states) -> None:
    if _backend() is not None:
        for g, s in zip(_generators(), new_states):
            g.set_state(s)


# ---- streams and events -------------------------------------------------------------------

class Stream:
    """A device's work queue. ember queues all work of a device on its one stream."""

    def __init__(self, device=None, priority=0, **kwargs):
        if _backend() is None:
            raise RuntimeError("torch.cuda.Stream requires CUDA support")
        self.device_index = _index(device)

    def synchronize(self) -> None:
        synchronize(self.device_index)

    def wait_stream(self, stream) -> None:
        """One queue per device: work is already ordered."""

    def wait_event(self, event) -> None:
        """One queue per device: work is already ordered."""

    def query(self) -> bool:
        self.synchronize()
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def current_stream(device=None) -> Stream:
    _require()
    return Stream(device)


default_stream = current_stream


def stream(stream):
    """``with ember.cuda.stream(s)``: one queue per device, so a no-op context."""
    return contextlib.nullcontext(stream)


class Event:
    """A point in a device's queue; with ``enable_timing``, ``elapsed_time`` in ms."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        b = _backend()
        if b is None:
            raise RuntimeError("Tried to instantiate dummy base class Event")
        self._timing = enable_timing
        cp = getattr(b, "_cupy", None)
        self._ev = cp.cuda.Event(disable_timing=not enable_timing) if cp is not None else None
        self._t = None

    def record(self, stream=None) -> None:
        if self._ev is not None:
            self._ev.record()
        else:
            self._t = time.perf_counter()

    def synchronize(self) -> None:
        if self._ev is not None:
            self._ev.synchronize()

    def query(self) -> bool:
        return True if self._ev is None else self._ev.done

    def wait(self, stream=None) -> None:
        self.synchronize()

    def elapsed_time(self, end_event) -> float:
        if not (self._timing and end_event._timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if self._ev is not None:
            import cupy

            return float(cupy.cuda.get_elapsed_time(self._ev, end_event._ev))
        return (end_event._t - self._t) * 1000.0


def __getattr__(name):
    # ``ember.cuda.amp`` loads on first use: it is only for mixed-precision scripts
    if name == "amp":
        import importlib

        return importlib.import_module(".amp", __name__)
    raise AttributeError(f"module 'ember.cuda' has no attribute '{name}'")
