"""Pooling: max_pool1d/2d/3d (return_indices), avg_pool1d/2d/3d, adaptive_avg_pool1d/2d/3d,
adaptive_max_pool1d/2d/3d, max_unpool1d/2d/3d, lp_pool1d/2d/3d.

Contract: PyTorch's signatures, defaults, shapes, node names and error messages; rules in ember
ops (twice differentiable) with forward-mode rules. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.

Forwards take one strided slice of the padded input per kernel offset (max and average) or
gather clamped index windows (adaptive max): loops over kernel offsets, never over pixels.
Max pooling windows that tile the input (kernel == stride, the usual ``max_pool2d(x, 2)``)
are first regrouped so that every NumPy loop runs long (see "exactly tiling windows"). Max
pooling returns PyTorch's indices (flat into each input plane) and its rule sends the gradient
to them (a scatter whose own rule is a gather; overlapping windows add up). Average pooling's
rule is a transposed convolution with a kernel of ones; adaptive averages are separable maps.
The 1-D ops are PyTorch's compositions: unsqueeze, the 2-D op, squeeze. The array work of
max pooling (maxima, tie-breaks, indices, tiling) is in pool_kernels.py.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import zeros_as
from ._jvp import linear
from ._registry import node_class, record, record_multi, recording, register, wrap
from .conv import _conv_t
from .linalg import is_half
from .pool_kernels import (
    _beside,
    _first_max,
    _flat_index,
    _index_parts,
    _last_nan,
    _max_by_offsets,
    _max_from_windows,
    _offset_steps,
    _padding_masks,
    _tiled_max_index,
    _tiled_values,
    _tiling,
)
from .resize import Taps, _apply_taps, _constant_pad, _sep_vjp, separable_node

FUNCTIONAL = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
              "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
              "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
              "max_pool1d_with_indices", "max_pool2d_with_indices",
              "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
              "max_unpool1d", "max_unpool2d", "max_unpool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d"]


def _ntuple(v, nd):
    if isinstance(v, int):
        return (v,) * nd
    v = tuple(int(a) for a in v)
    return v * nd if len(v) == 1 else v


def _out_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape."""
    span = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _check_input(a, nd, op):
    """PyTorch's checks of a pooling input (``op``: the name its 3-D message gives): ``nd + 1``
    or ``nd + 2`` dims, and only the batch dim (of ``nd + 2``) may be empty."""
    if a.ndim not in (nd + 1, nd + 2):
        if op == "avg_pool2d":
            if a.ndim == 0:  # avg_pool2d reads size(-3) first: its IndexError
                raise IndexError("Dimension specified as -3 but tensor has no dimensions")
            if a.ndim < 3:
                from ..tensor import _wrap_dim

                _wrap_dim(-3, a.ndim)
            raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                               f"size for input, but got:{list(a.shape)}")
        kinds = {2: "3D or 4D", 3: "4D or 5D"}[nd]
        raise RuntimeError(f"non-empty {kinds} (batch mode) tensor expected for input")
    if 0 in a.shape[a.ndim - nd - 1:]:
        if nd == 2:
            raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch "
                               f"size for input, but got:{list(a.shape)}")
        # NOTE: PyTorch names dimension 0 whichever one is empty
        raise RuntimeError(f"{op}: Expected input's non-batch dimensions to have positive "
                           f"length, but input has a shape of {list(a.shape)} and non-batch "
                           "dimension 0 has length zero!")


def _geometry(a, nd, kernel_size, stride, padding, dilation, ceil_mode):
    k = _ntuple(kernel_size, nd)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _ntuple(stride, nd)
    p = _ntuple(padding, nd)
    d = _ntuple(dilation, nd)
    if any(si == 0 for si in s):
        raise RuntimeError("stride should not be zero")
    if any(ki <= 0 for ki in k):
        raise RuntimeError("kernel_size must be greater than zero, but got " + " ".join(
            f"k{n}: {v}" for n, v in zip("DHW"[3 - nd:], k)))
    if any(di <= 0 for di in d):
        raise RuntimeError("dilation should be greater than zero, but got " + " ".join(
            f"dilation{n}: {v}" for n, v in zip("DHW"[3 - nd:], d)))
    for pi, ki, di in zip(p, k, d):
        if pi > (di * (ki - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pi}, kernel_size={ki} and dilation={di}")
    spatial = a.shape[-nd:]
    out = tuple(_out_size(si, ki, st, pi, di, ceil_mode)
                for si, ki, st, pi, di in zip(spatial, k, s, p, d))
    if any(o < 1 for o in out):
        lead = a.shape[-nd - 1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (lead,) + spatial))}). "
                           f"Calculated output size: ({'x'.join(map(str, (lead,) + out))}). "
                           "Output size is too small")
    return k, s, p, d, out


def _padded(a, nd, k, s, p, d, out, fill):
    """``a`` as ``(1, M, *spatial)`` (leading dims flattened into M), padded by ``p`` and, for
    ceil_mode, on the right as far as the last window reaches."""
    spatial = a.shape[-nd:]
    flat = a.reshape((1, -1) + spatial)
    extra = [max(0, (o - 1) * st + di * (ki - 1) + 1 - si - 2 * pi)
             for o, st, di, ki, si, pi in zip(out, s, d, k, spatial, p)]
    if any(p) or any(extra):
        flat = np.pad(flat, [(0, 0), (0, 0)] + [(pi, pi + e) for pi, e in zip(p, extra)],
                      constant_values=fill)
    return flat


# ---- max pooling ----------------------------------------------------------------------------

def _scatter_vjp(ctx, g):
    flat, g_shape, shape = ctx.args[:3]
    gg = g.reshape(-1)[wrap(flat)].reshape(g_shape)
    if len(ctx.next_functions) == 1:
        return (gg,)
    # NOTE: PyTorch's pooling backward op also takes the input, with derivative zeros (not
    # "no gradient"): the nodes before the input still run (a 0 / 0 there makes NaN)
    need = ctx.next_functions[1][0] is not None
    return gg, (wrap(zeros_as(g._data, shape=shape, order="C")) if need else None)


def _scatter_jvp(ctx, t, *_):
    return _plane_scatter(t, *ctx.args, type(ctx))


def _scatter_node(name):
    return node_class(name, _scatter_vjp, linear(_scatter_jvp))


def _plane_scatter(g, flat, g_shape, shape, unique, node_cls, x=None):
    """Zeros of ``shape`` (the input's) with ``g`` added at ``flat`` (indices into the
    flattened input): the adjoint of gathering at ``flat``, recorded as ``node_cls`` (of
    ``g`` and the pooled input ``x``, when given)."""
    data = g._data
    size = math.prod(shape)
    if unique:
        out = zeros_as(data, shape=size, order="C")
        out[flat] = data.reshape(-1)
    else:
        # NOTE: bincount sums repeated indices in one pass, several times faster than add.at.
        out = np.bincount(flat, weights=data.reshape(-1), minlength=size).astype(data.dtype)
    out = out.reshape(shape)
    if x is None:
        if STATE.enabled and recording(g):
            return record(node_cls, out, (g,), args=(flat, g_shape, shape, unique))
    elif STATE.enabled and recording(g, x):
        return record(node_cls, out, (g, x), args=(flat, g_shape, shape, unique))
    return wrap(out)


def _max_pool_vjp(ctx, g, g_idx=None):
    # (the input is saved only so that changing it in place fails backward, as PyTorch)
    x, idx = ctx.saved_tensors
    in_shape, nd, unique = ctx.args
    flat = _flat_index(idx._data, in_shape, nd)
    # NOTE: overlapping windows may pick one input twice: the gradients add up.
    return (_plane_scatter(g, flat, g._data.shape, in_shape, unique, _SCATTER_NODES[type(ctx)],
                           x),)


def _max_pool_jvp(ctx, t, *_):
    _, idx = ctx.saved_tensors
    in_shape, nd, _ = ctx.args
    flat = _flat_index(idx._data, in_shape, nd)
    return t.reshape(-1)[wrap(flat)].reshape(idx._data.shape)


MaxPool2DWithIndicesBackward0 = node_class("MaxPool2DWithIndicesBackward0", _max_pool_vjp,
                                           _max_pool_jvp)
MaxPool3DWithIndicesBackward0 = node_class("MaxPool3DWithIndicesBackward0", _max_pool_vjp,
                                           _max_pool_jvp)
AdaptiveMaxPool2DBackward0 = node_class("AdaptiveMaxPool2DBackward0", _max_pool_vjp,
                                        _max_pool_jvp)
AdaptiveMaxPool3DBackward0 = node_class("AdaptiveMaxPool3DBackward0", _max_pool_vjp,
                                        _max_pool_jvp)
# NOTE: the gradient's own node (create_graph), named as PyTorch names it.
_SCATTER_NODES = {cls: _scatter_node(cls.__name__[:-1] + "Backward0")
                  for cls in (MaxPool2DWithIndicesBackward0, MaxPool3DWithIndicesBackward0,
                              AdaptiveMaxPool2DBackward0, AdaptiveMaxPool3DBackward0)}


def _max_pool(nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              node_cls):
    a = input._data
    _check_input(a, nd, "max_pool3d_with_indices_out_cpu_template()")
    k, s, p, d, out = _geometry(a, nd, kernel_size, stride, padding, dilation, ceil_mode)
    grad = STATE.enabled and recording(input)
    # NOTE: without a gradient or return_indices nobody needs where the maxima were.
    want_index = grad or return_indices
    if _tiling(a, nd, k, s, p, d, out):
        if not want_index:
            return wrap(_tiled_values(a, nd, k, out))
        vals, index = _tiled_max_index(a, nd, k, out)
    else:
        fill = -np.inf if a.dtype.kind in "fV" else np.iinfo(a.dtype).min  # ("V": bfloat16)
        padded = _padded(a, nd, k, s, p, d, out, fill)
        best, cands = _max_by_offsets(padded, k, s, d, out, want_index)
        vals = best.reshape(a.shape[:-nd] + tuple(out))
        if not want_index:
            return wrap(vals)
        invalid = None
        if padded.shape[2:] != a.shape[-nd:] and (best == fill).any():
            # NOTE: only a window of fill values can pick padding; PyTorch never does.
            invalid = _padding_masks(a.shape[-nd:], k, s, p, d, out, best.ndim, best)
        base, table = _index_parts(a.shape[-nd:], k,
                                   [np.arange(o) * st - pi for o, st, pi in zip(out, s, p)],
                                   d, out)
        off = _last_nan(_first_max(cands, best, _offset_steps(table), invalid), cands, best,
                        table)
        index = np.add(off, _beside(base, off), dtype=np.int64).reshape(vals.shape)
    if grad:
        # NOTE: when windows cannot overlap, every input gets at most one gradient.
        unique = all(st >= di * (ki - 1) + 1 for st, di, ki in zip(s, d, k))
        outs = record_multi(node_cls, [vals, index], (input,), args=(a.shape, nd, unique),
                            differentiable=(True, False))
        # NOTE: PyTorch saves the input and the returned indices: changing either in place
        # before backward is its version error (a reference each, no copy).
        outs[0].grad_fn.save(input, outs[1])
    else:
        outs = [wrap(vals), wrap(index)]
    return tuple(outs) if return_indices else outs[0]


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over ``(N, C, H, W)`` (or ``(C, H, W)``); with ``return_indices`` also
    the flat index of each maximum in its input plane."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, MaxPool2DWithIndicesBackward0)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling over ``(N, C, D, H, W)`` (or ``(C, D, H, W)``)."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, MaxPool3DWithIndicesBackward0)


def _dims_2_to_3(a, op):
    if a.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {a.ndim}-dimensional tensor for "
                           f"argument #1 'self' (while checking arguments for {op})")


def _as_2d(v, fill):
    return (fill,) + (tuple(v) if not isinstance(v, int) else (v,))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over ``(N, C, L)`` (or ``(C, L)``)."""
    a = input._data
    if return_indices:
        _dims_2_to_3(a, "max_pool1d")  # then max_pool2d's checks, on the unsqueezed input
    elif a.ndim not in (2, 3) or 0 in a.shape[a.ndim - 2:]:
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{list(a.shape)}")
    stride = kernel_size if stride is None or stride == () else stride
    res = max_pool2d(input.unsqueeze(-2), _as_2d(kernel_size, 1), _as_2d(stride, 1),
                     _as_2d(padding, 0), _as_2d(dilation, 1), ceil_mode, True)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res[0].squeeze(-2)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---- average pooling ------------------------------------------------------------------------

def _divisor(size, k, s, p, out, count_include_pad):
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    pool = end - start
    count = np.minimum(end, size) - np.maximum(start, 0)
    return pool if count_include_pad else count


def _avg_vjp(ctx, g):
    _ = ctx.saved_tensors  # (the input, saved only for the version check PyTorch makes)
    in_shape, k, s, p, out, inv, extra = ctx.args
    nd = len(k)
    m = math.prod(in_shape[:-nd])
    spatial = tuple(in_shape[-nd:])
    gs = (g * wrap(inv.astype(g._data.dtype))).reshape((m, 1) + tuple(out))
    ones = wrap(np.ones_like(g._data, shape=(1, 1) + tuple(k), order="C"))
    # NOTE: spreading each window's share back over the window is the transposed
    # convolution with a kernel of ones (an ember op, so this rule differentiates again).
    full = _conv_t(gs, ones, None, s, p, (1,) * nd, 1,
                   tuple(si + e for si, e in zip(spatial, extra)))
    if any(extra):
        crop = []
        for e in reversed(extra):
            crop += [0, -e]
        full = _constant_pad(full, crop, 0.0)
    return (full.reshape(in_shape),)


def _avg_jvp(ctx, t):
    return _avg_apply(t, ctx.args, type(ctx))


AvgPool2DBackward0 = node_class("AvgPool2DBackward0", _avg_vjp, linear(_avg_jvp))
AvgPool3DBackward0 = node_class("AvgPool3DBackward0", _avg_vjp, linear(_avg_jvp))


def _avg_apply(input, args, node_cls):
    in_shape, k, s, p, out, inv, extra = args
    nd = len(k)
    a = input._data
    flat = a.reshape((1, -1) + a.shape[-nd:])
    if is_half(a.dtype):
        # NOTE: as PyTorch, half types are summed in float32 and rounded once
        flat = flat.astype(np.float32)
    padded = np.pad(flat, [(0, 0), (0, 0)] + [(pi, pi + e) for pi, e in zip(p, extra)])
    sums = None
    for idx in np.ndindex(*k):
        sl = tuple(slice(i, i + si * (oi - 1) + 1, si) for i, si, oi in zip(idx, s, out))
        part = padded[(Ellipsis,) + sl]
        sums = part.copy() if sums is None else np.add(sums, part, out=sums)
    if a.dtype.kind in "iu":
        # NOTE: integer input: PyTorch divides in the integer type (truncating toward zero).
        data = np.fix(sums / np.rint(1.0 / inv)).astype(a.dtype)
    else:
        data = (sums * inv.astype(sums.dtype)).astype(a.dtype, copy=False)
    data = data.reshape(a.shape[:-nd] + tuple(out))
    if STATE.enabled and recording(input):
        return record(node_cls, data, (input,), save=(input,), args=args)
    return wrap(data)


def _avg_pool(nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, node_cls):
    a = input._data
    _check_input(a, nd, "avg_pool3d()" if nd == 3 else "avg_pool2d")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    k, s, p, _, out = _geometry(a, nd, kernel_size, stride, padding, 1, ceil_mode)
    spatial = a.shape[-nd:]
    if divisor_override is not None:
        div = np.full(out, float(divisor_override))
    else:
        div = np.ones(())
        for si, ki, st, pi, o in zip(spatial, k, s, p, out):
            div = np.multiply.outer(div, _divisor(si, ki, st, pi, o, count_include_pad))
    extra = tuple(max(0, (o - 1) * st + ki - si - 2 * pi)
                  for o, st, ki, si, pi in zip(out, s, k, spatial, p))
    # (the divisors are geometry, made on the host: on a device, a copy there)
    return _avg_apply(input, (a.shape, k, s, p, out, _beside(1.0 / div, a), extra), node_cls)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling over ``(N, C, H, W)`` (or ``(C, H, W)``)."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, AvgPool2DBackward0)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling over ``(N, C, D, H, W)`` (or ``(C, D, H, W)``)."""
    if is_half(input._data.dtype):  # PyTorch's CPU kernel has no float16/bfloat16 version
        from ..dtypes import from_np

        raise NotImplementedError("\"avg_pool3d_out_frame\" not implemented for "
                                  f"'{from_np(input._data.dtype).scalar_name}'")
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, AvgPool3DBackward0)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over ``(N, C, L)`` (or ``(C, L)``)."""
    _dims_2_to_3(input._data, "avg_pool1d")  # then avg_pool2d's checks, unsqueezed
    stride = kernel_size if stride is None or stride == () else stride
    return avg_pool2d(input.unsqueeze(-2), _as_2d(kernel_size, 1), _as_2d(stride, 1),
                      _as_2d(padding, 0), ceil_mode, count_include_pad).squeeze(-2)


# ---- adaptive pooling -----------------------------------------------------------------------

def _adaptive_bounds(size, out):
    o = np.arange(out)
    return (o * size) // out, -((-(o + 1) * size) // out)


def _average_taps(size, out):
    """Each output's window ``[start, end)``, summed and divided by its length (NOTE
    [separable maps]: only the window's elements are read)."""
    start, end = _adaptive_bounds(size, out)
    width = int((end - start).max())
    cols = start[:, None] + np.arange(width)
    valid = cols < end[:, None]
    return Taps(np.minimum(cols, size - 1), size, valid=valid, div=end - start)


def _nonempty(a, name):
    """PyTorch's refusal of an empty dim after the first."""
    for i in range(1, a.ndim):  # (the first dim may be empty, batched or not)
        if a.shape[i] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(a.shape)} with "
                               f"dimension {i} being empty")


def _adaptive_sizes(a, nd, output_size, name, check_empty=True):
    if a.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{list(a.shape)}")
    if check_empty:
        _nonempty(a, name)
    if isinstance(output_size, int):
        return (output_size,) * nd
    sizes = tuple(a.shape[a.ndim - nd + i] if o is None else int(o)
                  for i, o in enumerate(output_size))
    if len(sizes) != nd:
        raise RuntimeError(f"{name}: output_size must be {nd}")
    return sizes


def _adaptive_avg_vjp(ctx, g):
    _ = ctx.saved_tensors  # (the input, saved only for the version check PyTorch makes)
    return _sep_vjp(ctx, g)


AdaptiveAvgPool2DBackward0 = separable_node("AdaptiveAvgPool2DBackward0", vjp=_adaptive_avg_vjp)
AdaptiveAvgPool3DBackward0 = separable_node("AdaptiveAvgPool3DBackward0", vjp=_adaptive_avg_vjp)


def _float_only(a, name):
    if a.dtype.kind not in "fcV":  # ("V": bfloat16)
        from ..dtypes import from_np

        raise NotImplementedError(f'"{name}" not implemented for '
                                  f"'{from_np(a.dtype).scalar_name}'")


def _adaptive_avg(nd, input, output_size, name, node_cls):
    a = input._data
    _float_only(a, name)
    sizes = _adaptive_sizes(a, nd, output_size, name, check_empty=False)
    if all(o == 1 for o in sizes):
        # NOTE: PyTorch takes a mean for a 1x1 output (its node is MeanBackward1), before its
        # check of empty dims (the mean of nothing is NaN).
        return input.mean(tuple(range(-nd, 0)), keepdim=True)
    _nonempty(a, name)
    mats = [_average_taps(si, o) for si, o in zip(a.shape[-nd:], sizes)]
    data = _apply_taps(a, mats)  # (half types averaged in float32 and rounded once, as PyTorch)
    if STATE.enabled and recording(input):
        # NOTE: saved as PyTorch saves it (its version checked at backward)
        return record(node_cls, data, (input,), save=(input,), args=(mats, None))
    return wrap(data)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to ``output_size`` ((h, w); None keeps that dim's size)."""
    return _adaptive_avg(2, input, output_size, "adaptive_avg_pool2d",
                         AdaptiveAvgPool2DBackward0)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling of ``(N, C, D, H, W)`` input to ``output_size``."""
    return _adaptive_avg(3, input, output_size, "adaptive_avg_pool3d",
                         AdaptiveAvgPool3DBackward0)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of ``(N, C, L)`` input to ``output_size``."""
    if input._data.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d(): Expected 2D or 3D tensor, but got "
                           f"{list(input._data.shape)}")
    out = output_size if isinstance(output_size, int) else output_size[0]
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, out)).squeeze(-2)


def _adaptive_max(nd, input, output_size, return_indices, name, node_cls):
    a = input._data
    _float_only(a, name)
    sizes = _adaptive_sizes(a, nd, output_size, name)
    keys = []
    for i, (si, o) in enumerate(zip(a.shape[-nd:], sizes)):
        start, end = _adaptive_bounds(si, o)
        span = int((end - start).max())
        # NOTE: shorter windows repeat their last element to the longest length: a repeat
        # never changes the maximum nor its first index.
        idx = np.minimum(start[:, None] + np.arange(span)[None, :], end[:, None] - 1)
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = o, span
        keys.append((idx.reshape(shape), start))
    flat = a.reshape((1, -1) + a.shape[-nd:])
    v = flat[(slice(None), slice(None)) + tuple(k for k, _ in keys)]  # (1, M, *O, *K)
    vals, index = _max_from_windows(v, a, nd, [st for _, st in keys], (1,) * nd, sizes)
    if STATE.enabled and recording(input):
        outs = record_multi(node_cls, [vals, index], (input,), args=(a.shape, nd, False),
                            differentiable=(True, False))
        outs[0].grad_fn.save(input, outs[1])  # as max pooling's
    else:
        outs = [wrap(vals), wrap(index)]
    return tuple(outs) if return_indices else outs[0]


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to ``output_size``; with ``return_indices`` also the flat plane indices."""
    return _adaptive_max(2, input, output_size, return_indices, "adaptive_max_pool2d",
                         AdaptiveMaxPool2DBackward0)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """3-D max pooling to ``output_size``."""
    return _adaptive_max(3, input, output_size, return_indices, "adaptive_max_pool3d",
                         AdaptiveMaxPool3DBackward0)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of ``(N, C, L)`` input to ``output_size``."""
    if input._data.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d(): Expected 2D or 3D tensor, but got "
                           f"{list(input._data.shape)}")
    _nonempty(input._data, "adaptive_max_pool1d")
    out = output_size if isinstance(output_size, int) else output_size[0]
    vals, index = adaptive_max_pool2d(input.unsqueeze(-2), (1, out), True)
    if return_indices:
        return vals.squeeze(-2), index.squeeze(-2)
    return vals.squeeze(-2)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input, output_size, True)


def _adaptive_max_pool1d_pair(input, output_size):
    """``torch.adaptive_max_pool1d``: always the (values, indices) pair."""
    return adaptive_max_pool1d(input, output_size, True)


for _fn in (max_pool1d, max_pool2d, max_pool3d, avg_pool1d, adaptive_avg_pool1d,
            max_pool1d_with_indices):
    register(_fn, method=False)
register(_adaptive_max_pool1d_pair, "adaptive_max_pool1d", method=False)


# ---- max_unpool ---------------------------------------------------------------------------

def _unpool_vjp(ctx, g):
    idx, = ctx.saved_tensors
    in_shape, nd = ctx.args
    m = math.prod(in_shape[:-nd])
    return (g.reshape(m, -1).gather(-1, idx.reshape(m, -1)).reshape(in_shape),)


def _unpool_jvp(ctx, t):
    idx, = ctx.saved_tensors
    return _unpool(t, idx, ctx._meta[0][0], type(ctx))


MaxUnpool2DBackward0 = node_class("MaxUnpool2DBackward0", _unpool_vjp, linear(_unpool_jvp))
MaxUnpool3DBackward0 = node_class("MaxUnpool3DBackward0", _unpool_vjp, linear(_unpool_jvp))


def _unpool(input, indices, out_shape, node_cls):
    a, idx = input._data, indices._data
    nd = 3 if node_cls is MaxUnpool3DBackward0 else 2
    m = math.prod(a.shape[:-nd])
    plane = math.prod(out_shape[-nd:])
    flat = idx.reshape(m, -1)
    bad = (flat < 0) | (flat >= plane)
    if bad.any():
        raise RuntimeError(f"Found an invalid max index: {int(flat[bad][0])} (output volumes are "
                           f"of size {'x'.join(map(str, out_shape[-nd:]))})")
    data = zeros_as(a, shape=(m, plane), order="C")
    rows = (np if type(a) is np.ndarray else namespace(a)).arange(m)[:, None]
    data[rows, flat] = a.reshape(m, -1)
    data = data.reshape(out_shape)
    if STATE.enabled and recording(input):
        return record(node_cls, data, (input,), save=(indices,), args=(a.shape, nd))
    return wrap(data)


def _max_unpool(nd, input, indices, kernel_size, stride, padding, output_size, node_cls):
    a, idx = input._data, indices._data
    if idx.dtype != np.int64:
        from ..dtypes import from_np

        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{from_np(idx.dtype).scalar_name}")
    if idx.shape != a.shape:
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(a.shape)}) but got indices tensor with shape: "
                           f"{list(idx.shape)}")
    k = _ntuple(kernel_size, nd)
    s = k if stride is None else _ntuple(stride, nd)
    p = _ntuple(padding, nd)
    default = [(a.shape[-nd + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(nd)]
    if output_size is None:
        size = default
    else:
        size = list(output_size)[-nd:] if len(output_size) == a.ndim else list(output_size)
        for i, (want, d) in enumerate(zip(size, default)):
            lo, hi = d - s[i], d + s[i]
            if not lo < want < hi:
                raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {i} must be '
                                 f"between {lo} and {hi})")
    return _unpool(input, indices, a.shape[:-nd] + tuple(size), node_cls)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool2d: each value put back at its index, zeros elsewhere."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size,
                       MaxUnpool2DBackward0)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool3d."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size,
                       MaxUnpool3DBackward0)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool1d."""
    k = _as_2d(kernel_size, 1)
    s = k if stride is None else _as_2d(stride, 1)
    size = None if output_size is None else [1] + list(output_size)[-1:]
    return max_unpool2d(input.unsqueeze(-2), indices.unsqueeze(-2), k, s,
                        _as_2d(padding, 0), size).squeeze(-2)


# ---- lp_pool ------------------------------------------------------------------------------
# NOTE: PyTorch's composition, kept op for op so the graph (PowBackward0 last) is the same.

def _lp_pool(nd, input, norm_type, kernel_size, stride, ceil_mode):
    mx = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}[nd]
    avg = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}[nd]
    if norm_type == float("inf"):
        return mx(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -mx(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    size = math.prod(_ntuple(kernel_size, nd))
    return (out.sign() * out.abs().relu()).mul(size).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: ``(sum x^p over each window) ^ (1/p)``."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """2-D power-average pooling."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """3-D power-average pooling."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode)

