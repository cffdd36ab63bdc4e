"""Matrix inverses, determinants and solves behind ``ember.linalg``: inv, det, slogdet, solve,
matrix_power, tensorinv, tensorsolve, the ``inv_ex``/``solve_ex`` forms, and the older
``torch.*`` spellings (inverse, det, logdet, slogdet, matrix_power); and the registration of the
factorization ops as ``torch.*`` functions. Cholesky and QR live in ``cholesky_qr``; the helpers
the linalg modules share (``with_out``, named-tuple result types, checks, the batched NumPy LU
and triangular substitution) in ``_linalg_base``; this module re-exports both, the path the
other modules import them by. The spectral functions (svd, eigh, pinv, lstsq, matrix_exp,
norms, matrix_rank, cond) live in ``spectral``; the triangular solves (solve_triangular,
cholesky_solve, cholesky_inverse, triangular_solve) in ``triangular``; the Householder reflector
ops (householder_product, ormqr, geqrf) in ``householder``; the LU ops (lu, lu_factor,
lu_solve, lu_unpack) in ``lu``.

Contract: PyTorch's signatures, named-tuple results, batching over leading dims and error
messages (``LinAlgError`` for singular and non-positive-definite inputs). Forwards are NumPy's
LAPACK calls (LU and triangular solves are vectorised NumPy, so SciPy is not needed); backward
rules are PyTorch's (FunctionsManual.cpp) written in ember ops, so they differentiate again,
and each node has a forward-mode rule.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ._jvp import out_zeros
from ._linalg_base import (  # noqa: F401  (re-exported: lu, triangular, spectral... import them here)
    _batch_prefix,
    _check_float,
    _check_matrix,
    _ex_error,
    _eye,
    _first_zero_pivot,
    _flat,
    _half_name,
    _info,
    _kernel_dtype,
    _lapack,
    _lapack_layout,
    _LinAlgError,
    _lu_data,
    _lu_solve_data,
    _mT,
    _perm_matrix,
    _result_type,
    _singular,
    _tri_solve_data,
    _unpack_data,
    _warn_once,
    with_out,
)
from ._registry import node_class, record, record_multi, recording, register, wrap
from .cholesky_qr import (  # noqa: F401  (re-exported: ember.linalg imports them here)
    CholeskyBackward0,
    LinalgCholeskyExBackward0,
    LinalgQrBackward0,
    cholesky,
    linalg_cholesky,
    linalg_cholesky_ex,
    linalg_qr,
    qr,
)

_slogdet_type = _result_type("linalg_slogdet", ("sign", "logabsdet"))
_torch_slogdet_type = _result_type("slogdet", ("sign", "logabsdet"))
_inv_ex_type = _result_type("linalg_inv_ex", ("inverse", "info"))
_solve_ex_type = _result_type("linalg_solve_ex", ("result", "info"))


# ---- inv ----
def _inv_vjp(ctx, g):
    (out,) = ctx.saved_tensors
    ot = _mT(out)
    return (-(ot @ g @ ot),)


def _inv_jvp(ctx, da):
    (out,) = ctx.saved_tensors
    return -(out @ da @ out)


LinalgInvExBackward0 = node_class("LinalgInvExBackward0", _inv_vjp, _inv_jvp)


def linalg_inv(A, *, out=None):
    """The inverse of each square matrix in ``A``."""
    a = A._data
    _check_matrix("linalg.inv", a)
    try:
        data = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        _singular("linalg.inv", a, "The diagonal element {k} is zero, the inversion could not "
                  "be completed because the input matrix is singular.")
    # NOTE: column-major matrices, as LAPACK's result in PyTorch: a reshape of it copies (an
    # in-place op on ``inv(A).reshape(-1)`` leaves the inverse unchanged, as there)
    data = np.swapaxes(np.ascontiguousarray(np.swapaxes(data, -1, -2)), -1, -2)
    if STATE.enabled and recording(A):
        return record(LinalgInvExBackward0, data, (A,), save_out=True)
    return wrap(data)


# ---- det / slogdet / logdet ----
def _cofactor(A, det):
    """``det(A) * A^{-T}`` (the cofactor matrix), also where ``A`` is singular.

    NOTE: as PyTorch, a (near) singular batch uses the SVD form ``det(U) det(Vh) U
    diag(prod_{j != i} s_j) Vh``, which stays finite where ``A^{-T}`` does not."""
    if not A._data.size:  # (no inverse to take: a half one would refuse)
        return det.unsqueeze(-1).unsqueeze(-1) * _mT(A)
    bad = ~np.isfinite(A._data).all(axis=(-2, -1))
    if bad.any():
        # NOTE: a matrix with an inf or NaN has a NaN cofactor, as PyTorch's gradient (LAPACK's
        # SVD refuses such input): computed on the identity there, then selected
        from .select import where

        eye = np.broadcast_to(np.eye(A._data.shape[-1], dtype=A._data.dtype), A._data.shape)
        mask = wrap(bad[..., None, None])
        cof = _cofactor(where(mask, wrap(eye), A), where(wrap(bad), 1.0, det))
        return where(mask, float("nan"), cof)
    d = det._data
    eps = np.finfo(A._data.dtype).eps
    if np.all(np.abs(d) > eps * 1e3):
        return det.unsqueeze(-1).unsqueeze(-1) * _mT(linalg_inv(A))
    from .join import cat
    from .scan import cumprod
    from .spectral import linalg_svd

    u, s, vh = linalg_svd(A)
    sign = linalg_det(u) * linalg_det(vh)
    n = s._data.shape[-1]
    # the product of all singular values but the i-th, without dividing by zero: exclusive
    # cumulative products from the left and from the right
    one = s.narrow(-1, 0, 1) * 0 + 1
    left = cat([one, cumprod(s, -1).narrow(-1, 0, n - 1)], -1)
    right = cat([one, cumprod(s.flip(-1), -1).narrow(-1, 0, n - 1)], -1).flip(-1)
    d_prod = left * right * sign.unsqueeze(-1)
    return (u * d_prod.unsqueeze(-2)) @ vh


def _det_vjp(ctx, g):
    A, det = ctx.saved_tensors
    return ((g.unsqueeze(-1).unsqueeze(-1)) * _cofactor(A, det),)


def _det_jvp(ctx, da):
    A, det = ctx.saved_tensors
    return (_cofactor(A, det) * da).sum((-2, -1))


LinalgDetBackward0 = node_class("LinalgDetBackward0", _det_vjp, _det_jvp)


def linalg_det(A, *, out=None):
    """The determinant of each square matrix in ``A``."""
    a = A._data
    _check_matrix("linalg.det", a, kernel="lu_cpu")
    with np.errstate(invalid="ignore", over="ignore"):  # (NaN in, NaN out: PyTorch is quiet)
        data = np.asarray(np.linalg.det(_lapack(a))).astype(a.dtype, copy=False)
    if STATE.enabled and recording(A):
        return record(LinalgDetBackward0, data, (A,), save=(A,), save_out=True)
    return wrap(data)


def _slogdet_vjp(ctx, gsign, glogabs):
    if glogabs is None:
        return (None,)
    (A,) = ctx.saved_tensors
    return (glogabs.unsqueeze(-1).unsqueeze(-1) * _mT(linalg_inv(A)),)


def _slogdet_jvp(ctx, da):
    (A,) = ctx.saved_tensors
    return out_zeros(ctx, 0), (_mT(linalg_inv(A)) * da).sum((-2, -1))


LinalgSlogdetBackward0 = node_class("LinalgSlogdetBackward0", _slogdet_vjp, _slogdet_jvp)


def _slogdet(A, name, result_type):
    a = A._data
    _check_matrix(name, a)
    with np.errstate(invalid="ignore", divide="ignore"):
        sign, logabs = np.linalg.slogdet(a)
    sign = np.asarray(sign).astype(a.dtype, copy=False)
    logabs = np.asarray(logabs).astype(a.dtype, copy=False)
    if STATE.enabled and recording(A):
        # NOTE: sign is an output of the node too (its gradient is zero), as in PyTorch
        outs = record_multi(LinalgSlogdetBackward0, (sign, logabs), (A,), save=(A,))
        return result_type(*outs)
    return result_type(wrap(sign), wrap(logabs))


def linalg_slogdet(A, *, out=None):
    """``(sign, logabsdet)`` of each square matrix: ``det = sign * exp(logabsdet)``."""
    return _slogdet(A, "linalg.slogdet", _slogdet_type)


def slogdet(input):
    """``torch.slogdet``: ``linalg.slogdet`` under its older result name."""
    return _slogdet(input, "linalg.slogdet", _torch_slogdet_type)


def logdet(input):
    """``log(det(input))``: nan where the determinant is negative."""
    from .select import where

    _check_matrix("logdet", input._data)
    sign, logabs = _slogdet(input, "linalg.slogdet", _slogdet_type)
    nan = wrap(np.asarray(np.nan, dtype=logabs._data.dtype))
    return where(sign < 0, nan, logabs)


# ---- solve ----
def _solve_vjp(ctx, g):
    A, X = ctx.saved_tensors
    left, vector = ctx.args
    if left:
        gB = linalg_solve(_mT(A), g)
        gX = gB.unsqueeze(-1) if vector else gB
        x = X.unsqueeze(-1) if vector else X
        gA = -(gX @ _mT(x)) if ctx.next_functions[0][0] is not None else None
    else:
        gB = _mT(linalg_solve(A, _mT(g)))
        gA = -(_mT(X) @ gB) if ctx.next_functions[0][0] is not None else None
    return gA, gB


def _solve_jvp(ctx, da, db):
    A, X = ctx.saved_tensors
    left, vector = ctx.args
    if left:
        x = X.unsqueeze(-1) if vector else X
        rhs = None if da is None else -(da @ x)
        if vector and rhs is not None:
            rhs = rhs.squeeze(-1)
        if db is not None:
            rhs = db if rhs is None else rhs + db
        return linalg_solve(A, rhs).expand(ctx._meta[0][0])
    rhs = None if da is None else -(X @ da)
    if db is not None:
        rhs = db if rhs is None else rhs + db
    return _mT(linalg_solve(_mT(A), _mT(rhs))).expand(ctx._meta[0][0])


LinalgSolveExBackward0 = node_class("LinalgSolveExBackward0", _solve_vjp, _solve_jvp)


def linalg_solve(A, B, *, left=True, out=None):
    """The solution ``X`` of ``A X = B`` (``X A = B`` when ``left=False``); ``B`` may be a
    (batch of) vector(s)."""
    from ..dtypes import from_np

    a, b = A._data, B._data
    _check_matrix("linalg.solve", a, kernel="lu_cpu")
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{from_np(a.dtype).scalar_name} and B of type {from_np(b.dtype).scalar_name} "
            "instead")
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    bm = b[..., None] if vector else b
    n = a.shape[-1]
    if (bm.shape[-2] if left else bm.shape[-1]) != n:
        shape = f"{bm.shape[-2]}x{bm.shape[-1]}"
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {shape})")
    batch = np.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    aa = _lapack(np.broadcast_to(a, batch + a.shape[-2:]))
    bb = _lapack(np.broadcast_to(bm, batch + bm.shape[-2:]))
    try:
        if left:
            data = np.linalg.solve(aa, bb)
        else:
            data = np.swapaxes(np.linalg.solve(np.swapaxes(aa, -1, -2), np.swapaxes(bb, -1, -2)),
                               -1, -2)
    except np.linalg.LinAlgError:
        raise _LinAlgError("torch.linalg.solve: The solver failed because the input matrix is "
                           "singular.") from None
    if vector:
        data = data[..., 0]
    data = np.ascontiguousarray(data.astype(a.dtype, copy=False))
    if STATE.enabled:
        ra, rb = recording(A), recording(B)
        if ra or rb:
            out = record(LinalgSolveExBackward0, data, (A, B), save=(A,), save_out=True,
                         args=(left, vector))
            return out
    return wrap(data)


def inverse(input, *, out=None):
    """``torch.inverse``: ``linalg.inv``."""
    return linalg_inv(input)


def det(input):
    """``torch.det``: ``linalg.det``."""
    return linalg_det(input)


# ---- the *_ex forms (NOTE [the *_ex forms] in _linalg_base), matrix_power ----
def linalg_inv_ex(A, *, check_errors=False, out=None):
    """``(inverse, info)``: ``linalg.inv`` with LAPACK's status (0: success; k: the k-th
    diagonal element of U is zero)."""
    try:
        return _inv_ex_type(linalg_inv(A), _info(A._data))
    except _LinAlgError as exc:
        if check_errors:
            raise _ex_error(exc, "linalg.inv:", "linalg.inv_ex:") from None
    a = A._data
    info = np.array([_first_zero_pivot(m) for m in _flat(a)], np.int32)
    eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
    data = _lu_solve_data(a, eye)
    return _inv_ex_type(wrap(data), wrap(info.reshape(a.shape[:-2])))


def linalg_solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """``(result, info)``: ``linalg.solve`` with LAPACK's status (0: success; k: the k-th
    diagonal element of U is zero)."""
    try:
        return _solve_ex_type(linalg_solve(A, B, left=left), _info(A._data))
    except _LinAlgError as exc:
        if check_errors:
            raise _ex_error(exc, "torch.linalg.solve:", "torch.linalg.solve_ex:") from None
    a, b = A._data, B._data
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    bm = b[..., None] if vector else b
    batch = np.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    aa = np.broadcast_to(a, batch + a.shape[-2:])
    bb = np.broadcast_to(bm, batch + bm.shape[-2:])
    if left:
        data = _lu_solve_data(aa, bb)
    else:
        data = np.swapaxes(_lu_solve_data(np.swapaxes(aa, -1, -2), np.swapaxes(bb, -1, -2)),
                           -1, -2)
    data = data[..., 0] if vector else data
    info = np.array([_first_zero_pivot(m) for m in _flat(aa)], np.int32).reshape(batch)
    return _solve_ex_type(wrap(np.ascontiguousarray(data)), wrap(info))


def linalg_matrix_power(A, n, *, out=None):
    """``A`` to the integer power ``n`` (``n < 0``: of its inverse), by repeated squaring."""
    from .linalg import matmul

    a = A._data
    if a.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 "
                           "dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but "
                           f"they are {a.shape[-2]} by {a.shape[-1]} matrices")
    if n == 0:
        eye = wrap(np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy())
        return A.clone().copy_(eye)
    if n == -1:
        return linalg_inv(A)  # NOTE: as PyTorch, the inverse itself (no copy)
    if n < 0:
        A, n = linalg_inv(A), -n
    if n == 1:
        return A.clone()
    if n == 2:
        return matmul(A, A)
    if n == 3:
        return matmul(matmul(A, A), A)
    # NOTE: PyTorch's order of products (bits of n from the lowest), so graphs read the same
    z = result = None
    while n > 0:
        bit, n = n % 2, n // 2
        z = A if z is None else matmul(z, z)
        if bit:
            result = z if result is None else matmul(result, z)
    return result


# ---- tensorinv / tensorsolve ----
def _reshape_alias_vjp(ctx, g):
    return (g.reshape(ctx.args[0]),)


ReshapeAliasBackward0 = node_class(
    "ReshapeAliasBackward0", _reshape_alias_vjp,
    lambda ctx, dx: dx.reshape(ctx._meta[0][0]) if dx is not None else out_zeros(ctx))


def linalg_tensorinv(A, ind=2, *, out=None):
    """The inverse of ``A`` seen as a matrix from its first ``ind`` dims to the rest; the result
    has shape ``A.shape[ind:] + A.shape[:ind]``."""
    from .shape import _np_reshape, _view_op

    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    shape = A._data.shape
    rows, cols = int(np.prod(shape[:ind])), int(np.prod(shape[ind:]))
    if rows != cols:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    inv = linalg_inv(A.reshape(rows, cols))
    new = shape[ind:] + shape[:ind]
    return _view_op(ReshapeAliasBackward0, inv, inv._data.reshape(new), (_np_reshape, (new,)),
                    (inv._data.shape,))


def linalg_tensorsolve(A, B, dims=None, *, out=None):
    """The ``X`` with ``tensordot(A, X, X.ndim) == B`` (``dims`` of A moved to the end
    first)."""
    if dims is not None:
        nd = A._data.ndim
        dims = [d % nd for d in dims]
        A = A.movedim(dims, list(range(nd - len(dims), nd)))
    shape = A._data.shape
    k = B._data.ndim
    rows, cols = int(np.prod(shape[:k])), int(np.prod(shape[k:]))
    if rows != cols:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[other.ndim:]) "
                           f"== prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    x = linalg_solve(A.reshape(rows, cols), B.reshape(rows))
    return x.view(list(shape[k:]))


# NOTE: every op here taking ``out=`` gets it through ``with_out`` (rules call the same
# wrapped functions, which cost one extra call without ``out``); cholesky_qr wraps its own.
_OUT_NAMES = {  # the aten op PyTorch's out= error names, or False for composite ops
    "linalg_inv": "linalg_inv_ex", "inverse": "linalg_inv_ex", "linalg_det": "_linalg_det",
    "linalg_solve": "_linalg_solve_ex", "linalg_slogdet": "_linalg_slogdet",
    "linalg_matrix_power": "matmul", "linalg_tensorinv": False, "linalg_tensorsolve": False,
    "linalg_inv_ex": None, "linalg_solve_ex": "_linalg_solve_ex",
}
for _name, _out_name in _OUT_NAMES.items():
    globals()[_name] = with_out(globals()[_name], _out_name)

for _name, _fn in (("inverse", inverse), ("det", det), ("slogdet", slogdet), ("logdet", logdet),
                   ("cholesky", cholesky),
                   ("matrix_power", linalg_matrix_power), ("qr", qr)):
    register(_fn, _name)
