"""PyTorch's ``out=`` argument for ops: ``supports_out(name)`` wraps an op so its result is
written into a given tensor.

Contract: as PyTorch's out= variants: not differentiable (PyTorch's error when an argument or out
requires grad); ``out`` is resized, with PyTorch's deprecation warning when it had elements; the
result is cast into out's dtype unless that loses its category, and a few ops demand out's dtype
exactly, each with PyTorch's message. shape.py re-exports ``supports_out``.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ..tensor import Tensor


def supports_out(name):
    """Give an op PyTorch's ``out=`` argument: the result is written into ``out`` (resized,
    with PyTorch's warning, when it has elements and the wrong shape); not differentiable."""
    import functools

    def wrap_op(fn):
        @functools.wraps(fn)
        def op(*args, out=None, **kwargs):
            if out is None:
                return fn(*args, **kwargs)
            return _write_out(name, fn(*args, **kwargs), out, args)
        return op
    return wrap_op


# ops whose out= must have the result's dtype exactly, with PyTorch's message for each
_OUT_SAME_DTYPE = {
    "gather": "Expected out tensor to have dtype {src_c}, but got {dst_c} instead",
    "take_along_dim": "Expected out tensor to have dtype {src_c}, but got {dst_c} instead",
    "index_select": "{name}(): self and result must have the same scalar type",
    "masked_select": "{name}(): self and result must have the same scalar type",
    "nonzero": "nonzero: Expected out tensor to have scalar type Long but got scalar type{dst}",
}
_C_NAMES = {"float64": "double", "float32": "float", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool", "float16": "c10::Half", "complex64": "c10::complex<float>",
            "complex128": "c10::complex<double>"}


def _write_out(name, result, out, args):
    from .. import dtypes as _dt

    # shape.py re-exports this module, so its list formatter comes in at call time
    from .shape import _fmt_list

    def requires_grad(a):
        if isinstance(a, Tensor):
            return a._requires_grad
        return isinstance(a, (list, tuple)) and any(requires_grad(t) for t in a)

    if STATE.enabled and (requires_grad(args) or out._requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if isinstance(result, tuple):
        raise RuntimeError(f"{name}(): out= is not supported for tuple results here")
    src, dst = _dt.from_np(result._data.dtype), _dt.from_np(out._data.dtype)
    if src is not dst and name in _OUT_SAME_DTYPE:
        raise RuntimeError(_OUT_SAME_DTYPE[name].format(
            name=name, src=src.scalar_name, dst=dst.scalar_name,
            src_c=_C_NAMES.get(result._data.dtype.name, src.scalar_name),
            dst_c=_C_NAMES.get(out._data.dtype.name, dst.scalar_name)))
    shape = result._data.shape
    if out._data.shape != shape:
        if out._data.size:
            import warnings

            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{_fmt_list(out._data.shape)}, which does not match the required output shape "
                f"{_fmt_list(shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements with "
                "t.resize_(0).", UserWarning, stacklevel=3)
        out._data = np.empty(shape, dtype=out._data.dtype)
    # NOTE: PyTorch resizes out (and warns) before it finds the dtype can't hold the result
    if src._category > dst._category:
        if name in ("cat", "stack", "hstack", "vstack", "dstack", "column_stack"):
            raise TypeError(f"torch.cat(): input types can't be cast to the desired output "
                            f"type {dst.scalar_name}")
        raise RuntimeError(f"result type {src.scalar_name} can't be cast to the desired output "
                           f"type {dst.scalar_name}")
    np.copyto(out._data, result._data, casting="unsafe")
    if out._vc is not None:
        out._vc[0] += 1
    return out
