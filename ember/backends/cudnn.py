"""``ember.backends.cudnn``: cuDNN's switches with PyTorch's defaults; cuDNN is not available.

Setting ``benchmark``/``deterministic``/``enabled``/``allow_tf32`` is accepted and recorded, as
on PyTorch without a GPU, and changes nothing.
"""

from __future__ import annotations

import contextlib

enabled = True
benchmark = False
benchmark_limit = None  # PyTorch reads it from cuDNN, which is not there
deterministic = False
allow_tf32 = True
fp32_precision = "none"


def is_available() -> bool:
    return False


def version():
    """cuDNN's version: ``None``, there is none."""
    return None


def is_acceptable(tensor) -> bool:
    return False


_FLAGS = ("enabled", "benchmark", "deterministic", "allow_tf32", "fp32_precision")


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False,
          allow_tf32=True, fp32_precision="none", depthwise_kernel="auto"):
    """Set the switches inside a ``with`` block and restore them after."""
    g = globals()
    saved = {k: g[k] for k in _FLAGS}
    # benchmark_limit only applies where cuDNN is available, as in PyTorch
    g.update(enabled=enabled, benchmark=benchmark, deterministic=deterministic,
             allow_tf32=allow_tf32, fp32_precision=fp32_precision)
    try:
        yield
    finally:
        g.update(saved)
