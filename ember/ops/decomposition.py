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
LAPACK calls (LU and triangular solves are vectorised NumPy, so SciPy is not needed), except
det, slogdet and solve up to 512 rows, which factor and substitute in NumPy as PyTorch's CPU
LAPACK does, so their values, NaN and inf, and their rules' follow PyTorch's (NOTE [det through
LU]); backward rules are PyTorch's (FunctionsManual.cpp) written in ember ops, so they
differentiate again (first-order rules that PyTorch runs on its saved factors run in NumPy),
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
# NOTE [det through LU]: PyTorch's det and slogdet factor each matrix once (A^T for a contiguous
# real A, its memory read column-major; A otherwise), take their values from the factors (det:
# the product of U's diagonal, its sign flipped per row swap; slogdet: the product of the
# signs, a NaN's being 0, and the sum of log |u_ii|) and solve with those factors in their
# rules as LAPACK's getrs does: the row swaps, then unit-lower and upper substitution (for the
# transposed solve U^T, L^T, then the swaps backwards). linalg.solve factors A itself, whatever
# its layout, and its backward solves transposed with those factors (both measured). So an
# infinite or NaN upstream gradient becomes NaN where a substitution meets inf - inf or 0 * inf,
# which ``g det A^{-T}`` (all entries +-inf) does not give (fuzz seed 2042 program 14344), and
# an exactly singular matrix has det == 0 where its factors have a zero pivot. ember does the
# same in NumPy: ``_getrf`` is the factorization of PyTorch's CPU LAPACK (MKL), bit for bit on
# the sizes measured (up to 16, NaN and inf included), ``_getrs`` the substitution (its
# roundoff is not MKL's: equal within tolerance, and where an exactly singular matrix makes the
# result inf or NaN, a leftover 1e-16 against an exact 0 can tell inf from NaN). The rules:
# - det, first order: a zero pivot is made eps, so at det == 0 the gradient is 0 * finite =
#   zeros (NaN for an infinite one), not the cofactor matrix; a 1x1 passes the gradient on.
# - slogdet, first order: the factors as they are (inf / NaN at a singular matrix).
# - with create_graph: ``linalg.solve(A^T, diag(g det))`` (``diag(g)`` for slogdet), which
#   differentiates again; det takes the singular value form where |det| < 100 eps (its NaN and
#   inf for a non-finite gradient then follow the singular vectors' roundoff).
# - forward mode: ``trace(A^{-1} dA) det`` by a solve of dA with the factors (a zero pivot made
#   eps for det), the factors carrying no tangent of their own, as PyTorch's.
_LU_IN_NUMPY = 512  # larger matrices take their values from LAPACK (the rules still factor here)


def _getrf(m):
    """LU factors of each matrix of ``m`` (batch flattened) and 0-based pivots, as MKL's getrf:
    the pivot is BLAS idamax's (the first largest |x|; a NaN wins only in first place), a zero
    pivot is left in place, the multipliers are ``x * (1 / pivot)`` but ``x / pivot`` in the
    second-to-last column of a matrix of at most 4 rows, and the trailing update runs at every
    step (so 0 * inf there is NaN)."""
    n = m.shape[-1]
    lu = np.array(_flat(m), dtype=m.dtype)
    rows = np.arange(lu.shape[0])
    piv = np.empty((lu.shape[0], n), np.intp)
    with np.errstate(all="ignore"):
        for j in range(n):
            col = lu[:, j:, j]  # (izamax measures a complex x by |Re x| + |Im x|)
            v = np.abs(col.real) + np.abs(col.imag) if col.dtype.kind == "c" else np.abs(col)
            first_nan = np.isnan(v[:, 0])
            p = j + np.where(first_nan, 0, np.argmax(np.where(np.isnan(v), -1, v), axis=1))
            piv[:, j] = p
            top = lu[rows, j].copy()
            lu[rows, j] = lu[rows, p]
            lu[rows, p] = top
            d = lu[:, j, j, None]
            col = lu[:, j + 1:, j]
            scaled = col / d if n <= 4 and j == n - 2 else col * (1 / d)
            lu[:, j + 1:, j] = np.where(d != 0, scaled, col)
            lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return lu, piv


def _substitute(t, x, upper, unit):
    """``T^{-1} X`` in place for the triangle of ``t`` (flattened batches; ``unit``: its
    diagonal taken as ones), column by column as the reference trsm: ``x_i`` is final once
    divided, then is taken out of the rows still to solve."""
    n = t.shape[-1]
    for i in range(n - 1, -1, -1) if upper else range(n):
        if not unit:
            x[:, i] = x[:, i] / t[:, i, i, None]
        rest = slice(0, i) if upper else slice(i + 1, n)
        x[:, rest] -= t[:, rest, i, None] * x[:, None, i]
    return x


def _getrs(lu, piv, b, transposed, perturb=False):
    """``M^{-1} B`` (``M^{-T} B`` when ``transposed``) for the factors ``_getrf`` gave of ``M``,
    by LAPACK's getrs steps; a zero pivot is made eps first when ``perturb``. ``b``: the
    flattened batch of right-hand sides (a new array is returned)."""
    n = lu.shape[-1]
    idx = np.arange(n)
    if perturb:
        lu = lu.copy()
        diag = lu[:, idx, idx]
        lu[:, idx, idx] = np.where(diag == 0, np.finfo(lu.dtype).eps, diag)
    x = np.array(b, dtype=lu.dtype)
    rows = np.arange(x.shape[0])

    def swap(j):  # row j <-> its pivot row, by index (a permutation product would give inf * 0)
        p = piv[:, j]
        top = x[rows, j].copy()
        x[rows, j] = x[rows, p]
        x[rows, p] = top

    with np.errstate(all="ignore"):
        if not transposed:
            for j in range(n):
                swap(j)
            _substitute(lu, x, False, True)  # (the unit diagonal is never read)
            return _substitute(lu, x, True, False)
        lt = np.swapaxes(lu, -1, -2)
        _substitute(lt, x, False, False)
        _substitute(lt, x, True, True)
        for j in range(n - 1, -1, -1):
            swap(j)
    return x


def _lu_of(A):
    """(factors, pivots, A^T was factored) as PyTorch's det and slogdet take them."""
    a = A._data
    use_a_t = bool(a.flags.c_contiguous) and a.dtype.kind != "c"
    lu, piv = _getrf(np.swapaxes(a, -1, -2) if use_a_t else a)
    return lu, piv, use_a_t


def _swap_sign(piv, dtype):
    odd = np.count_nonzero(piv != np.arange(piv.shape[-1]), axis=-1) % 2
    return np.where(odd == 1, -1, 1).astype(dtype)


def _solve_with(A, factors, b, adjoint, perturb):
    """``A^{-1} B`` (``A^{-T} B`` when ``adjoint``) for ``A``'s saved ``factors``, each matrix of
    ``b`` (A's batch shape) by LAPACK's substitution."""
    lu, piv, use_a_t = factors if factors is not None else _lu_of(A)
    x = _getrs(lu, piv, _flat(b), transposed=adjoint != use_a_t, perturb=perturb)
    return x.reshape(b.shape)


def _diag_np(v, n):
    out = np.zeros(v.shape + (n, n), dtype=v.dtype)
    idx = np.arange(n)
    out[..., idx, idx] = v[..., None]
    return out


def _det_singular_grad(A, g):
    """det's gradient at a (near) singular ``A``: ``U diag(alpha prod_{j != i} s_j) Vh`` with
    ``alpha = det(U) det(Vh) g`` (the adjugate through the SVD, finite where ``A^{-T}`` is not;
    ``g`` enters before the product, as PyTorch's)."""
    from .join import cat
    from .scan import cumprod
    from .spectral import linalg_svd

    u, s, vh = linalg_svd(A)
    alpha = (linalg_det(u) * linalg_det(vh)) * g
    n = s._data.shape[-1]
    # the product of all singular values but the i-th, without dividing by zero: exclusive
    # cumulative products from the left and from the right
    one = s.narrow(-1, 0, 1) * 0 + 1
    left = cumprod(cat([one, s.narrow(-1, 0, n - 1)], -1), -1)
    right = cumprod(cat([one, s.narrow(-1, 1, n - 1).flip(-1)], -1), -1).flip(-1)
    return (u * (alpha.unsqueeze(-1) * (left * right)).unsqueeze(-2)) @ vh


def _det_vjp(ctx, g):
    A, det = ctx.saved_tensors
    a = A._data
    shape = a.shape
    if not a.size:  # (nothing to solve; an empty half batch has no kernel either)
        return (g.unsqueeze(-1).unsqueeze(-1) * det.unsqueeze(-1).unsqueeze(-1) * _mT(A),)
    n = shape[-1]
    if n == 1:  # PyTorch passes the gradient through for 1x1 matrices, singular or not
        return (g.unsqueeze(-1).unsqueeze(-1).expand(shape),)
    if not STATE.enabled:
        with np.errstate(all="ignore"):
            d = _diag_np(np.asarray(g._data * det._data, dtype=a.dtype), n)
        return (wrap(_solve_with(A, ctx.args[0], d, adjoint=True, perturb=True)),)
    from .matrix import diag_embed

    d = diag_embed((g * det).unsqueeze(-1).expand(shape[:-1]))
    small = np.abs(det._data) < 100 * np.finfo(a.dtype).eps
    if small.all():
        return (_det_singular_grad(A, g),)
    if not small.any():
        return (linalg_solve(_mT(A), d),)
    # PyTorch's masked_fmap: each batch element by its own formula
    from .indexing import index_put

    mask, keep = wrap(small), wrap(~small)
    out = index_put(wrap(np.zeros(shape, a.dtype)), (mask,), _det_singular_grad(A[mask], g[mask]))
    return (index_put(out, (keep,), linalg_solve(_mT(A[keep]), d[keep])),)


def _fixed_solve_vjp(ctx, g):
    return (_fixed_solve(g, *ctx.args[:2], not ctx.args[2], ctx.args[3]),)


def _fixed_solve_jvp(ctx, db):
    return _fixed_solve(db, *ctx.args)


# PyTorch's name: lu_solve's node, whose factors take no gradient here
_FixedLuSolve = node_class("LinalgLuSolveBackward0", _fixed_solve_vjp, _fixed_solve_jvp)


def _fixed_solve(b, lu, piv, transposed, perturb):
    """``M^{-1} B`` (``M^{-T} B``) for constant factors of ``M`` (``_getrs``), an op linear in
    ``B``, so the forward rules below differentiate again (the factors do not, as PyTorch's)."""
    data = _getrs(lu, piv, _flat(b._data), transposed, perturb).reshape(b._data.shape)
    if STATE.enabled and recording(b):
        return record(_FixedLuSolve, data, (b,), args=(lu, piv, transposed, perturb))
    return wrap(data)


def _trace_solve(A, factors, da, perturb):
    """``trace(A^{-1} dA)`` as PyTorch's forward rules: a solve with the factors, then the
    diagonal summed (an inf in ``dA`` spreads through the substitution as there)."""
    lu, piv, use_a_t = factors if factors is not None else _lu_of(A)
    x = _fixed_solve(da.expand(A._data.shape), lu, piv, use_a_t, perturb)
    return x.diagonal(0, -2, -1).sum(-1)


def _det_jvp(ctx, da):
    A, det = ctx.saved_tensors
    if not A._data.size:
        return (det.unsqueeze(-1).unsqueeze(-1) * _mT(A) * da).sum((-2, -1))
    return _trace_solve(A, ctx.args[0], da, perturb=True) * det


LinalgDetBackward0 = node_class("LinalgDetBackward0", _det_vjp, _det_jvp)


def linalg_det(A, *, out=None):
    """The determinant of each square matrix in ``A``."""
    a = A._data
    _check_matrix("linalg.det", a, kernel="lu_cpu")
    factors = None
    if a.size and a.shape[-1] <= _LU_IN_NUMPY:
        factors = _lu_of(A)
        lu, piv, _ = factors
        n = a.shape[-1]
        prod = lu[:, 0, 0]
        with np.errstate(all="ignore"):
            for i in range(1, n):
                prod = prod * lu[:, i, i]
        data = (_swap_sign(piv, a.dtype) * prod).reshape(a.shape[:-2])
    else:
        with np.errstate(invalid="ignore", over="ignore"):  # (NaN in, NaN out: PyTorch is quiet)
            data = np.asarray(np.linalg.det(_lapack(a))).astype(a.dtype, copy=False)
    if STATE.enabled and recording(A):
        return record(LinalgDetBackward0, data, (A,), save=(A,), save_out=True, args=(factors,))
    return wrap(data)


def _slogdet_vjp(ctx, gsign, glogabs):
    if glogabs is None:
        return (None,)
    (A,) = ctx.saved_tensors
    a = A._data
    if not a.size:
        return (glogabs.unsqueeze(-1).unsqueeze(-1) * _mT(A),)
    if not STATE.enabled:
        d = _diag_np(np.asarray(glogabs._data, dtype=a.dtype), a.shape[-1])
        return (wrap(_solve_with(A, ctx.args[0], d, adjoint=True, perturb=False)),)
    from .matrix import diag_embed

    return (linalg_solve(_mT(A), diag_embed(glogabs.unsqueeze(-1).expand(a.shape[:-1]))),)


def _slogdet_jvp(ctx, da):
    (A,) = ctx.saved_tensors
    if not A._data.size:
        return out_zeros(ctx, 0), (_mT(A) * da).sum((-2, -1))
    return out_zeros(ctx, 0), _trace_solve(A, ctx.args[0], da, perturb=False)


LinalgSlogdetBackward0 = node_class("LinalgSlogdetBackward0", _slogdet_vjp, _slogdet_jvp)


def _slogdet(A, name, result_type):
    a = A._data
    _check_matrix(name, a)
    factors = None
    if a.size and a.shape[-1] <= _LU_IN_NUMPY:
        factors = _lu_of(A)
        lu, piv, _ = factors
        diag = np.diagonal(lu, 0, -2, -1)
        with np.errstate(all="ignore"):
            # (PyTorch's sgn of a real NaN is 0, NumPy's sign NaN)
            sgn = np.sign(diag) if diag.dtype.kind == "c" else \
                np.where(np.isnan(diag), 0, np.sign(diag)).astype(diag.dtype)
            sign = _swap_sign(piv, a.dtype) * sgn[:, 0]
            logabs = np.log(np.abs(diag[:, 0]))
            for i in range(1, a.shape[-1]):
                sign = sign * sgn[:, i]
                logabs = logabs + np.log(np.abs(diag[:, i]))
        sign = sign.reshape(a.shape[:-2])
        logabs = logabs.reshape(a.shape[:-2])
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            sign, logabs = np.linalg.slogdet(_lapack(a))
        sign = np.asarray(sign).astype(a.dtype, copy=False)
        logabs = np.asarray(logabs).astype(np.abs(np.zeros(0, a.dtype)).dtype, copy=False)
    if STATE.enabled and recording(A):
        # NOTE: sign is an output of the node too (its gradient is zero), as in PyTorch
        outs = record_multi(LinalgSlogdetBackward0, (sign, logabs), (A,), save=(A,),
                            args=(factors,))
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
    a = A._data
    if not STATE.enabled and a.size and a.shape[-1] <= _LU_IN_NUMPY:
        # PyTorch solves with the forward's factors of A (the transposed solve), so an inf or
        # NaN in g spreads as there (NOTE [det through LU]); with create_graph it solves again
        gm = g._data[..., None] if vector else g._data
        batch = np.broadcast_shapes(a.shape[:-2], gm.shape[:-2])
        gBm = wrap(_solve_lu(a, gm, batch, left, adjoint=True)[0])
        gB = gBm.squeeze(-1) if vector else gBm
    else:
        gB = linalg_solve(_mT(A), g, left=left)
        gBm = gB.unsqueeze(-1) if vector else gB
    if ctx.next_functions[0][0] is None:
        return None, gB
    if left:
        x = X.unsqueeze(-1) if vector else X
        return -(gBm @ _mT(x)), gB
    return -(_mT(X) @ gB), gB


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


def _solve_lu(a, bm, batch, left, adjoint=False):
    """``A^{-1} B`` (``B A^{-1}`` when not ``left``; ``A^{-T}`` for ``A^{-1}`` when
    ``adjoint``) as PyTorch's linalg.solve and its backward, which factor ``A`` itself whatever
    its layout (measured: their NaN and inf come out as getrs with those factors); and LAPACK's
    ``info`` for ``A``'s batch (the 1-based index of the first zero pivot, or 0)."""
    n = a.shape[-1]
    lu, piv = _getrf(a)
    zero = np.diagonal(lu, 0, -2, -1) == 0
    info = np.where(zero.any(-1), zero.argmax(-1) + 1, 0).astype(np.int32).reshape(a.shape[:-2])
    lu = _flat(np.broadcast_to(lu.reshape(a.shape), batch + (n, n)))
    piv = np.broadcast_to(piv.reshape(a.shape[:-1]), batch + (n,)).reshape(-1, n)
    rhs = np.broadcast_to(bm, batch + bm.shape[-2:])
    rhs = rhs if left else np.swapaxes(rhs, -1, -2)
    # a right solve is the left one of the transposes: X A = B is A^T X^T = B^T
    x = _getrs(lu, piv, _flat(rhs), transposed=adjoint == left).reshape(rhs.shape)
    return (x if left else np.swapaxes(x, -1, -2)), info


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
    if a.size and n <= _LU_IN_NUMPY:
        # NOTE [det through LU]: PyTorch's factors and substitution, so non-finite values and
        # roundoff spread as there (det's and slogdet's create_graph rules solve here)
        data, info = _solve_lu(a, bm, batch, left)
        if info.any():
            k = int(np.flatnonzero(info.reshape(-1))[0])
            raise _LinAlgError(f"torch.linalg.solve: {_batch_prefix(a, k)}The solver failed "
                               "because the input matrix is singular.")
    else:
        aa = _lapack(np.broadcast_to(a, batch + a.shape[-2:]))
        bb = _lapack(np.broadcast_to(bm, batch + bm.shape[-2:]))
        try:
            if left:
                data = np.linalg.solve(aa, bb)
            else:
                data = np.swapaxes(np.linalg.solve(np.swapaxes(aa, -1, -2),
                                                   np.swapaxes(bb, -1, -2)), -1, -2)
        except np.linalg.LinAlgError:
            raise _LinAlgError("torch.linalg.solve: The solver failed because the input matrix "
                               "is singular.") from None
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
    if a.shape[-1] <= _LU_IN_NUMPY:  # (a singular A is not empty)
        data, info = _solve_lu(a, bm, batch, left)
        data = data[..., 0] if vector else data
        return _solve_ex_type(wrap(np.ascontiguousarray(data)), wrap(info))
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
