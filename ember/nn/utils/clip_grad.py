"""Gradient clipping: ``clip_grad_norm_`` (scale all gradients so their joint norm is at most
``max_norm``) and ``clip_grad_value_`` (clamp each gradient element).

Contract: PyTorch's signatures, results (the total norm as a 0-d tensor, computed in each
gradient's dtype), scaling rule ``min(max_norm / (total + 1e-6), 1)``, errors and warnings.
``foreach`` is accepted and ignored (there is one device and no fused kernels).
"""

from __future__ import annotations

import types
import warnings

import numpy as np

import ember
from ember.tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm"]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type`` norm of all ``tensors`` together, as if concatenated."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    else:
        tensors = list(tensors)
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return ember.tensor(0.0)
    with ember.no_grad():
        norms = [ember.linalg.vector_norm(g, norm_type) for g in tensors]
        total = ember.linalg.vector_norm(ember.stack(norms), norm_type)
    if error_if_nonfinite and bool(ember.logical_or(total.isnan(), total.isinf())):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale the gradients of ``parameters`` in place so their joint norm is at most
    ``max_norm``; returns the norm before clipping.

    >>> p = ember.nn.Parameter(ember.ones(4)); p.grad = ember.full((4,), 3.)
    >>> clip_grad_norm_([p], 1.0)
    tensor(6.)
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)  # a generator would be exhausted by the first pass
        if is_generator and len(parameters) == 0:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale gradients by ``min(max_norm / (total_norm + 1e-6), 1)`` for a precomputed norm."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    max_norm = float(max_norm)
    # NumPy would warn on inf * 0 (an infinite norm scales by 0); PyTorch yields NaN quietly
    with ember.no_grad(), np.errstate(invalid="ignore", over="ignore"):
        # multiplying by a coefficient clamped to 1 avoids a data-dependent branch
        coef = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                   foreach=None):
    """Deprecated alias of :func:`clip_grad_norm_`."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element of ``parameters`` to [-clip_value, clip_value]."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    with ember.no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
