"""``ember.amp``: mixed precision's names (``torch.amp``): ``autocast`` and ``GradScaler``.

Contract: PyTorch's signatures, defaults, warnings and errors on a machine without a GPU.
``autocast('cuda')`` warns and disables itself, as PyTorch without CUDA; ``autocast('cpu')``
is recorded (``is_autocast_enabled('cpu')`` is True inside it) but ember does not downcast yet
(a one-time warning says so). ``GradScaler('cuda')`` warns and disables itself (``scale``
returns its input, ``step`` calls ``optimizer.step()``); ``GradScaler('cpu')`` scales, unscales,
skips steps with non-finite gradients and adapts its scale, as PyTorch's.
"""

from .autocast_mode import (
    autocast,
    custom_bwd,
    custom_fwd,
    get_autocast_dtype,
    is_autocast_available,
    is_autocast_enabled,
)
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "get_autocast_dtype",
           "is_autocast_available", "is_autocast_enabled"]
