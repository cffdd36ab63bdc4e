"""Triangular solves behind ``ember.linalg``: solve_triangular, cholesky_solve,
cholesky_inverse, and the older ``torch.triangular_solve``. The NumPy substitution itself
(``_tri_solve_data``), which the ``*_ex`` and LU solves also use, and the shared helpers live
in ``_linalg_base`` (imported here through ``decomposition``, which re-exports them).

Contract: PyTorch's signatures, named-tuple results, batching over leading dims (broadcast
between the two operands), dtypes and error messages. Forwards are vectorised NumPy
substitution (SciPy is not needed); backward rules are PyTorch's (FunctionsManual.cpp)
written in ember ops, so they differentiate again, with forward-mode rules.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ._jvp import out_zeros
from ._linalg_base import _contiguous, _xp
from ._registry import node_class, record, record_multi, recording, register, wrap
from .decomposition import (
    _check_matrix,
    _kernel_dtype,
    _mT,
    _result_type,
    _tri_solve_data,
    _warn_once,
    with_out,
)


# ---- solve_triangular / cholesky_solve / cholesky_inverse ----
def _tri_part(A, upper, unit):
    """The triangle of ``A`` the solve reads (strict when the diagonal is taken as ones)."""
    k = (1 if upper else -1) if unit else 0
    return A.triu(k) if upper else A.tril(k)


def _solve_triangular_vjp(ctx, g):
    A, X = ctx.saved_tensors
    upper, left, unit = ctx.args
    gB = linalg_solve_triangular(_mT(A), g, upper=not upper, left=left, unitriangular=unit)
    ga = None
    if ctx.next_functions[0][0] is not None:
        ga = -(gB @ _mT(X)) if left else -(_mT(X) @ gB)
        ga = _tri_part(ga, upper, unit)
    return ga, gB


def _solve_triangular_jvp(ctx, da, db):
    A, X = ctx.saved_tensors
    upper, left, unit = ctx.args
    rhs = None
    if da is not None:
        dt = _tri_part(da, upper, unit)
        rhs = -(dt @ X) if left else -(X @ dt)
    if db is not None:
        rhs = db if rhs is None else rhs + db
    return linalg_solve_triangular(A, rhs, upper=upper, left=left,
                                   unitriangular=unit).expand(ctx._meta[0][0])


LinalgSolveTriangularBackward0 = node_class("LinalgSolveTriangularBackward0",
                                            _solve_triangular_vjp, _solve_triangular_jvp)


def linalg_solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """The solution of ``A X = B`` (``X A = B`` when not ``left``) for triangular ``A``; only
    its ``upper`` or lower triangle is read (and not its diagonal when ``unitriangular``)."""
    a, b = A._data, B._data
    _kernel_dtype("triangular_solve_cpu", a)
    _check_matrix("linalg.solve_triangular", a)
    if b.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 "
                           "dimensions.")
    n = a.shape[-1]
    if (b.shape[-2] if left else b.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the "
                           f"equation {eq} ({n}x{n} and {b.shape[-2]}x{b.shape[-1]})")
    data = _tri_solve_data(a, b, upper, left, unitriangular).astype(a.dtype, copy=False)
    if STATE.enabled and recording(A, B):
        return record(LinalgSolveTriangularBackward0, data, (A, B), save=(A,), save_out=True,
                      args=(upper, left, unitriangular))
    return wrap(data)


def _cholesky_solve_vjp(ctx, g):
    L, X = ctx.saved_tensors
    upper = ctx.args[0]
    gB = cholesky_solve(g, L, upper)
    gL = None
    if ctx.next_functions[1][0] is not None:
        c = gB @ _mT(X)
        c = c + _mT(c)
        gL = -(L @ c) if upper else -(c @ L)
    return gB, gL


def _cholesky_solve_jvp(ctx, db, dl):
    L, X = ctx.saved_tensors
    upper = ctx.args[0]
    rhs = db
    if dl is not None:
        da = _mT(dl) @ L + _mT(L) @ dl if upper else dl @ _mT(L) + L @ _mT(dl)
        c = -(da @ X)
        rhs = c if rhs is None else rhs + c
    return cholesky_solve(rhs, L, upper).expand(ctx._meta[0][0])


CholeskySolveBackward0 = node_class("CholeskySolveBackward0", _cholesky_solve_vjp,
                                    _cholesky_solve_jvp)


def cholesky_solve(B, L, upper=False, *, out=None):
    """The solution of ``A X = B`` given the Cholesky factor ``L`` of ``A`` (``A = L L^T``, or
    ``U^T U`` when ``upper``)."""
    b, l_ = B._data, L._data
    _kernel_dtype("cholesky_solve_cpu", b)
    if b.ndim < 2 or l_.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {b.ndim} dimensions "
                           "instead" if b.ndim < 2 else f"u should have at least 2 dimensions, "
                           f"but has {l_.ndim} dimensions instead")
    if l_.shape[-1] != l_.shape[-2] or b.shape[-2] != l_.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is "
                           f"{l_.shape[-2]} by {l_.shape[-1]} but each b matrix is "
                           f"{b.shape[-2]} by {b.shape[-1]}")
    y = _tri_solve_data(l_, b, upper, True, False) if not upper else \
        _tri_solve_data(np.swapaxes(l_, -1, -2), b, False, True, False)
    data = _tri_solve_data(np.swapaxes(l_, -1, -2), y, True, True, False) if not upper else \
        _tri_solve_data(l_, y, True, True, False)
    data = data.astype(np.result_type(b.dtype, l_.dtype), copy=False)
    if STATE.enabled and recording(B, L):
        return record(CholeskySolveBackward0, data, (B, L), save=(L,), save_out=True,
                      args=(upper,))
    return wrap(data)


def _cholesky_inverse_vjp(ctx, g):
    L, out = ctx.saved_tensors
    upper = ctx.args[0]
    m = out @ g @ out
    m = m + _mT(m)
    return (-(L @ m) if upper else -(m @ L),)


def _cholesky_inverse_jvp(ctx, dl):
    L, out = ctx.saved_tensors
    upper = ctx.args[0]
    da = _mT(dl) @ L + _mT(L) @ dl if upper else dl @ _mT(L) + L @ _mT(dl)
    return -(out @ da @ out)


CholeskyInverseBackward0 = node_class("CholeskyInverseBackward0", _cholesky_inverse_vjp,
                                      _cholesky_inverse_jvp)


def cholesky_inverse(L, upper=False, *, out=None):
    """The inverse of ``A`` from its Cholesky factor (``A = L L^T``, or ``U^T U``)."""
    l_ = L._data
    _kernel_dtype("cholesky_inverse_out_cpu", l_)
    _check_matrix("cholesky_inverse", l_, float_only=False)
    eye = np.broadcast_to(_xp(l_).eye(l_.shape[-1], dtype=l_.dtype), l_.shape)
    lt = np.swapaxes(l_, -1, -2)
    if upper:
        data = _tri_solve_data(l_, _tri_solve_data(lt, eye, False, True, False), True, True,
                               False)
    else:
        data = _tri_solve_data(lt, _tri_solve_data(l_, eye, False, True, False), True, True,
                               False)
    data = data.astype(l_.dtype, copy=False)
    if STATE.enabled and recording(L):
        return record(CholeskyInverseBackward0, data, (L,), save=(L,), save_out=True,
                      args=(upper,))
    return wrap(data)


# ---- triangular_solve (older form) ----
_triangular_solve_type = _result_type("triangular_solve", ("solution", "cloned_coefficient"))


def _triangular_solve_vjp(ctx, gX, gM):
    A, X = ctx.saved_tensors
    upper, transpose, unit = ctx.args
    gb = ga = None
    if gX is not None:
        opA = _mT(A) if transpose else A
        gb = linalg_solve_triangular(_mT(opA), gX, upper=(upper == transpose),
                                     unitriangular=unit)
        if ctx.next_functions[1][0] is not None:
            ga = -(X @ _mT(gb)) if transpose else -(gb @ _mT(X))
            ga = _tri_part(ga, upper, unit)
    if gM is not None and ctx.next_functions[1][0] is not None:
        ga = gM if ga is None else ga + gM
    return gb, ga


def _triangular_solve_jvp(ctx, db, da):
    A, X = ctx.saved_tensors
    upper, transpose, unit = ctx.args
    rhs = db
    if da is not None:
        dt = _tri_part(da, upper, unit)
        c = -((_mT(dt) if transpose else dt) @ X)
        rhs = c if rhs is None else rhs + c
    opA = _mT(A) if transpose else A
    dx = linalg_solve_triangular(opA, rhs, upper=(upper != transpose), unitriangular=unit)
    dm = da if da is not None else out_zeros(ctx, 1)
    return dx.expand(ctx._meta[0][0]), dm.expand(ctx._meta[1][0])


TriangularSolveBackward0 = node_class("TriangularSolveBackward0", _triangular_solve_vjp,
                                      _triangular_solve_jvp)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """``torch.triangular_solve``: ``(X, A.clone())`` with ``op(A) X = b`` for triangular
    ``A`` (``op(A) = A^T`` when ``transpose``)."""
    a, bb = A._data, b._data
    if a.ndim < 2 or bb.ndim < 2:
        raise RuntimeError("torch.triangular_solve: Expected b to have at least 2 dimensions, but "
                           f"it has {bb.ndim} dimensions instead" if bb.ndim < 2 else
                           "torch.triangular_solve: Expected A to have at least 2 dimensions, but "
                           f"it has {a.ndim} dimensions instead")
    if a.dtype != bb.dtype:  # NOTE: PyTorch does not promote here (linalg.solve_triangular does)
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{b.dtype.scalar_name} and A of type {A.dtype.scalar_name} instead.")
    # NOTE: PyTorch checks the arguments before it warns
    _warn_once(
        "triangular_solve",
        "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand "
        "will be removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its "
        "arguments reversed and does not return a copy of one of the inputs.\nX = "
        "torch.triangular_solve(B, A).solution\nshould be replaced with\nX = "
        "torch.linalg.solve_triangular(A, B).")
    _kernel_dtype("triangular_solve_cpu", a)
    op = np.swapaxes(a, -1, -2) if transpose else a
    data = _tri_solve_data(op, bb, upper != transpose, True, unitriangular)
    data = _contiguous(data.astype(np.result_type(a.dtype, bb.dtype), copy=False))
    clone = np.broadcast_to(a, data.shape[:-2] + a.shape[-2:]).copy()
    if STATE.enabled and recording(b, A):
        outs = record_multi(TriangularSolveBackward0, (data, clone), (b, A), save=(A,),
                            args=(upper, transpose, unitriangular))
        outs[0]._grad_fn.save_output(outs[0], 0)
        return _triangular_solve_type(*outs)
    return _triangular_solve_type(wrap(data), wrap(clone))


# NOTE: each takes ``out=`` through ``with_out``, as the ops in ``decomposition``.
for _name in ("linalg_solve_triangular", "cholesky_solve", "cholesky_inverse",
              "triangular_solve"):
    globals()[_name] = with_out(globals()[_name], None)

for _name, _fn in (("cholesky_solve", cholesky_solve), ("cholesky_inverse", cholesky_inverse),
                   ("triangular_solve", triangular_solve)):
    register(_fn, _name)
