"""Matrix factorizations and solves behind ``ember.linalg``: inv, det, slogdet, solve,
cholesky, qr, matrix_power, tensorinv, tensorsolve, the ``*_ex`` forms, and the older
``torch.*`` spellings (inverse, det, logdet, slogdet, cholesky, qr, matrix_power); with the
helpers the linalg modules share (``with_out``, named-tuple result types, checks, the batched
NumPy LU and triangular substitution). The spectral functions (svd, eigh, pinv, lstsq,
matrix_exp, norms, matrix_rank, cond) live in ``spectral``; the triangular solves
(solve_triangular, cholesky_solve, cholesky_inverse, triangular_solve) in ``triangular``; the
Householder reflector ops (householder_product, ormqr, geqrf) in ``householder``; the LU ops
(lu, lu_factor, lu_solve, lu_unpack) in ``lu``.

Contract: PyTorch's signatures, named-tuple results, batching over leading dims and error
messages (``LinAlgError`` for singular and non-positive-definite inputs). Forwards are NumPy's
LAPACK calls (LU and triangular solves are vectorised NumPy, so SciPy is not needed); backward
rules are PyTorch's (FunctionsManual.cpp) written in ember ops, so they differentiate again,
and each node has a forward-mode rule.
"""

from __future__ import annotations

import numpy as np

from .. import return_types
from .._warn import warn_once
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from ._jvp import out_zeros
from ._registry import node_class, record, record_multi, recording, register, wrap


class _LinAlgError(RuntimeError):
    """A linear-algebra input the operation cannot handle (singular, not positive-definite);
    ``ember.linalg.LinAlgError``, a RuntimeError as in PyTorch."""


_LinAlgError.__module__ = "ember.linalg"


def _result_type(name, fields):
    """The named-tuple result type ``ember.return_types.<name>``."""
    return return_types.make(name, fields)


_slogdet_type = _result_type("linalg_slogdet", ("sign", "logabsdet"))
_torch_slogdet_type = _result_type("slogdet", ("sign", "logabsdet"))
_qr_type = _result_type("linalg_qr", ("Q", "R"))


# ---- out= ----
def with_out(fn, name=None):
    """``fn`` taking PyTorch's ``out=``: the result (a tensor, or each part of a named-tuple
    result) written into ``out`` and ``out`` returned; like PyTorch, not when an argument
    requires grad (the error names ``name``, PyTorch's underlying op; with ``name`` False the
    op is a composite one that PyTorch lets write ``out`` anyway)."""
    import functools

    composite = name is False
    name = name or fn.__name__

    @functools.wraps(fn)
    def op(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        from ..autograd.grad_mode import no_grad
        from .pointwise import write_out

        tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
        tensors += [t for a in args if isinstance(a, (list, tuple)) for t in a
                    if isinstance(t, Tensor)]
        if not composite and STATE.enabled and any(t.requires_grad for t in tensors):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               "automatic differentiation, but one of the arguments requires "
                               "grad.")
        with no_grad():
            result = fn(*args, **kwargs)
        if isinstance(out, (tuple, list)):
            parts = [write_out(name, _same, o, r) for o, r in zip(out, result)]
            return type(result)(*parts) if type(result) is not tuple else tuple(parts)
        return write_out(name, _same, out, result)
    return op


def _same(t):
    return t


# ---- shared checks and helpers ----
def _warn_once(key, message):
    warn_once(message, 3, key)  # deprecation warnings: PyTorch gives each once per process


def _lapack_layout(data):
    """``data`` with column-major matrices (the batch dims contiguous outside them), the
    layout LAPACK's results have in PyTorch: a reshape of such a result copies, so an in-place
    op on ``qr(A)[1].flatten()`` leaves R unchanged, as there."""
    return np.swapaxes(np.ascontiguousarray(np.swapaxes(data, -1, -2)), -1, -2)


def _mT(x):
    return x.transpose(-2, -1)


def _eye(n, like):
    from ..creation import eye

    return eye(n, dtype=like.dtype)


def _check_matrix(name, a, square=True, float_only=True, kernel=None):
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")
    if float_only:
        _check_float(name, a, kernel)


def _half_name(dtype):
    """'Half' or 'BFloat16' for the half types (which no LAPACK kernel takes), else None."""
    from ..dtypes import from_np

    if dtype == np.float16 or (dtype.kind == "V" and from_np(dtype).scalar_name == "BFloat16"):
        return from_np(dtype).scalar_name
    return None


def _check_float(name, a, kernel=None):
    """PyTorch's error for a non-float input to the linalg op ``name``; for a half one, the
    ``kernel``'s NotImplementedError where the op reaches a LAPACK kernel without a check of
    its own (``"lu_cpu"``...), else "Low precision dtypes not supported"."""
    from ..dtypes import from_np

    if a.dtype.kind in "fc" and a.dtype != np.float16:
        return
    half = _half_name(a.dtype)
    if half is None:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{from_np(a.dtype).scalar_name}")
    if kernel is not None and not a.size and kernel in _EMPTY_SKIPS:
        return
    _kernel_dtype(kernel, a)
    raise RuntimeError(f"{name}: Low precision dtypes not supported. Got {half}")


# LAPACK kernels PyTorch does not call for an empty input (its dispatch returns the empty
# results first), so a half one works there: svd, lu (det, solve...), cholesky and eigh
_EMPTY_SKIPS = frozenset({"linalg_svd_cpu", "lu_cpu", "cholesky_cpu", "linalg_eigh_cpu"})


def _lapack(a):
    """``a`` for NumPy's LAPACK wrappers: an (empty, see _EMPTY_SKIPS) half array as float32,
    which they take; nothing is computed and the callers cast the results back."""
    return a.astype(np.float32) if a.dtype.kind == "V" or a.dtype == np.float16 else a


def _kernel_dtype(kernel, a):
    """PyTorch's error for an integer or half input to a LAPACK kernel (``"lu_cpu"``...)."""
    from ..dtypes import from_np

    if not a.size and kernel in _EMPTY_SKIPS and a.dtype.kind in "fcV":
        return
    if kernel is not None and (a.dtype.kind not in "fc" or a.dtype == np.float16):
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{from_np(a.dtype).scalar_name}'")


def _batch_prefix(a, b):
    """``(Batch element b): `` for batched inputs, as PyTorch's LAPACK error messages."""
    return f"(Batch element {b}): " if a.ndim > 2 else ""


def _first_zero_pivot(m):
    """1-based index of the first zero pivot of ``m``'s LU factorisation with partial pivoting
    (LAPACK getrf's ``info``), or 0."""
    u = np.array(m, dtype=m.dtype)
    n = u.shape[-1]
    first = 0
    for k in range(n):
        p = k + int(np.argmax(np.abs(u[k:, k])))
        if u[p, k] == 0:
            first = first or k + 1
            continue
        u[[k, p]] = u[[p, k]]
        u[k + 1:] -= np.multiply.outer(u[k + 1:, k] / u[k, k], u[k])
    return first


def _singular(name, a, message):
    """Raise PyTorch's LinAlgError naming the first singular batch element."""
    flat = a.reshape(-1, *a.shape[-2:])
    for b, m in enumerate(flat):
        k = _first_zero_pivot(m)
        if k:
            raise _LinAlgError(f"{name}: {_batch_prefix(a, b)}" + message.format(k=k))
    raise _LinAlgError(f"{name}: " + message.format(k=a.shape[-1]))


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


# ---- cholesky ----
def _phi_mask(n, dtype):
    """Lower triangle with a halved diagonal: the projection in Cholesky's derivative."""
    m = np.tril(np.ones((n, n), dtype=dtype))
    m[np.diag_indices(n)] = 0.5
    return wrap(m)


def _cholesky_vjp(ctx, g):
    (out,) = ctx.saved_tensors
    upper = ctx.args[0]
    L, gL = (_mT(out), _mT(g)) if upper else (out, g)
    _kernel_dtype("triangular_solve_cpu", L._data)  # (an empty half L: PyTorch's solve refuses)
    n = L._data.shape[-1]
    linv = linalg_inv(L)
    phi = (_mT(L) @ gL) * _phi_mask(n, L._data.dtype)
    ga = _mT(linv) @ phi @ linv
    return ((ga + _mT(ga)) * 0.5,)


def _cholesky_jvp(ctx, da):
    (out,) = ctx.saved_tensors
    upper = ctx.args[0]
    L = _mT(out) if upper else out
    linv = linalg_inv(L)
    n = L._data.shape[-1]
    dl = L @ ((linv @ da @ _mT(linv)) * _phi_mask(n, L._data.dtype))
    return _mT(dl) if upper else dl


LinalgCholeskyExBackward0 = node_class("LinalgCholeskyExBackward0", _cholesky_vjp,
                                       _cholesky_jvp)
CholeskyBackward0 = node_class("CholeskyBackward0", _cholesky_vjp, _cholesky_jvp)


def _cholesky(A, upper, node_cls, name="linalg.cholesky"):
    from ..dtypes import from_np

    a = A._data
    if name == "cholesky" and a.dtype.kind not in "fc" and a.ndim >= 2:
        raise NotImplementedError(
            f"\"cholesky_cpu\" not implemented for '{from_np(a.dtype).scalar_name}'")
    _check_matrix(name, a, kernel="cholesky_cpu")
    try:
        data = np.linalg.cholesky(_lapack(a)).astype(a.dtype, copy=False)
    except np.linalg.LinAlgError:
        flat = a.reshape(-1, *a.shape[-2:])
        for b, m in enumerate(flat):
            for k in range(1, m.shape[-1] + 1):
                try:
                    np.linalg.cholesky(m[:k, :k])
                except np.linalg.LinAlgError:
                    raise _LinAlgError(
                        f"{name}: {_batch_prefix(a, b)}The factorization could not be "
                        "completed because the input is not positive-definite (the leading "
                        f"minor of order {k} is not positive-definite).") from None
        raise
    if upper:
        data = np.ascontiguousarray(np.swapaxes(data, -1, -2))
    if STATE.enabled and recording(A):
        return record(node_cls, data, (A,), save_out=True, args=(upper,))
    return wrap(data)


def linalg_cholesky(A, *, upper=False, out=None):
    """The Cholesky factor ``L`` (``A = L L^T``; ``U = L^T`` when ``upper``) of each symmetric
    positive-definite matrix (only its lower triangle is read)."""
    return _cholesky(A, upper, LinalgCholeskyExBackward0)


def cholesky(input, upper=False, *, out=None):
    """``torch.cholesky`` (deprecated in PyTorch, which warns once)."""
    _warn_once(
        "cholesky",
        "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed "
        "in a future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\n"
        "L = torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\nshould be "
        "replaced with\nU = torch.linalg.cholesky(A).mH\nThis transform will produce "
        "equivalent results for all valid (symmetric positive definite) inputs.")
    return _cholesky(input, upper, CholeskyBackward0, "cholesky")


def inverse(input, *, out=None):
    """``torch.inverse``: ``linalg.inv``."""
    return linalg_inv(input)


def det(input):
    """``torch.det``: ``linalg.det``."""
    return linalg_det(input)


# ---- qr ----
def _qr_square_vjp(Q, R, gQ, gR):
    """PyTorch's QR backward for m >= n (A = QR, R square)."""
    ga = None
    if gR is not None:
        ga = gR @ _mT(R)
    if gQ is not None:
        c = _mT(Q) @ gQ
        ga = -c if ga is None else ga - c
    ga = ga.triu()
    # the triangle mirrored, its diagonal counted once: (T + T^T) with the diagonal halved, as
    # PyTorch (an infinite entry stays inf, where T + T^T - diag(T) gives inf - inf = NaN)
    sym = ga + _mT(ga)
    n = sym._data.shape[-1]
    half = wrap(np.where(np.eye(n, dtype=bool), 0.5, 1.0).astype(sym._data.dtype))
    ga = Q @ (sym * half)
    if gQ is not None:
        ga = ga + gQ
    from .triangular import linalg_solve_triangular

    return linalg_solve_triangular(_mT(R), ga, upper=False, left=False)


def _qr_vjp(ctx, gQ, gR):
    *wide, Q, R = ctx.saved_tensors
    mode, m, n = ctx.args
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when "
                           "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going "
                           "to differentiate through linalg.qr.")
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and "
                           "nrows > ncols.")
    if m >= n:
        return (_qr_square_vjp(Q, R, gQ, gR),)
    # NOTE: wide A = [X | Y] = Q [R_X | R_Y]: X's QR gets the gradient R_Y's part sends to Q
    # (R_Y = Q^T Y), and Y gets Q gR_Y.
    Y = wide[0]
    rx = R.narrow(-1, 0, m)
    gx_r = gR.narrow(-1, 0, m) if gR is not None else None
    gy_r = gR.narrow(-1, m, n - m) if gR is not None else None
    gq = gQ
    if gy_r is not None:
        c = Y @ _mT(gy_r)
        gq = c if gq is None else gq + c
    from .join import cat

    gx = _qr_square_vjp(Q, rx, gq, gx_r)
    if gy_r is None:
        return (cat([gx, wrap(np.zeros(gx._data.shape[:-1] + (n - m,), gx._data.dtype))], -1),)
    return (cat([gx, Q @ gy_r], -1),)


def _qr_square_jvp(Q, R, da):
    rinv = linalg_inv(R)
    c = _mT(Q) @ da @ rinv
    low = c.tril(-1)
    omega = low - _mT(low)
    dr = (c - omega) @ R
    dq = da @ rinv - Q @ (c - omega)
    return dq, dr


def _qr_jvp(ctx, da):
    *wide, Q, R = ctx.saved_tensors
    mode, m, n = ctx.args
    if m >= n:
        return _qr_square_jvp(Q, R, da)
    from .join import cat

    Y = wide[0]
    dq, drx = _qr_square_jvp(Q, R.narrow(-1, 0, m), da.narrow(-1, 0, m))
    dry = _mT(dq) @ Y + _mT(Q) @ da.narrow(-1, m, n - m)
    return dq, cat([drx, dry], -1)


LinalgQrBackward0 = node_class("LinalgQrBackward0", _qr_vjp, _qr_jvp)


def linalg_qr(A, mode="reduced", *, out=None):
    """``(Q, R)`` with ``A = Q R``, ``Q`` orthonormal columns and ``R`` upper triangular
    (``mode``: 'reduced', 'complete', or 'r' for R alone, Q then empty)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    a = A._data
    _check_matrix("linalg.qr", a, square=False, kernel="geqrf_cpu")
    m, n = a.shape[-2:]
    if mode == "r":
        r = np.linalg.qr(a, mode="r") if a.size else np.zeros(a.shape[:-2] + (min(m, n), n),
                                                              a.dtype)
        q = np.zeros((0,), a.dtype)
    else:
        q, r = np.linalg.qr(a, mode=mode)
    # NOTE: column-major Q and R, as LAPACK's in PyTorch (see _lapack_layout)
    q = _lapack_layout(q) if mode != "r" else q
    r = _lapack_layout(r)
    if STATE.enabled and recording(A):
        wide = m < n and mode != "r"
        outs = record_multi(LinalgQrBackward0, (q, r), (A,), args=(mode, m, n),
                            save=(A.narrow(-1, m, n - m),) if wide else ())
        node = outs[0]._grad_fn
        node.save_output(outs[0], 0)
        node.save_output(outs[1], 1)
        return _qr_type(*outs)
    return _qr_type(wrap(q), wrap(r))


# ---- triangular substitution in NumPy (the solves in ``triangular``, ``lu`` and here) ----
def _tri_solve_data(a, b, upper, left, unit):
    """``A X = B`` (``X A = B`` when not ``left``) for triangular ``A`` by substitution,
    vectorised over batches and columns (a zero diagonal gives inf/nan, as LAPACK's trsm)."""
    if not left:
        return np.swapaxes(_tri_solve_data(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2),
                                           not upper, True, unit), -1, -2)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    x = np.array(np.broadcast_to(b, batch + b.shape[-2:]), dtype=np.result_type(a, b))
    n = a.shape[-1]
    order = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in order:
            rest = slice(i + 1, n) if upper else slice(0, i)
            acc = x[..., i, :] - np.einsum("...k,...kj->...j", a[..., i, rest], x[..., rest, :])
            x[..., i, :] = acc if unit else acc / a[..., i, i][..., None]
    return x


# ---- the *_ex forms, matrix_power ----
_inv_ex_type = _result_type("linalg_inv_ex", ("inverse", "info"))
_cholesky_ex_type = _result_type("linalg_cholesky_ex", ("L", "info"))
_solve_ex_type = _result_type("linalg_solve_ex", ("result", "info"))


def _info(a):
    return wrap(np.zeros(a.shape[:-2], dtype=np.int32))


# NOTE [the *_ex forms]: where LAPACK fails they return its status in ``info`` instead of
# raising (unless ``check_errors``); the failed elements' values follow LAPACK's partial results
# as far as NumPy reproduces them (inf/nan from a zero pivot, the partial Cholesky factor) and
# are not differentiable.
def _ex_error(exc, old, new):
    return _LinAlgError(str(exc).replace(old, new, 1))


def _flat(a):
    # NOTE: an explicit batch size: -1 is ambiguous for empty matrices
    return a.reshape((int(np.prod(a.shape[:-2])),) + a.shape[-2:])


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


def _lu_solve_data(a, b):
    """A^{-1} B through NumPy's LU (no error: a zero pivot gives inf/nan, as LAPACK)."""
    lu_, piv, _ = _lu_data(a)
    L, U = _unpack_data(lu_)
    P = _perm_matrix(piv, a.shape[-1], a.dtype)
    with np.errstate(all="ignore"):
        y = _tri_solve_data(L, np.swapaxes(P, -1, -2) @ b, False, True, True)
        return _tri_solve_data(U, y, True, True, False).astype(a.dtype, copy=False)


def _partial_cholesky(a):
    """LAPACK potf2's Cholesky factor and info: at the first non-positive pivot it stores the
    pivot and stops (the later columns keep A's lower triangle)."""
    flat = np.tril(_flat(a)).copy()
    info = np.zeros(flat.shape[0], np.int32)
    n = a.shape[-1]
    for b, L in enumerate(flat):
        for j in range(n):
            ajj = L[j, j] - L[j, :j] @ L[j, :j]
            if not ajj > 0:
                L[j, j] = ajj
                info[b] = j + 1
                break
            L[j, j] = np.sqrt(ajj)
            L[j + 1:, j] = (L[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return flat.reshape(a.shape), info.reshape(a.shape[:-2])


def linalg_cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """``(L, info)``: ``linalg.cholesky`` with LAPACK's status (0: success; k: the leading
    minor of order k is not positive-definite)."""
    try:
        return _cholesky_ex_type(linalg_cholesky(A, upper=upper), _info(A._data))
    except _LinAlgError as exc:
        if check_errors:
            raise _ex_error(exc, "linalg.cholesky:", "linalg.cholesky_ex:") from None
    L, info = _partial_cholesky(A._data)
    if upper:
        L = np.ascontiguousarray(np.swapaxes(L, -1, -2))
    return _cholesky_ex_type(wrap(L), wrap(info))


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


# ---- LU factors in NumPy (the ``*_ex`` solves here and the LU ops in ``lu``) ----
def _lu_data(a):
    """LU with partial pivoting (LAPACK getrf), batched: the packed factors, 1-based int32
    pivots and LAPACK's info (1-based index of the first zero pivot, or 0)."""
    m, n = a.shape[-2:]
    k = min(m, n)
    lu = np.array(_flat(a), dtype=a.dtype)
    batch = lu.shape[0]
    piv = np.zeros((batch, k), np.int32)
    info = np.zeros(batch, np.int32)
    rows = np.arange(batch)
    for j in range(k):
        p = j + np.argmax(np.abs(lu[:, j:, j]), axis=1)
        piv[:, j] = p + 1
        top = lu[rows, j].copy()
        lu[rows, j] = lu[rows, p]
        lu[rows, p] = top
        d = lu[:, j, j]
        zero = d == 0
        info = np.where((info == 0) & zero, j + 1, info)
        # NOTE: a zero pivot means the column below is zero too: nothing to eliminate
        scale = np.where(zero, 0, 1 / np.where(zero, 1, d))
        col = lu[:, j + 1:, j] * scale[:, None]
        lu[:, j + 1:, j] = col
        lu[:, j + 1:, j + 1:] -= col[:, :, None] * lu[:, j, None, j + 1:]
    lead = a.shape[:-2]
    return lu.reshape(a.shape), piv.reshape(lead + (k,)), info.reshape(lead)


def _perm_matrix(piv, m, dtype):
    """P with ``A = P L U`` from LAPACK's sequential row swaps."""
    lead = piv.shape[:-1]
    flat = piv.reshape(int(np.prod(lead)), piv.shape[-1]).astype(np.int64) - 1
    perm = np.tile(np.arange(m), (flat.shape[0], 1))
    rows = np.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j]
        top = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = top
    P = np.zeros((flat.shape[0], m, m), dtype)
    P[rows[:, None], perm, np.arange(m)[None, :]] = 1
    return P.reshape(lead + (m, m))


def _unpack_data(lu):
    m, n = lu.shape[-2:]
    k = min(m, n)
    L = np.tril(lu[..., :, :k], -1) + np.eye(m, k, dtype=lu.dtype)
    U = np.triu(lu[..., :k, :])
    return L, U


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


# ---- older torch.* forms ----
_torch_qr_type = _result_type("qr", ("Q", "R"))


def qr(input, some=True, *, out=None):
    """``torch.qr``: ``linalg.qr`` in 'reduced' (``some``) or 'complete' mode."""
    _warn_once(
        "qr",
        "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future "
        "PyTorch release.\nThe boolean parameter 'some' has been replaced with a string "
        "parameter 'mode'.\nQ, R = torch.qr(A, some)\nshould be replaced with\nQ, R = "
        "torch.linalg.qr(A, 'reduced' if some else 'complete')")
    q, r = linalg_qr(input, "reduced" if some else "complete")
    return _torch_qr_type(q, r)


# NOTE: every op here taking ``out=`` gets it through ``with_out`` (rules call the same
# wrapped functions, which cost one extra call without ``out``).
_OUT_NAMES = {  # the aten op PyTorch's out= error names, or False for composite ops
    "linalg_inv": "linalg_inv_ex", "inverse": "linalg_inv_ex", "linalg_det": "_linalg_det",
    "linalg_solve": "_linalg_solve_ex", "linalg_cholesky": "linalg_cholesky_ex",
    "cholesky": "cholesky",
    "linalg_slogdet": "_linalg_slogdet", "linalg_matrix_power": "matmul",
    "linalg_tensorinv": False, "linalg_tensorsolve": False,
    "linalg_inv_ex": None, "linalg_cholesky_ex": None, "linalg_solve_ex": "_linalg_solve_ex",
    "linalg_qr": None, "qr": "linalg_qr",
}
for _name, _out_name in _OUT_NAMES.items():
    globals()[_name] = with_out(globals()[_name], _out_name)

for _name, _fn in (("inverse", inverse), ("det", det), ("slogdet", slogdet), ("logdet", logdet),
                   ("cholesky", cholesky),
                   ("matrix_power", linalg_matrix_power), ("qr", qr)):
    register(_fn, _name)
