"""``ember.cuda``: there is no GPU backend yet, so CUDA reports itself unavailable (code that
checks ``torch.cuda.is_available()`` takes its CPU path).

Contract: what PyTorch built without CUDA answers: ``is_available()`` False, ``device_count()``
0, the memory counters 0, ``empty_cache()`` and the seeding calls accepted as no-ops, and every
call that needs a device (``synchronize``, ``current_device``, ``get_device_name``...) raises
PyTorch's ``AssertionError: Torch not compiled with CUDA enabled``. ``ember.cuda.amp`` holds the
mixed-precision names.
"""

from __future__ import annotations

from collections import OrderedDict

_NOT_COMPILED = "Torch not compiled with CUDA enabled"


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed) -> None:
    """Seeding CUDA is a no-op without a GPU backend, as in PyTorch on a CPU-only machine."""


def manual_seed_all(seed) -> None:
    """See ``manual_seed``."""


def seed() -> None:
    """See ``manual_seed``."""


def seed_all() -> None:
    """See ``manual_seed``."""


def get_rng_state_all():
    return []


def set_rng_state(new_state, device="cuda") -> None:
    """Accepted and ignored, as PyTorch without CUDA (it queues the call for a device that
    never initialises)."""


def set_rng_state_all(new_states) -> None:
    """See ``set_rng_state``."""


def empty_cache() -> None:
    """Nothing is cached without a GPU."""


def _zero(device=None) -> int:
    return 0


memory_allocated = max_memory_allocated = memory_reserved = max_memory_reserved = _zero
memory_cached = max_memory_cached = _zero


def memory_stats(device=None):
    return OrderedDict()


def reset_peak_memory_stats(device=None) -> None:
    """No peaks to reset without a GPU (PyTorch's CPU build fails on an internal name here)."""


reset_max_memory_allocated = reset_accumulated_memory_stats = reset_peak_memory_stats


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def get_arch_list():
    return []


def _not_compiled(name):
    def fn(*args, **kwargs):
        raise AssertionError(_NOT_COMPILED)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = "Needs a GPU: raises PyTorch's AssertionError without CUDA."
    return fn


synchronize = _not_compiled("synchronize")
current_device = _not_compiled("current_device")
set_device = _not_compiled("set_device")
get_device_name = _not_compiled("get_device_name")
get_device_properties = _not_compiled("get_device_properties")
get_device_capability = _not_compiled("get_device_capability")
ipc_collect = _not_compiled("ipc_collect")
init = _not_compiled("init")
get_rng_state = _not_compiled("get_rng_state")
initial_seed = _not_compiled("initial_seed")
mem_get_info = _not_compiled("mem_get_info")
current_stream = _not_compiled("current_stream")
default_stream = _not_compiled("default_stream")


class device:
    """``with ember.cuda.device(i)``: constructed freely, entering raises (no CUDA)."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        raise RuntimeError("PyTorch was compiled without CUDA support")

    def __exit__(self, *exc):
        return False


class Stream:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("torch.cuda.Stream requires CUDA support")


class Event:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("Tried to instantiate dummy base class Event")


def __getattr__(name):
    # ``ember.cuda.amp`` loads on first use: it is only for mixed-precision scripts
    if name == "amp":
        import importlib

        return importlib.import_module(".amp", __name__)
    raise AttributeError(f"module 'ember.cuda' has no attribute '{name}'")
