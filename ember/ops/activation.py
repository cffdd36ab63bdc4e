"""Activation functions: softmax and log_softmax (max-shifted, stable), and the rest of
``nn.functional``'s activations.

Contract: PyTorch's signatures, dtypes (``dtype=`` casts first), implicit-dim warning for
softmax without ``dim``, node names; forwards stable at |x| ~ 1e3; rules in ember ops.
``FUNCTIONAL`` lists the names ``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd.grad_mode import STATE
from ..tensor import _wrap_dim
from ._jvp import linear
from ._registry import float_data, node_class, record, recording, register, wrap

FUNCTIONAL = ["softmax", "log_softmax"]


def _softmax_dim(ndim, name):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=4)
    return 0 if ndim in (0, 1, 3) else 1


def _input_array(input, dtype):
    a = input._data
    if dtype is not None:
        return a.astype(dtype.np)
    return float_data(a)


# ---- softmax / log_softmax ----
def _softmax_vjp(ctx, g):
    out, = ctx.saved_tensors
    dim = ctx.args[0]
    return (out * (g - (g * out).sum(dim, keepdim=True)),)


def _log_softmax_vjp(ctx, g):
    out, = ctx.saved_tensors
    dim = ctx.args[0]
    return (g - out.exp() * g.sum(dim, keepdim=True),)


def _softmax_jvp(ctx, dx):
    out, = ctx.saved_tensors
    dim = ctx.args[0]
    return out * (dx - (dx * out).sum(dim, keepdim=True))


def _log_softmax_jvp(ctx, dx):
    out, = ctx.saved_tensors
    dim = ctx.args[0]
    return dx - (out.exp() * dx).sum(dim, keepdim=True)


SoftmaxBackward0 = node_class("SoftmaxBackward0", _softmax_vjp, linear(_softmax_jvp))
LogSoftmaxBackward0 = node_class("LogSoftmaxBackward0", _log_softmax_vjp,
                                 linear(_log_softmax_jvp))


def _shifted(a, d):
    if a.ndim == 0:
        return a - a
    m = np.max(a, axis=d, keepdims=True) if a.size else 0
    return a - np.where(np.isfinite(m), m, 0).astype(a.dtype, copy=False)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    a = _input_array(input, dtype)
    if dim is None:
        dim = _softmax_dim(a.ndim, "softmax")
    d = _wrap_dim(dim, a.ndim)
    e = np.exp(_shifted(a, d))
    data = e / np.sum(e, axis=d, keepdims=True) if a.ndim else e / e
    if STATE.enabled and recording(input):
        src = input if dtype is None else input.to(dtype)
        return record(SoftmaxBackward0, data, (src,), args=(d,), save_out=True)
    return wrap(data)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``x - logsumexp(x)`` along ``dim``, computed stably."""
    a = _input_array(input, dtype)
    if dim is None:
        dim = _softmax_dim(a.ndim, "log_softmax")
    d = _wrap_dim(dim, a.ndim)
    s = _shifted(a, d)
    data = s - np.log(np.sum(np.exp(s), axis=d, keepdims=True)) if a.ndim else s
    if STATE.enabled and recording(input):
        src = input if dtype is None else input.to(dtype)
        return record(LogSoftmaxBackward0, data, (src,), args=(d,), save_out=True)
    return wrap(data)



register(softmax)
register(log_softmax)
