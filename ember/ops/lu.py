"""LU ops behind ``ember.linalg``: lu, lu_factor, lu_factor_ex, lu_solve, lu_unpack, and the
older ``torch.lu`` / ``torch.lu_solve`` spellings. The batched NumPy LU itself (``_lu_data``
and its unpacking), which the ``*_ex`` solves also use, and the shared helpers live in
``_linalg_base`` (imported here through ``decomposition``, which re-exports them).

Contract: PyTorch's signatures, named-tuple results, batching over leading dims, 1-based int32
pivots and error messages. Forwards are vectorised NumPy (partial pivoting as LAPACK getrf;
SciPy is not needed); backward rules are PyTorch's (linalg_lu_backward, lu_solve's and
lu_unpack's) written in ember ops, so they differentiate again, with forward-mode rules.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ._jvp import out_zeros
from ._linalg_base import _const, _contiguous
from ._registry import node_class, record, record_multi, recording, register, wrap
from .decomposition import (
    _check_matrix,
    _kernel_dtype,
    _lu_data,
    _mT,
    _perm_matrix,
    _result_type,
    _tri_solve_data,
    _unpack_data,
    _warn_once,
    with_out,
)
from .triangular import linalg_solve_triangular

# ---- LU: lu_factor, lu, lu_unpack, lu_solve ----
_lu_factor_type = _result_type("linalg_lu_factor", ("LU", "pivots"))
_lu_factor_ex_type = _result_type("linalg_lu_factor_ex", ("LU", "pivots", "info"))
_lu_type = _result_type("linalg_lu", ("P", "L", "U"))
_lu_unpack_type = _result_type("lu_unpack", ("P", "L", "U"))


def _lu_grad(P, L, U, gL, gU):
    """PyTorch's linalg_lu_backward: the gradient of A = P L U from those of L and U."""
    from .join import cat

    m, k = L._data.shape[-2:]
    n = U._data.shape[-1]
    if m == n:
        ga = None
        if gL is not None:
            ga = (_mT(L) @ gL).tril(-1)
        if gU is not None:
            c = (gU @ _mT(U)).triu()
            ga = c if ga is None else ga + c
        ga = linalg_solve_triangular(_mT(U), ga, upper=False, left=False)
        ga = linalg_solve_triangular(_mT(L), ga, upper=True, unitriangular=True)
    elif m < n:
        u1, u2 = U.narrow(-1, 0, k), U.narrow(-1, k, n - k)
        ga = _mT(L) @ gL if gL is not None else None
        if gU is not None:
            c = gU.triu() @ _mT(U)
            ga = -c if ga is None else ga - c
        ga = linalg_solve_triangular(_mT(u1), ga.tril(-1), upper=False, left=False)
        if gU is not None:
            ga = cat([ga + gU.narrow(-1, 0, k).triu(), gU.narrow(-1, k, n - k)], -1)
        ga = linalg_solve_triangular(_mT(L), ga, upper=True, unitriangular=True)
        if gU is None:
            ga = cat([ga, u2 * 0], -1)
    else:
        l1, l2 = L.narrow(-2, 0, k), L.narrow(-2, k, m - k)
        ga = gU @ _mT(U) if gU is not None else None
        if gL is not None:
            c = _mT(L) @ gL.tril(-1)
            ga = -c if ga is None else ga - c
        ga = linalg_solve_triangular(_mT(l1), ga.triu(), upper=True, unitriangular=True)
        if gL is not None:
            ga = cat([ga + gL.narrow(-2, 0, k).tril(-1), gL.narrow(-2, k, m - k)], -2)
        ga = linalg_solve_triangular(_mT(U), ga, upper=False, left=False)
        if gL is None:
            ga = cat([ga, l2 * 0], -2)
    return P @ ga


def _lu_tangent(P, L, U, da):
    """Tangents of L and U for A = P L U (square, tall or wide)."""
    from .join import cat

    m, k = L._data.shape[-2:]
    n = U._data.shape[-1]
    pa = _mT(P) @ da
    l1, u1 = L.narrow(-2, 0, k), U.narrow(-1, 0, k)
    x = linalg_solve_triangular(
        l1, linalg_solve_triangular(u1, pa.narrow(-2, 0, k).narrow(-1, 0, k), upper=True,
                                    left=False), upper=False, unitriangular=True)
    dl1 = l1 @ x.tril(-1)
    du1 = x.triu() @ u1
    dl, du = dl1, du1
    if m > k:
        dl2 = linalg_solve_triangular(u1, pa.narrow(-2, k, m - k) - L.narrow(-2, k, m - k) @ du1,
                                      upper=True, left=False)
        dl = cat([dl1, dl2], -2)
    if n > k:
        du2 = linalg_solve_triangular(l1, pa.narrow(-1, k, n - k) - dl1 @ U.narrow(-1, k, n - k),
                                      upper=False, unitriangular=True)
        du = cat([du1, du2], -1)
    return dl, du


def _lu_vjp(ctx, gP, gL, gU):
    P, L, U = ctx.saved_tensors
    return (_lu_grad(P, L, U, gL, gU),)


def _lu_jvp(ctx, da):
    P, L, U = ctx.saved_tensors
    dl, du = _lu_tangent(P, L, U, da)
    return out_zeros(ctx, 0), dl, du


LinalgLuBackward0 = node_class("LinalgLuBackward0", _lu_vjp, _lu_jvp)


def _check_lu_input(name, a):
    _kernel_dtype("lu_cpu", a)
    if a.ndim < 2:
        raise RuntimeError(f"torch.lu_factor: Expected tensor with 2 or more dimensions. Got "
                           f"size: {list(a.shape)} instead")
    _check_matrix(name, a, square=False, kernel="lu_cpu")


def linalg_lu(A, *, pivot=True, out=None):
    """``(P, L, U)`` with ``A = P L U``: P a permutation, L unit lower trapezoidal (m x k), U
    upper trapezoidal (k x n)."""
    a = A._data
    _check_lu_input("linalg.lu", a)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    lu, piv, _ = _lu_data(a)
    L, U = _unpack_data(lu)
    P = _perm_matrix(piv, a.shape[-2], a.dtype)
    datas = (P, L, U)
    if STATE.enabled and recording(A):
        outs = record_multi(LinalgLuBackward0, datas, (A,), differentiable=(False, True, True))
        node = outs[1]._grad_fn
        node.save(outs[0])
        node.save_output(outs[1], 1)
        node.save_output(outs[2], 2)
        return _lu_type(*outs)
    return _lu_type(*(wrap(d) for d in datas))


def _pack(dl, du):
    """The packed-LU form of tangents/gradients of L and U (strict lower part of L + U)."""
    from .join import cat

    m, k = dl._data.shape[-2:]
    n = du._data.shape[-1]
    low = dl.tril(-1)
    up = du.triu()
    if m > k:
        up = cat([up, low.narrow(-2, k, m - k) * 0], -2)
    if n > k:
        low = cat([low, up.narrow(-1, k, n - k) * 0], -1)
    return low + up


def _lu_factor_vjp(ctx, gLU, gpiv=None, ginfo=None):
    P, LU = ctx.saved_tensors
    L, U = _unpack_tensor(LU, True), _unpack_tensor(LU, False)
    k = L._data.shape[-1]
    gL = gLU.narrow(-1, 0, k).tril(-1)
    gU = gLU.narrow(-2, 0, k).triu()
    return (_lu_grad(P, L, U, gL, gU),)


def _lu_factor_jvp(ctx, da):
    P, LU = ctx.saved_tensors
    L, U = _unpack_tensor(LU, True), _unpack_tensor(LU, False)
    dl, du = _lu_tangent(P, L, U, da)
    outs = [_pack(dl, du)] + [out_zeros(ctx, i) for i in range(1, len(ctx._meta))]
    return tuple(outs)


LinalgLuFactorExBackward0 = node_class("LinalgLuFactorExBackward0", _lu_factor_vjp,
                                       _lu_factor_jvp)


def _lu_factor(A, name, with_info):
    a = A._data
    _check_lu_input(name, a)
    lu, piv, info = _lu_data(a)
    if not with_info and np.any(info):
        k = int(info.reshape(-1)[np.argmax(info.reshape(-1) > 0)])
        raise RuntimeError(
            f"torch.linalg.lu_factor: U[{k},{k}] is zero and using it on lu_solve would result "
            "in a division by zero. If you still want to perform the factorization, consider "
            "calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
    datas = (lu, piv, info) if with_info else (lu, piv)
    if STATE.enabled and recording(A):
        outs = record_multi(LinalgLuFactorExBackward0, datas, (A,),
                            save=(wrap(_perm_matrix(piv, a.shape[-2], a.dtype)),))
        outs[0]._grad_fn.save_output(outs[0], 0)
        return outs
    return [wrap(d) for d in datas]


def _unpack_tensor(lu, lower):
    """L (unit lower) or U (upper) of a packed LU tensor, in ember ops."""
    m, n = lu._data.shape[-2:]
    k = min(m, n)
    if lower:
        return lu.narrow(-1, 0, k).tril(-1) + _const(lu, lambda xp: xp.eye(m, k,
                                                                          dtype=lu._data.dtype))
    return lu.narrow(-2, 0, k).triu()


def linalg_lu_factor(A, *, pivot=True, out=None):
    """``(LU, pivots)``: the packed LU factorisation (``lu_solve``'s input)."""
    return _lu_factor_type(*_lu_factor(A, "linalg.lu_factor", False))


def linalg_lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    """``(LU, pivots, info)``: ``lu_factor`` with LAPACK's status instead of an error."""
    return _lu_factor_ex_type(*_lu_factor(A, "linalg.lu_factor_ex", True))


def _lu_unpack_vjp(ctx, gP, gL, gU):
    if gL is None:
        gL = out_zeros(ctx, 1)
    if gU is None:
        gU = out_zeros(ctx, 2)
    return (_pack(gL, gU),)


def _lu_unpack_jvp(ctx, dlu):
    return out_zeros(ctx, 0), _unpack_tensor(dlu, True) - _const(
        dlu, lambda xp: xp.eye(*ctx._meta[1][0][-2:], dtype=ctx._meta[1][1])), \
        _unpack_tensor(dlu, False)


LuUnpackBackward0 = node_class("LuUnpackBackward0", _lu_unpack_vjp, _lu_unpack_jvp)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """``(P, L, U)`` from a packed LU factorisation and its pivots."""
    lu = LU_data._data
    m, n = lu.shape[-2:]
    L, U = _unpack_data(lu)
    P = _perm_matrix(LU_pivots._data, m, lu.dtype)
    if STATE.enabled and recording(LU_data):
        outs = record_multi(LuUnpackBackward0, (P, L, U), (LU_data,),
                            differentiable=(False, True, True), args=(m, n))
        return _lu_unpack_type(*outs)
    return _lu_unpack_type(wrap(P), wrap(L), wrap(U))


def _lu_solve_vjp(ctx, g):
    LU, X = ctx.saved_tensors
    piv, left, adjoint = ctx.args
    gB = linalg_lu_solve(LU, piv, g, left=left, adjoint=not adjoint)
    gLU = None
    if ctx.next_functions[0][0] is not None:
        if left:
            ga = -(X @ _mT(gB)) if adjoint else -(gB @ _mT(X))
        else:
            ga = -(_mT(gB) @ X) if adjoint else -(_mT(X) @ gB)
        P = wrap(_perm_matrix(piv._data, LU._data.shape[-1], LU._data.dtype))
        L, U = _unpack_tensor(LU, True), _unpack_tensor(LU, False)
        pga = _mT(P) @ ga
        gLU = (_mT(L) @ pga).triu() + (pga @ _mT(U)).tril(-1)
    return gLU, gB


def _lu_solve_jvp(ctx, dlu, db):
    LU, X = ctx.saved_tensors
    piv, left, adjoint = ctx.args
    rhs = db
    if dlu is not None:
        P = wrap(_perm_matrix(piv._data, LU._data.shape[-1], LU._data.dtype))
        L, U = _unpack_tensor(LU, True), _unpack_tensor(LU, False)
        da = P @ (dlu.tril(-1) @ U + L @ dlu.triu())
        da = _mT(da) if adjoint else da
        c = -(da @ X) if left else -(X @ da)
        rhs = c if rhs is None else rhs + c
    return linalg_lu_solve(LU, piv, rhs, left=left, adjoint=adjoint).expand(ctx._meta[0][0])


LinalgLuSolveBackward0 = node_class("LinalgLuSolveBackward0", _lu_solve_vjp, _lu_solve_jvp)


def linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """The solution of ``A X = B`` (``X A = B`` when not ``left``; ``A^T`` when ``adjoint``)
    given ``lu_factor(A)``."""
    lu, b = LU._data, B._data
    n = lu.shape[-1]
    if b.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 "
                           "dimensions.")
    if (b.shape[-2] if left else b.shape[-1]) != n:
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and "
                           f"{b.shape[-2]}x{b.shape[-1]})")
    if lu.size and b.size:
        _kernel_dtype("linalg.lu_solve_cpu", lu)
    L, U = _unpack_data(lu)
    P = _perm_matrix(pivots._data, n, lu.dtype)
    if not adjoint:
        if left:
            y = _tri_solve_data(L, np.swapaxes(P, -1, -2) @ b, False, True, True)
            data = _tri_solve_data(U, y, True, True, False)
        else:
            y = _tri_solve_data(U, b, True, False, False)
            data = _tri_solve_data(L, y, False, False, True) @ np.swapaxes(P, -1, -2)
    else:
        lt, ut = np.swapaxes(L, -1, -2), np.swapaxes(U, -1, -2)
        if left:
            y = _tri_solve_data(ut, b, False, True, False)
            data = P @ _tri_solve_data(lt, y, True, True, True)
        else:
            y = _tri_solve_data(lt, b @ P, True, False, True)
            data = _tri_solve_data(ut, y, False, False, False)
    data = _contiguous(data.astype(np.result_type(lu.dtype, b.dtype), copy=False))
    if STATE.enabled and recording(LU, B):
        return record(LinalgLuSolveBackward0, data, (LU, B), save=(LU,), save_out=True,
                      args=(pivots, left, adjoint))
    return wrap(data)


# ---- older torch.* forms ----
_lu_with_info_type = _result_type("_lu_with_info", ("LU", "pivots", "infos"))


def lu(A, pivot=True, get_infos=False, out=None):
    """``torch.lu``: ``(LU, pivots)`` (and ``infos`` with ``get_infos``) as ``lu_factor``."""
    _warn_once(
        "lu",
        "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex "
        "and will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, "
        "compute_pivots)\nshould be replaced with\nLU, pivots = torch.linalg.lu_factor(A, "
        "compute_pivots)\nand\nLU, pivots, info = torch.lu(A, compute_pivots, "
        "get_infos=True)\nshould be replaced with\nLU, pivots, info = "
        "torch.linalg.lu_factor_ex(A, compute_pivots)")
    lu_, piv, info = linalg_lu_factor_ex(A, pivot=pivot)
    return _lu_with_info_type(lu_, piv, info) if get_infos else (lu_, piv)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """``torch.lu_solve``: ``linalg.lu_solve(LU_data, LU_pivots, b)``."""
    _warn_once(
        "lu_solve",
        "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in "
        "a future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments "
        "reversed.\nX = torch.lu_solve(B, LU, pivots)\nshould be replaced with\nX = "
        "torch.linalg.lu_solve(LU, pivots, B)")
    return linalg_lu_solve(LU_data, LU_pivots, b)


# NOTE: each takes ``out=`` through ``with_out``, as the ops in ``decomposition``.
_OUT_NAMES = {  # the aten op PyTorch's out= error names
    "linalg_lu": None, "linalg_lu_factor": "linalg_lu_factor_ex", "linalg_lu_factor_ex": None,
    "lu_unpack": None, "linalg_lu_solve": None, "lu": "linalg_lu_factor_ex",
    "lu_solve": "linalg_lu_solve",
}
for _name, _out_name in _OUT_NAMES.items():
    globals()[_name] = with_out(globals()[_name], _out_name)

register(lu_unpack, "lu_unpack", method=False)
register(lu, "lu")
register(lu_solve, "lu_solve")
