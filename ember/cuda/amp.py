"""``ember.cuda.amp``: PyTorch's deprecated CUDA spellings of ``ember.amp``'s names.

Contract: as ``torch.cuda.amp``: each constructor and decorator gives PyTorch's FutureWarning
naming the ``torch.amp`` spelling, then behaves as ``ember.amp``'s with ``device_type='cuda'``
(without CUDA, ``autocast`` and ``GradScaler`` warn again and disable themselves).
"""

from __future__ import annotations

import warnings

from .. import dtypes as _dt
from ..amp import autocast_mode as _autocast_mode
from ..amp import grad_scaler as _grad_scaler


class autocast(_autocast_mode.autocast):
    """``torch.cuda.amp.autocast(args...)``: ``torch.amp.autocast('cuda', args...)``."""

    def __init__(self, enabled: bool = True, dtype=_dt.float16, cache_enabled: bool = True):
        warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_grad_scaler.GradScaler):
    """``torch.cuda.amp.GradScaler(args...)``: ``torch.amp.GradScaler('cuda', args...)``."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """``torch.cuda.amp.custom_fwd``: ``torch.amp.custom_fwd(device_type='cuda')``."""
    warnings.warn("`torch.cuda.amp.custom_fwd(args...)` is deprecated. Please use "
                  "`torch.amp.custom_fwd(args..., device_type='cuda')` instead.", FutureWarning,
                  stacklevel=2)
    return _autocast_mode.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd):
    """``torch.cuda.amp.custom_bwd``: ``torch.amp.custom_bwd(device_type='cuda')``."""
    warnings.warn("`torch.cuda.amp.custom_bwd(args...)` is deprecated. Please use "
                  "`torch.amp.custom_bwd(args..., device_type='cuda')` instead.", FutureWarning,
                  stacklevel=2)
    return _autocast_mode.custom_bwd(bwd, device_type="cuda")
