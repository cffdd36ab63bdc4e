"""``ember.backends.cuda``: the CUDA switches with PyTorch's defaults; ember has no CUDA build.

``matmul.allow_tf32`` and the reduced-precision switches are recorded and change nothing;
the scaled-dot-product-attention switches read as PyTorch's defaults.
"""

from __future__ import annotations

import contextlib


class cuBLASModule:
    """``ember.backends.cuda.matmul``: cuBLAS's switches (an unknown name raises, as PyTorch)."""

    _defaults = {"allow_tf32": False, "allow_fp16_reduced_precision_reduction": True,
                 "allow_bf16_reduced_precision_reduction": True,
                 "allow_fp16_accumulation": False, "fp32_precision": "none"}

    def __init__(self):
        object.__setattr__(self, "_values", dict(self._defaults))

    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if name not in self._values:
            raise AttributeError(f"Unknown attribute {name}")
        self._values[name] = value


matmul = cuBLASModule()

_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built() -> bool:
    return False


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def mem_efficient_sdp_enabled() -> bool:
    return _sdp["mem_efficient"]


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def cudnn_sdp_enabled() -> bool:
    return _sdp["cudnn"]


def enable_flash_sdp(enabled: bool):
    _sdp["flash"] = enabled


def enable_mem_efficient_sdp(enabled: bool):
    _sdp["mem_efficient"] = enabled


def enable_math_sdp(enabled: bool):
    _sdp["math"] = enabled


def enable_cudnn_sdp(enabled: bool):
    _sdp["cudnn"] = enabled


@contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True,
               enable_cudnn=True):
    """Set the attention switches inside a ``with`` block (ember always computes the math)."""
    saved = dict(_sdp)
    _sdp.update(flash=enable_flash, math=enable_math, mem_efficient=enable_mem_efficient,
                cudnn=enable_cudnn)
    try:
        yield
    finally:
        _sdp.update(saved)
