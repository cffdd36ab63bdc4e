"""``ember.accelerator``: PyTorch's device-generic accelerator API; ember runs on the CPU only,
so there is no accelerator.

Contract: PyTorch's answers on a machine without one: ``is_available()`` is False,
``current_accelerator()`` None, ``device_count()`` 0, and every call that needs a device raises
PyTorch's RuntimeError.
"""

from __future__ import annotations

_NONE = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False):
    return None


def device_count() -> int:
    return 0


def _no_device(name):
    def fn(*args, **kwargs):
        raise RuntimeError(_NONE)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = "Needs an accelerator: raises RuntimeError, as PyTorch without one."
    return fn


current_device_index = _no_device("current_device_index")
current_device_idx = _no_device("current_device_idx")
set_device_index = _no_device("set_device_index")
set_device_idx = _no_device("set_device_idx")
current_stream = _no_device("current_stream")
set_stream = _no_device("set_stream")
synchronize = _no_device("synchronize")
empty_cache = _no_device("empty_cache")
memory_allocated = _no_device("memory_allocated")
max_memory_allocated = _no_device("max_memory_allocated")
memory_reserved = _no_device("memory_reserved")
max_memory_reserved = _no_device("max_memory_reserved")
memory_stats = _no_device("memory_stats")
reset_peak_memory_stats = _no_device("reset_peak_memory_stats")
get_memory_info = _no_device("get_memory_info")
