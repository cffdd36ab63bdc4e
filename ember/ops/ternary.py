"""The ternary ops of the pointwise family: lerp, addcmul, addcdiv. pointwise.py publishes them.

Contract: PyTorch's dtype checks and messages, broadcasting of all three operands, half types
computed in float32 and rounded once (NOTE [half scalars] in arithmetic.py), float32 results
fused as PyTorch's kernels fuse them (NOTE [fused alpha] in arithmetic.py), nodes named like
PyTorch's. Rules follow NOTE [rules are ember ops] in _registry.py.
"""

from __future__ import annotations

import numpy as np

from .._fma import fma32, fused
from ..autograd.grad_mode import STATE
from ..tensor import Tensor, as_array, zeros_as
from ._jvp import _fit, elementwise, out_zeros
from ._registry import node_class, record, recording, wrap
from .arithmetic import _F32
from .operands import _fix_dtype, _need, _result_np, _rg, _scalar, check_broadcast


def _check_same_dtype(input, other, what):
    if other._data.dtype != input._data.dtype:
        raise RuntimeError(f"expected dtype {input.dtype.scalar_name.lower()} for `{what}` but "
                           f"got dtype {other.dtype.scalar_name.lower()}")


def _broadcast3(*tensors):
    shapes = [t._data.shape for t in tensors if isinstance(t, Tensor)]
    out = shapes[0]
    for s in shapes[1:]:
        check_broadcast(out, s)
        out = np.broadcast_shapes(out, s)
    return out


# ---- lerp ----
def _lerp_vjp(ctx, g):
    if len(ctx.next_functions) == 2:  # a number weight
        w = ctx.args[0]
        return (g * (1 - w) if _need(ctx, 0) else None, g * w if _need(ctx, 1) else None)
    x, end, w = ctx.saved_tensors
    return (g * (1 - w) if _need(ctx, 0) else None, g * w if _need(ctx, 1) else None,
            g * (end - x) if _need(ctx, 2) else None)


def _lerp_jvp(ctx, dx, dend, dw=None):
    # PyTorch's forward rule is lerp itself on the tangents (plus the weight's term), so an
    # infinite tangent meets the other end's zero as in the kernel (-inf + w * (0 + inf) is
    # NaN), where the sum of the elementwise terms stays -inf (fuzz seed 2042 program 14344)
    if dx is None and dend is None and dw is None:
        return out_zeros(ctx)
    if len(ctx.next_functions) == 2:
        w = ctx.args[0]
    else:
        x, end, w = ctx.saved_tensors
    total = None
    if dx is not None or dend is not None:
        zero = wrap(zeros_as((dx if dx is not None else dend)._data, shape=()))
        total = lerp(zero if dx is None else dx, zero if dend is None else dend, w)
    if dw is not None:
        c = dw * (end - x)
        total = c if total is None else total + c
    return _fit(ctx, total)


LerpBackward0 = node_class("LerpBackward0", _lerp_vjp, _lerp_jvp)
LerpBackward1 = node_class("LerpBackward1", _lerp_vjp, _lerp_jvp)


def lerp(input, end, weight):
    """``input + weight * (end - input)`` (``weight`` a number or a tensor)."""
    _check_same_dtype(input, end, "end")
    a, b = input._data, end._data
    wt = isinstance(weight, Tensor)
    if wt:
        _check_same_dtype(input, weight, "weight")
        _broadcast3(input, end, weight)
        w = weight._data
    else:
        _broadcast3(input, end)
        w = _scalar(weight)
    dtype = a.dtype
    if dtype.kind not in "fcV":  # ("V": bfloat16)
        kernel = "lerp_kernel_tensor" if wt else "lerp_kernel_scalar"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{input.dtype.scalar_name}'")
    if dtype.itemsize == 2:
        # NOTE: float16 and bfloat16 are computed in float32 and rounded once, as PyTorch does
        a, b = a.astype(np.float32), b.astype(np.float32)
        w = w.astype(np.float32) if wt else w
    # NOTE: PyTorch's two-sided form: exact at both ends (w = 0 gives input, w = 1 gives end).
    diff = b - a
    if a.dtype == _F32 and fused():  # NOTE [fused alpha] (half types too, in float32)
        w32 = w if wt else np.float32(w)  # (the node keeps the number, as before)
        data = np.where(np.abs(w32) < 0.5, fma32(w32, diff, a),
                        fma32(w32 - np.float32(1), diff, b))
        data = data.astype(dtype, copy=False)
    else:
        data = np.where(np.abs(w) < 0.5, a + w * diff, b - diff * (1 - w)).astype(dtype,
                                                                                 copy=False)
    if STATE.enabled:
        if wt and recording(input, end, weight):
            return record(LerpBackward1, data, (input, end, weight), save=(input, end, weight))
        if not wt and recording(input, end):
            return record(LerpBackward0, data, (input, end), args=(w,))
    return wrap(data)


# ---- addcmul / addcdiv ----
def _addcmul_vjp(ctx, g):
    t1, t2 = ctx.saved_tensors
    v = ctx.args[0]
    gv = g * v if v != 1 else g
    return (g if _need(ctx, 0) else None, gv * t2 if _need(ctx, 1) else None,
            gv * t1 if _need(ctx, 2) else None)


def _addcdiv_vjp(ctx, g):
    t1, t2 = ctx.saved_tensors
    v = ctx.args[0]
    gv = g * v if v != 1 else g
    return (g if _need(ctx, 0) else None, gv / t2 if _need(ctx, 1) else None,
            -gv * t1 / (t2 * t2) if _need(ctx, 2) else None)


AddcmulBackward0 = node_class("AddcmulBackward0", _addcmul_vjp, elementwise)
AddcdivBackward0 = node_class("AddcdivBackward0", _addcdiv_vjp, elementwise)


def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    _broadcast3(input, tensor1, tensor2)
    rt = _result_np(input, tensor1, tensor2)
    if rt.kind == "b":  # (PyTorch's kernel has no bool instance)
        raise NotImplementedError("\"addcmul_cpu_out\" not implemented for 'Bool'")
    # NOTE [half scalars]: half types in float32, rounded once
    wt = _F32 if rt.itemsize == 2 and rt.kind in "fV" else rt
    a, b, c = (t._data.astype(wt, copy=False) for t in (input, tensor1, tensor2))
    if rt.kind in "iu" and isinstance(value, float):
        value = int(value)  # (PyTorch casts the value to the integer type: 0.5 adds nothing)
    if wt == _F32 and fused():  # NOTE [fused alpha]: (value * t1) * t2 + input, one rounding
        data = _fix_dtype(fma32(np.float32(value) * b, c, a), rt)
    else:
        data = _fix_dtype(as_array(a + (value if wt is rt else np.float32(value)) * (b * c)),
                          rt)
    if STATE.enabled and recording(input, tensor1, tensor2):
        return record(AddcmulBackward0, data, (input, tensor1, tensor2),  # (as mul's saves)
                      save=(tensor1 if _rg(tensor2) else None,
                            tensor2 if _rg(tensor1) else None), args=(_scalar(value),))
    return wrap(data)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2``."""
    if tensor1._data.dtype.kind in "iub" and tensor2._data.dtype.kind in "iub":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
            ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) "
            "for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    _broadcast3(input, tensor1, tensor2)
    rt = _result_np(input, tensor1, tensor2)
    if rt.kind == "b":  # (PyTorch's kernel has no bool instance)
        raise NotImplementedError("\"addcmul_cpu_out\" not implemented for 'Bool'")
    # NOTE [half scalars]: half types in float32, rounded once
    wt = _F32 if rt.itemsize == 2 and rt.kind in "fV" else rt
    a, b, c = (t._data.astype(wt, copy=False) for t in (input, tensor1, tensor2))
    # NOTE: (value * t1) / t2, PyTorch's order (value * (t1 / t2) differed in 11% of results)
    data = _fix_dtype(as_array(a + ((value if wt is rt else np.float32(value)) * b) / c), rt)
    if STATE.enabled and recording(input, tensor1, tensor2):
        return record(AddcdivBackward0, data, (input, tensor1, tensor2),  # (as div's saves)
                      save=(tensor1 if _rg(tensor2) else None,
                            tensor2 if _rg(tensor1) or _rg(tensor2) else None),
                      args=(_scalar(value),))
    return wrap(data)
