"""Normalization layers as functions: batch_norm, layer_norm, group_norm, instance_norm, rms_norm,
local_response_norm.

Contract: PyTorch's signatures, defaults, shapes, node names and error messages; rules in ember
ops (twice differentiable) with forward-mode rules. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.

NOTE [one normalization core]: layer, group and batch norm are the same op on different
"fibers": view the input (group norm: ``(N, G, -1)``), normalise over some dims
(``xhat = (x - mean) * rstd``, biased variance), then scale and shift with a weight and bias
broadcast along the trailing dims (layer norm) or the channel dim 1 (group and batch norm).
One node per PyTorch name shares one rule. The rule recomputes ``xhat`` and ``rstd`` from the
saved input with ember ops, so its own graph (create_graph) carries the second derivative.
Batch norm in evaluation mode normalises with the running statistics: constants, so ``xhat``
is affine in ``x``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._size import Size
from ..autograd.grad_mode import STATE, no_grad
from ..tensor import as_array
from ._jvp import _fit, out_zeros
from ._registry import float_data, node_class, record, recording, register, wrap
from .reduction import HALF, rounded

FUNCTIONAL = ["layer_norm", "group_norm", "batch_norm", "instance_norm", "rms_norm",
              "local_response_norm"]


# ---- the shared core ----
# args: (view, dims, eps, wview, pdims, fixed, bshape)
#   view: the shape statistics are taken in (None: the input's own); dims: the normalised dims
#   of that view; wview: the shape weight/bias broadcast as (None: their own); pdims: the dims
#   weight/bias gradients sum over; fixed: (mean, rstd) constants (batch norm eval) or None.

def _grouped(t, view):
    return t if view is None else t.reshape(view)


def _affine(w, wview):
    return w if wview is None else w.reshape(wview)


def _xhat(x, view, dims, eps, fixed):
    xs = _grouped(x, view)
    if fixed is not None:
        mean, rstd = fixed
        return (xs - mean) * rstd, rstd
    xc = xs - xs.mean(dims, keepdim=True)
    rstd = ((xc * xc).mean(dims, keepdim=True) + eps).rsqrt()
    return xc * rstd, rstd


def _xhat_vjp(gy, xhat, rstd, dims, fixed):
    # NOTE: d xhat / d x is symmetric, so this is also the JVP of xhat.
    if fixed is not None:
        return gy * rstd
    return rstd * (gy - gy.mean(dims, keepdim=True) - xhat * (gy * xhat).mean(dims, keepdim=True))


def _psum(t, pdims):
    return t.sum(pdims) if pdims else t


def _upcast(t):
    """Half tensors as float32 (NOTE [half statistics]); others as they are."""
    return t.float() if t is not None and t._data.dtype in HALF else t


def _norm_vjp(ctx, g):
    x, w = ctx.saved_tensors
    view, dims, eps, wview, pdims, fixed, bshape = ctx.args
    if x._data.dtype in HALF:  # NOTE [half statistics]; the engine rounds the gradients
        x, w, g = x.float(), _upcast(w), g.float()
    xhat_s, rstd = _xhat(x, view, dims, eps, fixed)
    shape = tuple(x.shape)
    xhat = xhat_s.reshape(shape)
    gx = gw = gb = None
    if ctx.next_functions[0][0] is not None:
        gy = g if w is None else g * _affine(w, wview)
        gx = _xhat_vjp(_grouped(gy, view), xhat_s, rstd, dims, fixed).reshape(shape)
    if ctx.next_functions[1][0] is not None:
        gw = _psum(g * xhat, pdims).reshape(tuple(w.shape))
        if view is not None and view[0] and not view[2]:
            # NOTE: empty groups of a non-empty batch: PyTorch's kernel forms the weight
            # gradient from their nan mean and rstd, so it is nan
            gw = gw * float("nan")
    if ctx.next_functions[2][0] is not None:
        gb = _psum(g, pdims).reshape(bshape)
    return (gx, gw, gb)


def _norm_jvp(ctx, dx, dw, db):
    x, w = ctx.saved_tensors
    view, dims, eps, wview, pdims, fixed, bshape = ctx.args
    if x._data.dtype in HALF:  # NOTE [half statistics]; _fit rounds the tangent
        x, w, dx, dw, db = x.float(), _upcast(w), _upcast(dx), _upcast(dw), _upcast(db)
    xhat_s, rstd = _xhat(x, view, dims, eps, fixed)
    shape = tuple(x.shape)
    out = None
    if dx is not None:
        out = _xhat_vjp(_grouped(dx, view), xhat_s, rstd, dims, fixed).reshape(shape)
        if w is not None:
            out = out * _affine(w, wview)
    if dw is not None:
        c = xhat_s.reshape(shape) * _affine(dw, wview)
        out = c if out is None else out + c
    if db is not None:
        c = _affine(db, wview)
        out = c if out is None else out + c
    return out_zeros(ctx) if out is None else _fit(ctx, out)


NativeLayerNormBackward0 = node_class("NativeLayerNormBackward0", _norm_vjp, _norm_jvp)
NativeGroupNormBackward0 = node_class("NativeGroupNormBackward0", _norm_vjp, _norm_jvp)
NativeBatchNormBackward0 = node_class("NativeBatchNormBackward0", _norm_vjp, _norm_jvp)


def _normalize(node, input, weight, bias, view, dims, eps, wview, pdims, fixed=None):
    """The forward of the core (NumPy) and, when recording, its node."""
    x = float_data(input._data)
    dtype = x.dtype
    if dtype in HALF:
        # NOTE [half statistics]: float16/bfloat16 inputs are normalised in float32 and
        # rounded once, as PyTorch's kernels: in float16 the squares of values past 256
        # overflow and the mean of 300.x loses the digits that xhat is made of.
        x = x.astype(np.float32)
    xs = x if view is None else x.reshape(view)
    if fixed is not None:
        mean, rstd = fixed
    elif x.size == 0:  # NOTE: nothing to normalise: nan statistics, without NumPy's warnings
        stat = tuple(1 if k in dims else s for k, s in enumerate(xs.shape))
        mean = rstd = np.full_like(x, np.nan, shape=stat, order="C")
    else:
        mean = xs.mean(axis=dims, keepdims=True)
        var = np.square(xs - mean).mean(axis=dims, keepdims=True)
        rstd = 1 / np.sqrt(var + eps)
    data = ((xs - mean) * rstd).reshape(x.shape)
    if weight is not None:
        data = data * _affine_np(weight._data, wview)
    if bias is not None:
        data = data + _affine_np(bias._data, wview)
    data = rounded(data, dtype)
    if STATE.enabled and recording(input, weight, bias):
        consts = None
        if fixed is not None:
            consts = (wrap(as_array(mean).astype(x.dtype, copy=False)),
                      wrap(as_array(rstd).astype(x.dtype, copy=False)))
        bshape = tuple(bias._data.shape) if bias is not None else None
        return record(node, data, (input, weight, bias), save=(input, weight),
                      args=(view, dims, eps, wview, pdims, consts, bshape))
    return wrap(data)


def _affine_np(a, wview):
    return a if wview is None else a.reshape(wview)


def _channel_view(ndim):
    return (-1,) + (1,) * (ndim - 2)


def _check_same_dtype(input, *params):
    """PyTorch's CPU rule: parameters of the input's dtype, or float32 ones for a float16 or
    bfloat16 input (its mixed-type kernels)."""
    x = input._data.dtype
    if x.kind not in "fV":  # ("V": bfloat16)
        return
    half = x.itemsize == 2
    for t in params:
        if t is not None and t._data.dtype != x and not (half and t._data.dtype == np.float32):
            if t._data.dtype == np.float32:  # (float parameters: the mixed-type check's text)
                raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")


def _normalized_shape(normalized_shape, name):
    if isinstance(normalized_shape, int):
        raise TypeError(f"{name}(): argument 'normalized_shape' (position 2) must be tuple of "
                        "ints, not int")
    return tuple(int(s) for s in normalized_shape)


def _shape_list(shape):
    return "[" + ", ".join(str(s) for s in shape) + "]"


# ---- layer_norm ----
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``normalized_shape`` dims, then ``* weight + bias``."""
    ns = _normalized_shape(normalized_shape, "layer_norm")
    shape = input._data.shape
    k = len(ns)
    if k == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t._data.shape) != ns:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {_shape_list(t._data.shape)} and normalized_shape = {_shape_list(ns)}")
    if len(shape) < k or tuple(shape[len(shape) - k:]) != ns:
        raise RuntimeError(
            f"Given normalized_shape={_shape_list(ns)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in ns)}], but got input of size"
            f"{_shape_list(shape)}")
    _check_same_dtype(input, weight, bias)
    nd = len(shape)
    dims = tuple(range(nd - k, nd))
    pdims = tuple(range(nd - k))
    out = _normalize(NativeLayerNormBackward0, input, weight, bias, None, dims, eps, None,
                     pdims)
    return out


# ---- group_norm ----
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of ``C // num_groups`` channels of each sample, then apply a
    per-channel ``weight`` and ``bias``."""
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{len(shape)}")
    # (F.group_norm, PyTorch's Python wrapper, checks this shape, a list, training or not;
    # torch.group_norm does not)
    _verify_batch_size([shape[0] * shape[1] // num_groups, num_groups, *shape[2:]])
    return _group_norm(input, num_groups, weight, bias, eps)


def _group_norm(input, num_groups, weight, bias, eps):
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{len(shape)}")
    n, c = shape[0], shape[1]
    if c % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {_shape_list(shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t._data.ndim != 1 or t._data.shape[0] != c):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {_shape_list(t._data.shape)} and input of "
                f"shape {_shape_list(shape)}")
    _check_same_dtype(input, weight, bias)
    # NOTE: an explicit group size: -1 is ambiguous for an empty batch
    view = (n, num_groups, int(np.prod(shape[1:])) // num_groups)
    pdims = tuple(k for k in range(len(shape)) if k != 1)
    out = _normalize(NativeGroupNormBackward0, input, weight, bias, view, (2,), eps,
                     _channel_view(len(shape)), pdims)
    return out


# ---- batch_norm ----
def _verify_batch_size(shape):
    prod = shape[0]
    for s in shape[2:]:
        prod *= s
    if prod == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input size "
                         f"{shape if type(shape) is list else Size(shape)}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (dim 1) over the batch and spatial dims: with the batch's
    statistics when ``training`` (updating ``running_mean``/``running_var`` in place with
    ``momentum``, the variance unbiased), else with the running statistics."""
    shape = input._data.shape
    if training:
        _verify_batch_size(shape)
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    if momentum is None or not isinstance(momentum, (int, float)):
        raise TypeError("batch_norm(): argument 'momentum' (position 7) must be float, not "
                        f"{type(momentum).__name__}")
    c = shape[1] if len(shape) > 1 else 0
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and t._data.size != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t._data.size}")
    _check_same_dtype(input, weight, bias, running_mean, running_var)
    if not training and (running_mean is None or running_var is None):
        which = "running_mean" if running_mean is None else "running_var"
        raise RuntimeError(f"{which} must be defined in evaluation mode")
    if input._data.size == 0:
        # NOTE: PyTorch's graph for an empty input (running statistics left alone): a copy of
        # the input scaled and shifted by the first channel's weight and bias
        out = input.clone()
        if weight is not None:
            out = out * weight[0]
        if bias is not None:
            out = out + bias[0]
        return out
    nd = len(shape)
    dims = tuple(k for k in range(nd) if k != 1)
    wview = _channel_view(nd)
    fixed = None
    x = float_data(input._data)
    if x.dtype in HALF:  # NOTE [half statistics], for the running statistics too
        x = x.astype(np.float32)
    if not training:
        mean = running_mean._data.reshape(wview).astype(x.dtype)
        rstd = (1 / np.sqrt(running_var._data.reshape(wview) + eps)).astype(x.dtype)
        fixed = (mean, rstd)
    out = _normalize(NativeBatchNormBackward0, input, weight, bias, None, dims, eps, wview,
                     dims, fixed)
    if training and (running_mean is not None or running_var is not None):
        n = x.size // c
        # NOTE: written straight into the buffers: PyTorch's kernel does not bump their
        # version counters either.
        if running_mean is not None:
            running_mean._data[...] = (1 - momentum) * running_mean._data + momentum * \
                x.mean(axis=dims)
        if running_var is not None:
            var = np.square(x - x.mean(axis=dims, keepdims=True)).sum(axis=dims) / max(n - 1, 1)
            running_var._data[...] = (1 - momentum) * running_var._data + momentum * var
    return out


# ---- instance_norm ----
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample over its spatial dims (PyTorch's graph: batch norm
    on the input viewed as one batch of ``N * C`` channels, then viewed back)."""
    shape = tuple(input._data.shape)
    if use_input_stats:
        prod = 1
        for s in shape[2:]:
            prod *= s
        if prod == 1:
            raise ValueError("Expected more than 1 spatial element when training, got input "
                             f"size {Size(shape)}")
    elif running_mean is None or running_var is None:
        raise RuntimeError("Expected running_mean and running_var to be defined when "
                           "use_input_stats is false")
    n, c = shape[0], shape[1]

    def repeat(t):
        return None if t is None else t.unsqueeze(0).expand(n, c).reshape(n * c)

    rm = None if running_mean is None else wrap(np.tile(running_mean._data, n))
    rv = None if running_var is None else wrap(np.tile(running_var._data, n))
    out = batch_norm(input.reshape((1, n * c) + shape[2:]), rm, rv, repeat(weight),
                     repeat(bias), use_input_stats, momentum, eps)
    with no_grad():
        if running_mean is not None and use_input_stats:
            running_mean.copy_(wrap(rm._data.reshape(n, c).mean(axis=0)))
        if running_var is not None and use_input_stats:
            running_var.copy_(wrap(rv._data.reshape(n, c).mean(axis=0)))
    return out.view(shape)


# ---- rms_norm ----
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x * rsqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` dims
    (``eps=None``: the dtype's machine epsilon); PyTorch's composite graph."""
    ns = _normalized_shape(normalized_shape, "rms_norm")
    shape = input._data.shape
    k = len(ns)
    if len(shape) < k or tuple(shape[len(shape) - k:]) != ns:
        raise RuntimeError(
            f"Given normalized_shape={_shape_list(ns)}, expected input with shape "
            f"[*{', '.join(str(s) for s in ns)}], but got input of size{_shape_list(shape)}")
    # NOTE [half statistics]: PyTorch's graph upcasts a half input to float32 (with float32's
    # epsilon by default) and casts the result back
    half = input._data.dtype in HALF
    if eps is None:
        eps = float(np.finfo(np.float32 if half else float_data(input._data).dtype).eps)
    dims = tuple(range(len(shape) - k, len(shape)))
    x = input.float() if half else input
    r = (x.pow(2).mean(dims, keepdim=True) + eps).rsqrt()
    out = x * r
    if weight is None:
        return out.to(input.dtype) if half else out
    if weight.dtype == input.dtype:
        return (out * weight).to(input.dtype) if half else out * weight
    # NOTE: the result keeps the input's dtype (PyTorch casts the weight, and warns).
    names = {"Float": "float", "Double": "double", "Half": "c10::Half",
             "BFloat16": "c10::BFloat16"}
    warnings.warn("Mismatch dtype between input and weight: input dtype = "
                  f"{names.get(input.dtype.scalar_name)}, weight dtype = "
                  f"{names.get(weight.dtype.scalar_name)}, Cannot dispatch to fused "
                  "implementation.", UserWarning, stacklevel=2)
    return (out * weight).to(input.dtype) if half else out * weight.to(input.dtype)


# ---- local_response_norm ----
def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """``x / (k + alpha * mean of x^2 over a window of size channels) ** beta`` (channels
    zero-padded as PyTorch's average pool)."""
    from ..creation import zeros
    from .join import cat

    shape = tuple(input._data.shape)
    nd = len(shape)
    if nd < 3:
        raise ValueError("Expected 3D or higher dimensionality                          "
                         f"input (got {nd} dimensions)")
    if input._data.size == 0:
        return input
    sq = input.mul(input)
    dtype = sq.dtype
    before, after = size // 2, (size - 1) // 2
    parts = [zeros((shape[0], before) + shape[2:], dtype=dtype, device=input.device)] if before \
        else []
    parts.append(sq)
    if after:
        parts.append(zeros((shape[0], after) + shape[2:], dtype=dtype, device=input.device))
    padded = cat(parts, 1) if len(parts) > 1 else sq
    # NOTE: a sum of `size` shifted slices (a loop over window offsets, not elements).
    total = padded.narrow(1, 0, shape[1])
    for off in range(1, size):
        total = total + padded.narrow(1, off, shape[1])
    div = (total / size).mul(alpha).add(k).pow(beta)
    return input / div


# ==== registration =========================================================================
# NOTE: torch.batch_norm and torch.instance_norm take (weight, bias) before the running
# statistics and a trailing cudnn flag, unlike their nn.functional forms.

def _torch_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
                      cudnn_enabled):
    return batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _torch_instance_norm(input, weight, bias, running_mean, running_var, use_input_stats,
                         momentum, eps, cudnn_enabled):
    return instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                         momentum, eps)


def _torch_layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5,
                      cudnn_enable=True):
    return layer_norm(input, normalized_shape, weight, bias, eps)


def _torch_group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return _group_norm(input, num_groups, weight, bias, eps)


register(_torch_batch_norm, "batch_norm", method=False)
register(_torch_instance_norm, "instance_norm", method=False)
register(_torch_layer_norm, "layer_norm", method=False)
register(_torch_group_norm, "group_norm", method=False)
register(rms_norm, method=False)
