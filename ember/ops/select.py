"""Elementwise selection: clamp/clip (number or tensor bounds), where, masked_fill,
maximum/minimum, fmax/fmin (NaN-ignoring), nan_to_num.

Contract: PyTorch's dtypes, broadcasting and subgradients (a clamp bound passes the gradient;
maximum/minimum split ties evenly). JVPs are elementwise (see _jvp.py), except masked_fill's
value, which writes its tangent where the mask holds.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE, no_grad
from ..backend import namespace
from ..tensor import Tensor
from ._jvp import _fit, elementwise, out_zeros, zeros_for
from ._registry import METHODS, as_array, node_class, record, recording, register, wrap
from .inplace import apply_inplace, check_inplace, internal_overlap, register_inplace
from .pointwise import _operands, _result_np, _rg, _scalar, check_broadcast, require_tensors
from .where_kernel import where as _select

_make = Tensor._make

# ---- clamp ----
def _clamp_vjp(ctx, g):
    x, = ctx.saved_tensors
    lo, hi = ctx.args
    mask = None
    if lo is not None:
        mask = x >= lo
    if hi is not None:
        m = x <= hi
        mask = m if mask is None else mask & m
    # NOTE: at a bound the gradient passes (x >= min, x <= max), as in PyTorch. Masked
    # gradients are selected, never multiplied by 0 (NOTE [masked gradients], where_kernel).
    return (where(mask, g, 0.0),)


def _clamp_tensor_vjp(ctx, g):
    x, lo, hi = ctx.saved_tensors
    fx, flo, fhi = (f for f, _ in ctx.next_functions)
    inside = None
    lo_mask = hi_mask = None
    if lo is not None:
        lo_mask = x >= lo
        inside = lo_mask
    if hi is not None:
        hi_mask = x <= hi
        inside = hi_mask if inside is None else inside & hi_mask
    gx = where(inside, g, 0.0) if fx is not None else None
    glo = where(lo_mask, 0.0, g) if (flo is not None and lo is not None) else None
    ghi = None
    if fhi is not None and hi is not None:
        ghi = where(hi_mask | ~lo_mask if lo is not None else hi_mask, 0.0, g)
    return gx, glo, ghi


ClampBackward1 = node_class("ClampBackward1", _clamp_vjp, elementwise)
ClampBackward0 = node_class("ClampBackward0", _clamp_tensor_vjp, elementwise)
ClampMinBackward0 = node_class("ClampMinBackward0", _clamp_vjp, elementwise)
ClampMaxBackward0 = node_class("ClampMaxBackward0", _clamp_vjp, elementwise)


def clamp(input, min=None, max=None):  # noqa: A002 - PyTorch's names
    """Limit values to ``[min, max]`` (either bound may be None, a number or a tensor)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if input._data.dtype.kind == "u" and not (isinstance(min, Tensor) or isinstance(max, Tensor)):
        # NOTE [limited unsigned types] (dtypes.py); tensor bounds reach maximum's check
        _dt.refuse_unsigned("clamp_scalar_cpu" if min is not None and max is not None else
                            "clamp_min_scalar_cpu" if min is not None else
                            "clamp_max_scalar_cpu", input._data.dtype)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        lo = min if min is None or isinstance(min, Tensor) else _scalar_tensor(min, input)
        hi = max if max is None or isinstance(max, Tensor) else _scalar_tensor(max, input)
        bounds = [t for t in (lo, hi) if t is not None]
        for t in bounds:
            check_broadcast(input._data.shape, t._data.shape)
        # NOTE: tensor bounds take part in type promotion (an int input with float bounds
        # gives a float result), as in PyTorch.
        rt = _result_np(input, *bounds)
        data = input._data.astype(rt, copy=False)
        if lo is not None:
            data = np.maximum(data, lo._data.astype(rt, copy=False))
        if hi is not None:
            data = np.minimum(data, hi._data.astype(rt, copy=False))
        if STATE.enabled and recording(input, lo, hi):
            return record(ClampBackward0, as_array(data), (input, lo, hi), save=(input, lo, hi))
        return wrap(as_array(data))
    ad = input._data
    lo = _scalar(min)
    hi = _scalar(max)
    if (lo is None and min is not None) or (hi is None and max is not None):
        raise TypeError("clamp: a bound is neither a tensor nor a number")  # (_checks: PyTorch's)
    if ad.dtype.kind in "iub" and (isinstance(lo, float) or isinstance(hi, float)):
        ad = ad.astype(_dt.get_default_dtype().np)
    data = np.clip(ad, lo, hi)
    if data.dtype != ad.dtype:
        data = data.astype(ad.dtype)
    if STATE.enabled and recording(input):
        return record(ClampBackward1, data, (input,), save=(input,), args=(lo, hi))
    return wrap(data)


clip = clamp


def _clamp_one_tensor_vjp(ctx, g):
    x, bound = ctx.saved_tensors
    keep = (x >= bound) if ctx.args[0] else (x <= bound)
    return (g * keep if ctx.next_functions[0][0] is not None else None,
            g * ~keep if ctx.next_functions[1][0] is not None else None)


ClampMinBackward1 = node_class("ClampMinBackward1", _clamp_one_tensor_vjp, elementwise)
ClampMaxBackward1 = node_class("ClampMaxBackward1", _clamp_one_tensor_vjp, elementwise)


def _clamp_one(input, bound, is_min):
    """clamp_min / clamp_max: their own nodes (ClampMinBackward0/1...), as in PyTorch."""
    if isinstance(bound, Tensor):
        with no_grad():
            data = (clamp(input, min=bound) if is_min else clamp(input, max=bound))._data
        if STATE.enabled and recording(input, bound):
            node = ClampMinBackward1 if is_min else ClampMaxBackward1
            return record(node, data, (input, bound), save=(input, bound), args=(is_min,))
        return wrap(data)
    with no_grad():
        out = clamp(input, min=bound) if is_min else clamp(input, max=bound)
    if STATE.enabled and recording(input):
        node = ClampMinBackward0 if is_min else ClampMaxBackward0
        lo, hi = (_scalar(bound), None) if is_min else (None, _scalar(bound))
        return record(node, out._data, (input,), save=(input,), args=(lo, hi))
    return out


def clamp_min(input, min):  # noqa: A002
    """``clamp(input, min=min)``."""
    return _clamp_one(input, min, True)


def clamp_max(input, max):  # noqa: A002
    """``clamp(input, max=max)``."""
    return _clamp_one(input, max, False)


def _scalar_tensor(v, like, dtype=None):
    """The number ``v`` as a 0-d tensor of ``dtype`` (``like``'s by default) on ``like``'s
    device."""
    a = like._data
    dtype = a.dtype if dtype is None else dtype
    if isinstance(a, np.ndarray):
        return _make(np.asarray(v, dtype=dtype))
    return _make(namespace(a).asarray(v, dtype=dtype))


# ---- where ----
def _where_vjp(ctx, g):
    cond, = ctx.saved_tensors
    fx, fy = ctx.next_functions[0][0], ctx.next_functions[1][0]
    return (where(cond, g, 0.0) if fx is not None else None,
            where(cond, 0.0, g) if fy is not None else None)


WhereBackward0 = node_class("WhereBackward0", _where_vjp, elementwise)


def where(condition, input=None, other=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (either may be a
    number). With only ``condition``: the indices of its nonzero elements, as a tuple."""
    if input is None and other is None:
        return tuple(wrap(as_array(i).astype(np.int64, copy=False))
                     for i in np.nonzero(condition._data))
    if condition._data.dtype.kind != "b":
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{condition.dtype.scalar_name}")
    if not isinstance(input, Tensor):
        if not isinstance(other, Tensor):
            # NOTE: two numbers: a float result in the default dtype if either is a float,
            # else int64 (PyTorch's promotion of wrapped numbers).
            a, b = _scalar(input), _scalar(other)
            rt = _dt.get_default_dtype().np if isinstance(a, float) or isinstance(b, float) \
                else np.dtype(np.int64)
            if isinstance(a, bool) and isinstance(b, bool):
                rt = np.dtype(bool)
            # (NumPy scalars: they mix with arrays of any device)
            return wrap(as_array(np.where(condition._data, rt.type(a), rt.type(b)))
                        .astype(rt, copy=False))
        input = _scalar_to(input, other)
    if not isinstance(other, Tensor):
        other = _scalar_to(other, input)
    cs, xs, ys = condition._data.shape, input._data.shape, other._data.shape
    if not cs == xs == ys:  # PyTorch's broadcast errors, the operands in order
        check_broadcast(cs, xs)
        check_broadcast(np.broadcast_shapes(cs, xs), ys)
    ad, bd, rt = _operands(input, other)
    data = _select(condition._data, ad, bd)
    if STATE.enabled and recording(input, other):
        return record(WhereBackward0, data, (input, other), save=(condition,))
    return wrap(data)


def _masked_fill_vjp(ctx, g):
    mask, = ctx.saved_tensors
    gx = g.masked_fill(mask, 0.0) if ctx.next_functions[0][0] is not None else None
    if len(ctx.next_functions) == 1:
        return (gx,)
    gv = None
    if ctx.next_functions[1][0] is not None:
        gv = where(mask, g, 0.0).sum()
    return (gx, gv)


MaskedFillBackward0 = node_class("MaskedFillBackward0", _masked_fill_vjp, elementwise)
def _masked_fill_value_jvp(ctx, dx, dv):
    mask, = ctx.saved_tensors
    shape = ctx._meta[0][0]
    dx = dx if dx is not None else zeros_for(ctx, 0)
    if dv is None:
        return dx.masked_fill(mask, 0.0)
    return where(mask, dv.expand(shape), dx)


MaskedFillBackward1 = node_class("MaskedFillBackward1", _masked_fill_vjp, _masked_fill_value_jvp)


def _value_dims_error(value):
    raise RuntimeError(
        f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
        f"{value._data.ndim} dimension(s).")


def masked_fill(input, mask, value):
    """``input`` with ``value`` written where the bool ``mask`` is True (mask broadcasts)."""
    if mask._data.dtype.kind != "b":
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{mask.dtype.cpp_name}")
    ad = input._data
    if mask._data.shape != ad.shape:
        # NOTE: the out-of-place op broadcasts self to the mask too (a bigger result)
        check_broadcast(mask._data.shape, ad.shape)  # PyTorch's message
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            _value_dims_error(value)
        v = value._data.astype(ad.dtype)
    else:
        v = _scalar(value)
        if ad.dtype.kind == "f" and type(v) in (float, int):
            # (what np.where does with a weak scalar; a NumPy scalar for a device array)
            v = np.asarray(v, dtype=ad.dtype) if isinstance(ad, np.ndarray) else ad.dtype.type(v)
    data = _select(mask._data, v, ad) if type(v) is np.ndarray else np.where(mask._data, v, ad)
    if data.dtype != ad.dtype:
        data = data.astype(ad.dtype)
    if STATE.enabled:
        if isinstance(value, Tensor) and _rg(value):
            return record(MaskedFillBackward1, data, (input, value), save=(mask,))
        if _rg(input):
            return record(MaskedFillBackward0, data, (input,), save=(mask,))
    return wrap(data)


def _scalar_to(v, like):
    v = _scalar(v)
    return _scalar_tensor(v, like, _dt.binary_result_np(like._data, v))


# ---- maximum / minimum ----
def _maxmin_vjp(ctx, g):
    x, y = ctx.saved_tensors
    # NOTE: ties split the gradient evenly between the two inputs, as PyTorch; the loser gets
    # a selected 0, and where either is NaN both get the gradient (neither loses).
    tie = x == y
    gt = where(tie, g * 0.5, g) if tie._data.any() else g
    lose_x, lose_y = (x < y, x > y) if ctx.args[0] else (x > y, x < y)
    return (where(lose_x, 0.0, gt) if ctx.next_functions[0][0] is not None else None,
            where(lose_y, 0.0, gt) if ctx.next_functions[1][0] is not None else None)


def _maxmin_jvp(ctx, dx, dy):
    x, y = ctx.saved_tensors
    if dx is None and dy is None:
        return out_zeros(ctx)
    # (a missing tangent: zeros of the output's dtype, as an integer or bool operand has none)
    dx = out_zeros(ctx) if dx is None else dx
    dy = out_zeros(ctx) if dy is None else dy
    # NOTE: PyTorch's formula, dy + c * (dx - dy) with c = 0.5 at a tie and else whether x
    # wins: a product, not a select, so a NaN operand (neither wins) takes the other's tangent
    # and an infinite tangent gives NaN even on the losing side.
    xd, yd = x._data, y._data
    wins = xd > yd if ctx.args[0] else xd < yd
    c = wrap(np.where(xd == yd, 0.5, wins).astype(ctx._meta[0][1]))
    return _fit(ctx, dy + c * (dx - dy))


MaximumBackward0 = node_class("MaximumBackward0", _maxmin_vjp, _maxmin_jvp)
MinimumBackward0 = node_class("MinimumBackward0", _maxmin_vjp, _maxmin_jvp)


def maximum(input, other):
    """Elementwise maximum (NaN propagates; ties split the gradient evenly)."""
    require_tensors("maximum", input, other)
    ad, bd, rt = _operands(input, other)
    if rt.kind == "u" and rt.itemsize > 1:
        _dt.refuse_unsigned("maximum_cpu", rt)  # NOTE [limited unsigned types] (dtypes.py)
    data = np.maximum(ad, bd)
    if STATE.enabled and recording(input, other):
        return record(MaximumBackward0, data, (input, other), save=(input, other), args=(True,))
    return wrap(data)


def minimum(input, other):
    """Elementwise minimum (NaN propagates; ties split the gradient evenly)."""
    require_tensors("minimum", input, other)
    ad, bd, rt = _operands(input, other)
    if rt.kind == "u" and rt.itemsize > 1:
        _dt.refuse_unsigned("minimum_cpu", rt)  # NOTE [limited unsigned types] (dtypes.py)
    data = np.minimum(ad, bd)
    if STATE.enabled and recording(input, other):
        return record(MinimumBackward0, data, (input, other), save=(input, other), args=(False,))
    return wrap(data)


# ---- fmax / fmin ----
def _fmaxmin_vjp(ctx, g):
    x, y = ctx.saved_tensors
    # NOTE: unlike maximum, a tie sends the whole gradient to ``input`` (PyTorch's rule), and
    # a NaN operand loses to a number.
    pick_x = ((x >= y) if ctx.args[0] else (x <= y)) | y.isnan()
    return (where(pick_x, g, 0.0) if ctx.next_functions[0][0] is not None else None,
            where(pick_x, 0.0, g) if ctx.next_functions[1][0] is not None else None)


FmaxBackward0 = node_class("FmaxBackward0", _fmaxmin_vjp, elementwise)
FminBackward0 = node_class("FminBackward0", _fmaxmin_vjp, elementwise)


def fmax(input, other):
    """Elementwise maximum that ignores NaN (NaN only where both are NaN)."""
    require_tensors("fmax", input, other)
    ad, bd, rt = _operands(input, other)
    data = as_array(np.fmax(ad, bd))
    if STATE.enabled and recording(input, other):
        return record(FmaxBackward0, data, (input, other), save=(input, other), args=(True,))
    return wrap(data)


def fmin(input, other):
    """Elementwise minimum that ignores NaN (NaN only where both are NaN)."""
    require_tensors("fmin", input, other)
    ad, bd, rt = _operands(input, other)
    data = as_array(np.fmin(ad, bd))
    if STATE.enabled and recording(input, other):
        return record(FminBackward0, data, (input, other), save=(input, other), args=(False,))
    return wrap(data)


# ---- nan_to_num ----
def _nan_to_num_vjp(ctx, g):
    x, = ctx.saved_tensors
    # NOTE: replaced elements (NaN, +-inf) are constants: their gradient is 0.
    return (g * x.isfinite(),)


NanToNumBackward0 = node_class("NanToNumBackward0", _nan_to_num_vjp, elementwise)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and
    the dtype's largest and lowest finite values)."""
    a = input._data
    if a.dtype.kind not in "fcV":
        return wrap(a.copy())
    data = np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)
    if STATE.enabled and recording(input):
        return record(NanToNumBackward0, data, (input,), save=(input,))
    return wrap(data)


# ==== registration =========================================================================

for _name in ("clamp", "clip", "clamp_min", "clamp_max", "where", "masked_fill", "maximum",
              "minimum", "fmax", "fmin", "nan_to_num"):
    register(globals()[_name], _name)


def _where_method(self, condition, other):
    """``Tensor.where(condition, y)``: ``where(condition, self, y)``."""
    return where(condition, self, other)


register(_where_method, function=False, method_name="where")
register_inplace(clamp, clamp_min, clamp_max, nan_to_num, aliases=(("clip_", clamp),))


def masked_fill_(self, mask, value):
    """In-place ``masked_fill``: the mask broadcasts to self (never self to the mask)."""
    check_inplace(self)
    if isinstance(mask, Tensor) and mask._data.shape != self._data.shape and \
            mask._data.dtype.kind == "b":
        if isinstance(value, Tensor) and value._data.ndim != 0:
            _value_dims_error(value)  # PyTorch checks the value first in place
        check_broadcast(self._data.shape, mask._data.shape)  # self is tensor a here
    if isinstance(mask, Tensor) and mask._data.dtype.kind == "b" and \
            internal_overlap(self._data):
        return _masked_fill_expanded(self, mask, value)
    return apply_inplace(self, masked_fill, mask, value)


EXPANDED_FILL_MESSAGE = (
    "Use of masked_fill_ on expanded tensors is deprecated. Please clone() the tensor before "
    "performing this operation. This also applies to advanced indexing e.g. tensor[mask] = "
    "scalar")


def _masked_fill_expanded(self, mask, value):
    """``masked_fill_`` on a tensor whose elements repeat (an expand): PyTorch only warns and
    writes ``value`` into every memory location that any masked position refers to. The mask
    is widened to those locations, so every alias of one location gets the same value."""
    import warnings

    warnings.warn(EXPANDED_FILL_MESSAGE, UserWarning, stacklevel=4)
    dst = self._data
    repeated = tuple(i for i, (st, n) in enumerate(zip(dst.strides, dst.shape))
                     if st == 0 and n > 1)
    m = np.broadcast_to(mask._data, dst.shape).any(axis=repeated, keepdims=True)
    host = isinstance(dst, np.ndarray)  # (a device array has no read-only flag to lift)
    if host:
        dst.flags.writeable = True
    try:
        return apply_inplace(self, masked_fill, wrap(np.broadcast_to(m, dst.shape)), value)
    finally:
        if host:
            dst.flags.writeable = False


register(masked_fill_, "masked_fill_", function=False)
# PyTorch also publishes these in-place variants as functions (``torch.exp_(x)``).
for _name in ("clamp_", "clamp_max_", "clamp_min_", "clip_", "nan_to_num_"):
    register(METHODS[_name], _name, method=False)
