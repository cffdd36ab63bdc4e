"""The operand handling every elementwise op shares (the pointwise family, and logic.py,
select.py, special.py... import it): operands that make NumPy compute PyTorch's result dtype
(Python scalars are weak), the tensor-first order of ``ember.add(2, x)``, PyTorch's broadcast
error, the operands of float-valued binary ops, the check that both operands are tensors, and
the node PyTorch records for an op it cannot differentiate (``not_implemented_node``); the
``out=`` path of the elementwise ops (``write_out``) lives in ``_out`` and is re-exported here.
No op is defined or registered here.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from ._out import write_out  # noqa: F401  (re-exported: pointwise and arithmetic import it here)
from ._registry import node_class, view_requires_grad

_SCALARS = (bool, int, float, complex)


# ---- operands -----------------------------------------------------------------------------

def _scalar(b):
    """A Python number for ``b`` (NumPy scalars count as Python scalars, as in PyTorch)."""
    if isinstance(b, np.generic):
        return b.item()
    if isinstance(b, _SCALARS):
        return b
    return None


def _operands(a, b):
    """Arrays (or a Python scalar) for ``a op b`` that make NumPy compute PyTorch's dtype.

    Returns ``(a_array, b_array_or_scalar, result_np_dtype)``.
    """
    ad = a._data
    tb = type(b)
    if tb is float or tb is int:  # the most common scalar case first: weak, same category
        dt = ad.dtype
        if dt.kind in "fc":
            return ad, b, dt
    elif tb is Tensor or isinstance(b, Tensor):
        bd = b._data
        if ad.shape != bd.shape:
            check_broadcast(ad.shape, bd.shape)
        if ad.dtype is bd.dtype:
            return ad, bd, ad.dtype
        rt = _dt.binary_result_np(ad, bd)
        if ad.dtype != rt:
            ad = ad.astype(rt)
        if bd.dtype != rt:
            bd = bd.astype(rt)
        return ad, bd, rt
    s = _scalar(b)
    if s is None:
        raise TypeError(f"unsupported operand type(s): 'Tensor' and '{tb.__name__}'")
    rt = _dt.binary_result_np(ad, s)
    if ad.dtype != rt:
        ad = ad.astype(rt)
    if rt.kind in "iub" or rt.kind == "V":
        # a Python int out of the range of a small integer dtype wraps around, as in PyTorch
        # (a NumPy scalar, not a 0-d array: it mixes with any array library's arrays)
        s = np.array(s).astype(rt)[()]
    return ad, s, rt


def check_broadcast(sa, sb):
    """Raise PyTorch's message when shapes ``sa`` and ``sb`` do not broadcast."""
    for i in range(1, min(len(sa), len(sb)) + 1):
        x, y = sa[-i], sb[-i]
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {max(len(sa), len(sb)) - i}")


def _tensor_first(a, b):
    """(tensor, other, swapped): ops may be called as ``ember.add(2, x)``."""
    if isinstance(a, Tensor):
        return a, b
    if not isinstance(a, (bool, int, float, complex, np.generic)):
        raise TypeError("the first operand is neither a tensor nor a number")  # (_checks)
    if isinstance(b, Tensor):
        from ._registry import to_tensor

        return to_tensor(a, like=b), b
    from ._registry import to_tensor

    return to_tensor(a), b


def _rg(t):
    """Whether ``t`` is a tensor whose gradient an op being recorded must compute."""
    if type(t) is not Tensor and not isinstance(t, Tensor):
        return False
    return t._requires_grad or (t._view is not None and view_requires_grad(t))


def _fix_dtype(out, rt):
    if out.dtype != rt:
        return out.astype(rt)
    return out


def not_implemented_node(op_name):
    """The node PyTorch records for an op without a derivative
    (``torch::autograd::NotImplemented``): its backward raises PyTorch's error."""
    def rule(ctx, *grads):
        raise RuntimeError(f"derivative for aten::{op_name} is not implemented")
    return node_class("NotImplemented", rule, rule, display_name="torch::autograd::NotImplemented")


def _need(ctx, i):
    """Whether input edge ``i`` of ``ctx`` wants a gradient."""
    return len(ctx.next_functions) > i and ctx.next_functions[i][0] is not None


def _float_operands(name, input, other, ints=True):
    """``(input, other, a, b, dtype)`` for a float-valued binary op (``ints``: integer
    operands are promoted to the default float dtype instead of raising)."""
    if type(input) is not Tensor:
        input, other = _tensor_first(input, other)
    ad, bd, rt = _operands(input, other)
    if rt.kind in "iub":
        if not ints:
            raise NotImplementedError(
                f"\"{name}_cpu\" not implemented for '{_dt.from_np(rt).scalar_name}'")
        rt = _dt.get_default_dtype().np
        ad = ad.astype(rt)
        # (an array of any library is cast; a NumPy or Python number becomes a float)
        bd = float(bd) if isinstance(bd, np.generic) or not hasattr(bd, "astype") else \
            bd.astype(rt)
    return input, other, ad, bd, rt


def require_tensors(name, input, other, other_name="other"):
    """PyTorch's TypeError for ops whose operands must both be tensors (atan2, maximum...)."""
    for arg, pos, label in ((input, 1, "input"), (other, 2, other_name)):
        if not isinstance(arg, Tensor):
            from ._checks import type_name

            raise TypeError(f"{name}(): argument '{label}' (position {pos}) must be Tensor, not "
                            f"{type_name(arg)}")


def _result_np(*tensors):
    """PyTorch's result dtype of an op over several tensors (0-dim ones count less)."""
    dims = [t.dtype for t in tensors if t._data.ndim]
    zeros = [t.dtype for t in tensors if not t._data.ndim]
    return _dt.result_type_of(dims, zeros, []).np
