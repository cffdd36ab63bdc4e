"""``ember.amp``: mixed precision (``torch.amp``): ``autocast`` and ``GradScaler``.

Contract: PyTorch 2.13's signatures, defaults, warnings, errors and dtypes.
- ``autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``, a context manager
  and decorator: inside it the ops of PyTorch's autocast lists run in the autocast dtype
  (matmuls, convolutions, ``linear``: bfloat16 by default on CPU, float16 on CUDA), in float32
  (losses, ``prod``, most of ``linalg`` on CPU; also the pointwise transcendental ops,
  softmax and norms on CUDA), or in the widest floating type of their arguments (``cat``,
  ``stack``, ``index_copy`` on CPU); other ops run in their inputs' dtype. Only floating
  tensors on the region's device type are cast, never float64; casts are ``Tensor.to`` (the
  gradient of a float32 weight is float32). Regions nest (``enabled=False`` inside an enabled
  one turns it off), the state is per thread, and with no region active ops pay nothing
  (NOTE [autocast as a mode] in autocast_mode.py; the tables and what they were checked
  against: NOTE [autocast tables] in _policy.py).
- ``autocast('cuda')`` warns and disables itself when ``ember.cuda.is_available()`` is False;
  a CPU dtype other than bfloat16/float16 warns and disables.
- ``custom_fwd(cast_inputs=...)`` casts a custom Function's floating inputs and runs its
  forward with autocast off; ``custom_bwd`` runs backward under the forward's autocast state.
- ``GradScaler(device)`` scales the loss, unscales the gradients (``unscale_``), skips the
  steps whose gradients are not finite and adapts its scale (``update``), as PyTorch's;
  ``GradScaler('cuda')`` warns and disables itself when ``ember.cuda.is_available()`` is False.
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
