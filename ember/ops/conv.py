"""Convolutions: conv1d/2d/3d and conv_transpose1d/2d/3d (stride, padding incl. "same",
dilation, groups, output_padding), built on im2col / stride tricks and one GEMM.

Contract: PyTorch's signatures, defaults, shapes, node names and error messages; rules in ember
ops (twice differentiable) with forward-mode rules. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.

NOTE [three convolution primitives]: with ``y = conv(x, w)`` the form ``<y', conv(x, w)>`` is
trilinear in (x, w, y'), and its three partial maps are the three primitives here:
``_conv(x, w) -> y`` (the convolution), ``_conv_t(y, w) -> x`` (its adjoint in x, i.e. the
transposed convolution) and ``_conv_w(x, y) -> w`` (its adjoint in w). Each one's VJP is
written with the other two, so the set is closed under differentiation: double (and any
order) backward needs no more code, and each JVP is the product rule on the same maps.

The array work (im2col, one GEMM, col2im) is in conv_kernels.py; this module is the autograd
around it and the argument checks.

NOTE [bfloat16 convolutions]: as PyTorch's CPU kernels (im2col and a GEMM accumulating in
float32, the bias added before the one rounding), bfloat16 and float16 operands go through the
kernels widened to float32 (``linalg.wide``) and the result is rounded once (NOTE [bfloat16
products]); the transposed one rounds as PyTorch's does (NOTE [bfloat16 col2im] in
conv_kernels.py).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..autograd.graph import SAVED_HOOKS
from ._jvp import out_zeros
from ._registry import arrays_only, node_class, record, recording, register, wrap
from .conv_kernels import conv_bwd, conv_fwd, conv_t_fwd, conv_w_fwd
from .linalg import is_half, wide

FUNCTIONAL = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d"]


# ---- the three primitives -------------------------------------------------------------------

def _bias_grad(g):
    return g.sum((0,) + tuple(range(2, g.ndim)))


def _bias_view(b, nd):
    return b.reshape((1, -1) + (1,) * nd)


def _total(ctx, parts):
    """The sum of a JVP's parts, broadcast to the output (a lone bias part is a view)."""
    if not parts:
        return out_zeros(ctx)
    total = parts[0]
    for t in parts[1:]:
        total = total + t
    shape = ctx._meta[0][0]
    return total.expand(shape) if tuple(total.shape) != shape else total


def _conv_vjp(ctx, g):
    x, w = ctx.saved_tensors
    s, p, d, groups, cols = ctx.args
    need = ctx.needs_input_grad
    if arrays_only():
        # NOTE: no graph to build: both gradients from one kernel (conv_kernels.conv_bwd)
        xd, wd, gd = x._data, w._data, g._data
        if is_half(xd.dtype):  # NOTE [bfloat16 convolutions]
            return tuple(None if a is None else wrap(a)
                         for a in _half_conv_grads(xd, wd, gd, s, p, d, groups, need))
        grads = conv_bwd(xd, wd, gd, s, p, d, groups, *need, cols=cols)
        return tuple(None if a is None else wrap(a) for a in grads)
    dx = _conv_t(g, w, None, s, p, d, groups, x.shape[2:]) if need[0] else None
    dw = _conv_w(x, g, s, p, d, groups, w.shape[2:]) if need[1] else None
    db = _bias_grad(g) if need[2] else None
    return dx, dw, db


def _half_conv_grads(x, w, g, s, p, d, groups, need):
    """A half-precision convolution's gradients rounded as PyTorch's CPU kernels round them: the
    input's as a transposed convolution (NOTE [bfloat16 col2im]); the weight's summed over the
    batch one sample at a time, rounded after each (the kernel adds each sample's GEMM into the
    bfloat16 gradient); the bias's summed in float32 and rounded once."""
    dx = conv_t_fwd(g, w, s, p, d, groups, x.shape[2:]) if need[0] else None
    dw = db = None
    g32 = wide(g)
    if need[1]:
        x32, k = wide(x), w.shape[2:]
        dw = np.zeros_like(w, order="C")
        for n in range(x.shape[0]):
            part = conv_w_fwd(x32[n:n + 1], g32[n:n + 1], s, p, d, groups, k)
            dw = (part + dw).astype(w.dtype)
    if need[2]:
        db = g32.sum((0,) + tuple(range(2, g.ndim))).astype(g.dtype)
    return dx, dw, db


def _conv_jvp(ctx, dx, dw, db):
    x, w = ctx.saved_tensors
    s, p, d, groups, _ = ctx.args
    parts = []
    if dx is not None:
        parts.append(_conv(dx, w, None, s, p, d, groups))
    if dw is not None:
        parts.append(_conv(x, dw, None, s, p, d, groups))
    if db is not None:
        parts.append(_bias_view(db, w.ndim - 2))
    return _total(ctx, parts)


def _crop(t, spatial):
    """``t`` cut to ``spatial`` at the end of each spatial dim (NOTE [output padding])."""
    if tuple(t.shape[2:]) == tuple(spatial):
        return t
    return t[(slice(None), slice(None)) + tuple(slice(0, si) for si in spatial)]


# NOTE [output padding]: a transposed convolution's output may be longer than what its
# adjoint, the convolution, maps back from: with output_padding >= stride (allowed when it
# is below the dilation), the convolution of the gradient has outputs past the input's size,
# at windows that read only the padding. The adjoints are cut to the input's size (_crop), and
# the weight map takes such a short ``y`` as if padded with zeros (conv_kernels.conv_w_fwd).

def _conv_t_vjp(ctx, g):
    y, w = ctx.saved_tensors
    s, p, d, groups, _ = ctx.args
    need = ctx.needs_input_grad
    dy = _crop(_conv(g, w, None, s, p, d, groups), y.shape[2:]) if need[0] else None
    dw = _conv_w(g, y, s, p, d, groups, w.shape[2:]) if need[1] else None
    db = _bias_grad(g) if need[2] else None
    return dy, dw, db


def _conv_t_jvp(ctx, dy, dw, db):
    y, w = ctx.saved_tensors
    s, p, d, groups, spatial = ctx.args
    parts = []
    if dy is not None:
        parts.append(_conv_t(dy, w, None, s, p, d, groups, spatial))
    if dw is not None:
        parts.append(_conv_t(y, dw, None, s, p, d, groups, spatial))
    if db is not None:
        parts.append(_bias_view(db, w.ndim - 2))
    return _total(ctx, parts)


def _conv_w_vjp(ctx, g):
    x, y = ctx.saved_tensors
    s, p, d, groups, _ = ctx.args
    need = ctx.needs_input_grad
    dx = _conv_t(y, g, None, s, p, d, groups, x.shape[2:]) if need[0] else None
    dy = _crop(_conv(x, g, None, s, p, d, groups), y.shape[2:]) if need[1] else None
    return dx, dy


def _conv_w_jvp(ctx, dx, dy):
    x, y = ctx.saved_tensors
    s, p, d, groups, k = ctx.args
    total = None
    if dx is not None:
        total = _conv_w(dx, y, s, p, d, groups, k)
    if dy is not None:
        c = _conv_w(x, dy, s, p, d, groups, k)
        total = c if total is None else total + c
    return out_zeros(ctx) if total is None else total


class ConvolutionBackward0(node_class("ConvolutionBackward0", _conv_vjp, _conv_jvp)):
    """Backward of a convolution. ``args`` ends with the forward's columns of the input when
    it kept them (small convolutions, conv_kernels.KEEP_COLUMNS): dropped with the saved
    tensors."""

    __slots__ = ()

    def release(self):
        super().release()
        self.args = self.args[:4] + (None,)
# NOTE: PyTorch names a transposed convolution's node ConvolutionBackward0 as well.
ConvolutionTransposeBackward0 = node_class(
    "ConvolutionTransposeBackward0", _conv_t_vjp, _conv_t_jvp,
    display_name="ConvolutionBackward0")
ConvolutionBackwardBackward0 = node_class(
    "ConvolutionBackwardBackward0", _conv_w_vjp, _conv_w_jvp)


def _conv(x, w, b, s, p, d, groups):
    rec = STATE.enabled and recording(x, w, b)
    # NOTE: the columns are kept for the weight gradient only where nothing else may stand in
    # for the saved input (saved-tensor hooks) and only that gradient will read them
    keep = rec and w._requires_grad and not SAVED_HOOKS
    xd, half = x._data, is_half(x._data.dtype)
    data = conv_fwd(wide(xd), wide(w._data), s, p, d, groups, keep=keep)
    cols = None
    if keep:
        data, cols = data
    if b is not None:
        data += b._data.reshape((1, -1) + (1,) * (data.ndim - 2))
    if half:
        data = data.astype(xd.dtype)
    if rec:
        return record(ConvolutionBackward0, data, (x, w, b), save=(x, w),
                      args=(s, p, d, groups, cols))
    return wrap(data)


def _conv_t(y, w, b, s, p, d, groups, spatial):
    spatial = tuple(spatial)
    # NOTE [bfloat16 col2im] (conv_kernels.py): bfloat16 goes in as it is
    data = conv_t_fwd(y._data, w._data, s, p, d, groups, spatial)
    if b is not None:
        data += b._data.reshape((1, -1) + (1,) * (data.ndim - 2))
    if STATE.enabled and recording(y, w, b):
        return record(ConvolutionTransposeBackward0, data, (y, w, b), save=(y, w),
                      args=(s, p, d, groups, spatial))
    return wrap(data)


def _conv_w(x, y, s, p, d, groups, k):
    k = tuple(k)
    data = conv_w_fwd(wide(x._data), wide(y._data), s, p, d, groups, k)
    if data.dtype != x._data.dtype:
        data = data.astype(x._data.dtype)
    if STATE.enabled and recording(x, y):
        return record(ConvolutionBackwardBackward0, data, (x, y), save=(x, y),
                      args=(s, p, d, groups, k))
    return wrap(data)


# ---- argument checks ------------------------------------------------------------------------

def _ntuple(v, nd, name):
    if isinstance(v, int):
        return (v,) * nd
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v * nd
    if len(v) != nd:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {nd} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={list(v)}")
    return v


def _sizes(shape):
    return "[" + ", ".join(str(a) for a in shape) + "]"


def _batched(input, nd, name):
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {_sizes(input.shape)}")
    return input.ndim == nd + 2


def _check_common(input, weight, bias, s, p, d, groups, transposed):
    w = weight._data
    if input._data.dtype != w.dtype:
        # NOTE: PyTorch's CPU kernels word this differently for float32 input and the rest.
        if input._data.dtype == np.float32:
            raise RuntimeError(f"Input type ({input.type()}) and weight type ({weight.type()}) "
                               "should be the same or input should be a MKLDNN tensor and "
                               "weight is a dense tensor")
        raise RuntimeError(f"expected scalar type {_dt.from_np(input._data.dtype).scalar_name} "
                           f"but found {_dt.from_np(w.dtype).scalar_name}")
    if bias is not None and bias._data.dtype != w.dtype:
        names = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}
        raise RuntimeError(f"Input type ({names.get(input._data.dtype, input._data.dtype)}) and "
                           f"bias type ({names.get(bias._data.dtype, bias._data.dtype)}) should "
                           "be the same")
    if any(si <= 0 for si in s):
        raise RuntimeError("non-positive stride is not supported")
    if any(pi < 0 for pi in p):
        raise RuntimeError("negative padding is not supported")
    if any(di <= 0 for di in d):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(d)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if w.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size [{_sizes(w.shape)}]"
                           " instead")
    c = input._data.shape[1]
    if transposed:
        if c != w.shape[0]:
            raise RuntimeError(f"Given transposed=1, weight of size {_sizes(w.shape)}, expected "
                               f"input{_sizes(input._data.shape)} to have {w.shape[0]} channels,"
                               f" but got {c} channels instead")
        cout = w.shape[1] * groups
    else:
        if c != w.shape[1] * groups:
            raise RuntimeError(f"Given groups={groups}, weight of size {_sizes(w.shape)}, "
                               f"expected input{_sizes(input._data.shape)} to have "
                               f"{w.shape[1] * groups} channels, but got {c} channels instead")
        cout = w.shape[0]
    if bias is not None and (bias._data.ndim != 1 or bias._data.shape[0] != cout):
        raise RuntimeError(f"Given weight of size {_sizes(w.shape)}, expected bias to be "
                           f"1-dimensional with {cout} elements, but got bias of size "
                           f"{_sizes(bias._data.shape)} instead")


# ---- public ops -----------------------------------------------------------------------------

def _convnd(nd, name, input, weight, bias, stride, padding, dilation, groups):
    if weight._data.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    batched = _batched(input._data, nd, name)
    if not batched:
        input = input.unsqueeze(0)
    s = _ntuple(stride, nd, "stride")
    d = _ntuple(dilation, nd, "dilation")
    k = weight._data.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            p = (0,) * nd
        elif padding == "same":
            if any(si != 1 for si in s):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [di * (ki - 1) for di, ki in zip(d, k)]
            p = tuple(t // 2 for t in total)
            extra = [t - 2 * (t // 2) for t in total]
            if any(extra):
                # NOTE: an even effective kernel needs one more zero on the right, as PyTorch
                # pads the input first (and warns) then convolves symmetrically.
                warnings.warn("Using padding='same' with even kernel lengths and odd dilation "
                              "may require a zero-padded copy of the input be created",
                              UserWarning, stacklevel=3)
                from .resize import pad as _pad

                pads = []
                for e in reversed(extra):
                    pads += [0, e]
                input = _pad(input, pads)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        p = _ntuple(padding, nd, "padding")
    _check_common(input, weight, bias, s, p, d, groups, False)
    padded = [si + 2 * pi for si, pi in zip(input._data.shape[2:], p)]
    keff = [di * (ki - 1) + 1 for di, ki in zip(d, k)]
    if any(a < b for a, b in zip(padded, keff)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, keff))}). Kernel size can't be greater than "
            "actual input size")
    out = _conv(input, weight, bias, s, p, d, groups)
    return out if batched else out.squeeze(0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution over ``(N, C, L)`` (or unbatched ``(C, L)``) input."""
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution over ``(N, C, H, W)`` (or unbatched ``(C, H, W)``) input.

    >>> import ember
    >>> ember.conv2d(ember.ones(1, 1, 3, 3), ember.ones(1, 1, 2, 2)).shape
    ember.Size([1, 1, 2, 2])
    """
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution over ``(N, C, D, H, W)`` (or unbatched) input."""
    return _convnd(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(nd, name, input, weight, bias, stride, padding, output_padding, groups,
                      dilation):
    if weight._data.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    batched = _batched(input._data, nd, name)
    if not batched:
        input = input.unsqueeze(0)
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    s = _ntuple(stride, nd, "stride")
    p = _ntuple(padding, nd, "padding")
    op = _ntuple(output_padding, nd, "output_padding")
    d = _ntuple(dilation, nd, "dilation")
    _check_common(input, weight, bias, s, p, d, groups, True)
    if any(o >= si and o >= di for o, si, di in zip(op, s, d)):
        # NOTE: PyTorch runs 1-D as 2-D with a unit height, and reports that height too.
        names = ["depth", "height", "width"][3 - max(nd, 2):]
        if nd == 1:
            op, s, d = (0,) + op, (1,) + s, (1,) + d
        parts = ([f"output_padding_{n}: {v}" for n, v in zip(names, op)]
                 + [f"stride_{n}: {v}" for n, v in zip(names, s)]
                 + [f"dilation_{n}: {v}" for n, v in zip(names, d)])
        raise RuntimeError("output padding must be smaller than either stride or dilation, "
                           "but got " + " ".join(parts))
    k = weight._data.shape[2:]
    spatial = tuple((i - 1) * si - 2 * pi + di * (ki - 1) + oi + 1 for i, si, pi, di, ki, oi
                    in zip(input._data.shape[2:], s, p, d, k, op))
    if any(a <= 0 for a in spatial):
        # NOTE: PyTorch runs 1-D as 2-D with a unit height, and reports that height too.
        unit = (1,) if nd == 1 else ()
        raise RuntimeError(f"Given input size per channel: "
                           f"({' x '.join(map(str, unit + input._data.shape[2:]))}). Calculated "
                           f"output size per channel: ({' x '.join(map(str, unit + spatial))}). "
                           "Output size is too small")
    out = _conv_t(input, weight, bias, s, p, d, groups, spatial)
    return out if batched else out.squeeze(0)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-D convolution (the gradient of conv1d with respect to its input)."""
    return _conv_transposend(1, "conv_transpose1d", input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution (the gradient of conv2d with respect to its input)."""
    return _conv_transposend(2, "conv_transpose2d", input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 3-D convolution (the gradient of conv3d with respect to its input)."""
    return _conv_transposend(3, "conv_transpose3d", input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


for _fn in (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d):
    register(_fn, method=False)
