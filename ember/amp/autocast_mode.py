"""``autocast``: the context manager and decorator of mixed precision; see ``ember.amp``."""

from __future__ import annotations

import functools
import warnings

from .. import dtypes as _dt
from .._warn import warn_once
from ..tensor import device as _device

# per device type: [enabled, dtype]; PyTorch's default dtypes
_state = {"cpu": [False, _dt.bfloat16], "cuda": [False, _dt.float16]}
_DEFAULT_DTYPE = {"cpu": _dt.bfloat16}
_CPU_DTYPES = (_dt.bfloat16, _dt.float16)
NO_DOWNCAST = ("ember's CPU autocast does not downcast yet: ops inside it run in their inputs' "
               "dtype (float32 stays float32)")


def _slot(device_type):
    return _state.setdefault(device_type, [False, _dt.float16])


def is_autocast_available(device_type: str) -> bool:
    return _device(device_type).type in ("cpu", "cuda")


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` (no argument: CUDA, as PyTorch)."""
    return _slot(_device(device_type or "cuda").type)[0]


def get_autocast_dtype(device_type: str):
    return _slot(_device(device_type).type)[1]


class autocast:
    """Run a region (or a decorated function) under automatic mixed precision."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = _device(device_type).type
        self.fast_dtype = get_autocast_dtype(self.device) if dtype is None else dtype
        self._enabled = enabled
        self._cache_enabled = True if cache_enabled is None else cache_enabled
        if not enabled:
            return
        if self.device == "cuda":
            warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                          UserWarning, stacklevel=2)
            self._enabled = False
        elif self.device == "cpu" and self.fast_dtype not in _CPU_DTYPES:
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling "
                          "autocast.\nCPU Autocast only supports dtypes of torch.bfloat16, "
                          "torch.float16 currently.", UserWarning, stacklevel=2)
            self._enabled = False
        elif self.device != "cpu":
            self._enabled = False  # no such device here: nothing to cast for

    def __enter__(self):
        slot = _slot(self.device)
        self._saved = list(slot)
        if self._enabled:
            if self.device == "cpu":
                warn_once(NO_DOWNCAST)
            slot[:] = [True, self.fast_dtype]
        else:
            slot[0] = False
        return self

    def __exit__(self, exc_type, exc, tb):
        _slot(self.device)[:] = self._saved
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return decorate_autocast


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorate a custom Function's ``forward`` (with no downcasting, it runs as written)."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorate a custom Function's ``backward`` (it runs as written)."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
