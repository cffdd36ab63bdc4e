"""``ember.accelerator``: PyTorch's device-generic accelerator API, over ``ember.cuda``.

Contract: with a CUDA backend (CuPy and a GPU, or the device checker: NOTE [devices] in
tensor.py) the accelerator is ``cuda``: ``is_available()`` True, ``current_accelerator()``
``device(type='cuda')``, and the device, stream and memory calls answer as ``ember.cuda``'s.
Without one, PyTorch's answers on a machine without an accelerator: ``is_available()``
False, ``current_accelerator()`` None, ``device_count()`` 0, and every call that needs a
device raises PyTorch's RuntimeError.
"""

from __future__ import annotations

from . import cuda as _cuda

_NONE = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    return _cuda.is_available()


def current_accelerator(check_available: bool = False):
    if not _cuda.is_available():
        return None
    from .tensor import device

    return device("cuda")


def device_count() -> int:
    return _cuda.device_count()


def _cuda_or_raise(name, fn):
    def call(*args, **kwargs):
        if not _cuda.is_available():
            raise RuntimeError(_NONE)
        return fn(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``ember.cuda``'s ``{fn.__name__}`` (RuntimeError without an accelerator)."
    return call


current_device_index = _cuda_or_raise("current_device_index", _cuda.current_device)
current_device_idx = _cuda_or_raise("current_device_idx", _cuda.current_device)
set_device_index = _cuda_or_raise("set_device_index", _cuda.set_device)
set_device_idx = _cuda_or_raise("set_device_idx", _cuda.set_device)
current_stream = _cuda_or_raise("current_stream", _cuda.current_stream)
set_stream = _cuda_or_raise("set_stream", lambda stream: None)
synchronize = _cuda_or_raise("synchronize", _cuda.synchronize)
empty_cache = _cuda_or_raise("empty_cache", _cuda.empty_cache)
memory_allocated = _cuda_or_raise("memory_allocated", _cuda.memory_allocated)
max_memory_allocated = _cuda_or_raise("max_memory_allocated", _cuda.max_memory_allocated)
memory_reserved = _cuda_or_raise("memory_reserved", _cuda.memory_reserved)
max_memory_reserved = _cuda_or_raise("max_memory_reserved", _cuda.max_memory_reserved)
memory_stats = _cuda_or_raise("memory_stats", _cuda.memory_stats)
reset_peak_memory_stats = _cuda_or_raise("reset_peak_memory_stats",
                                         _cuda.reset_peak_memory_stats)
get_memory_info = _cuda_or_raise("get_memory_info", _cuda.mem_get_info)
