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
LAPACK calls (LU and triangular solves are vectorised NumPy, so SciPy is not needed); det,
slogdet, solve and their rules factor and substitute in NumPy as PyTorch's CPU LAPACK does for
the matrices where that decides the answer (holding inf or NaN, singular, a non-finite
gradient), so their NaN, inf and zeros follow PyTorch's (NOTE [det through LU]); backward rules
are PyTorch's (FunctionsManual.cpp) written in ember ops, so they differentiate again
(first-order rules that PyTorch runs on its saved factors run in NumPy), and each node has a
forward-mode rule. Device arrays (CuPy's) take CuPy's linalg; the emulation runs on the host.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import STATE
from ..tensor import to_host, zeros_as
from ._jvp import out_zeros
from ._linalg_base import (  # noqa: F401  (re-exported: lu, triangular, spectral... import them here)
    _batch_prefix,
    _check_float,
    _check_matrix,
    _contiguous,
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
    _xp,
    with_out,
)
from ._registry import (
    as_array,
    device_of,
    node_class,
    on_device,
    record,
    record_multi,
    recording,
    register,
    wrap,
)
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
    message = ("The diagonal element {k} is zero, the inversion could not be completed "
               "because the input matrix is singular.")
    try:
        data = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        _singular("linalg.inv", to_host(a), message)
    if type(a) is not np.ndarray and a.size and device_of(a).type == "cuda" and \
            not np.isfinite(data).all():
        # (CuPy's inv does not check LAPACK's info: a singular matrix gives inf or NaN there,
        # told from a non-finite input on the host, where the error names the element)
        host = to_host(a)
        try:
            np.linalg.inv(host)
        except np.linalg.LinAlgError:
            _singular("linalg.inv", host, message)
    # NOTE: column-major matrices, as LAPACK's result in PyTorch: a reshape of it copies (an
    # in-place op on ``inv(A).reshape(-1)`` leaves the inverse unchanged, as there)
    data = _lapack_layout(data)
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
# an exactly singular matrix has det == 0 where its factors have a zero pivot. ember emulates
# this in NumPy: ``_getrf`` is the factorization of PyTorch's CPU LAPACK (MKL), bit for bit on
# the sizes measured (up to 16, NaN and inf included), ``_getrs`` the substitution (its
# roundoff is not MKL's: equal within tolerance, and where an exactly singular matrix makes the
# result inf or NaN, a leftover 1e-16 against an exact 0 can tell inf from NaN).
# The emulation is a Python loop per column (det of a 256 x 256 matrix: 55 ms against LAPACK's
# 0.7), so it runs only for the batch elements where the factors change the answer; the others
# take LAPACK's answer through NumPy (np.linalg.det, slogdet, solve), PyTorch's within roundoff.
# The elements emulated (``_misses``, ``_rule_solve``, ``_solve_data``): a matrix holding inf or
# NaN; a non-finite right-hand side (an upstream gradient, a tangent) or result; and the
# singular ones, where roundoff decides whether MKL's pivot is exactly 0: det == 0, LAPACK
# refusing a zero pivot, and up to _EXACT_SMALL rows a |det| within ``4 n eps`` of Hadamard's
# bound (the product of the row norms: measured on exactly singular integer and rank-deficient
# matrices, NumPy's LAPACK left a nonzero det where MKL's was 0 in up to a quarter of them,
# each within 0.3 n eps of the bound, while a well-conditioned 16 x 16 matrix is near 1e-3 of
# it). Larger matrices fall below the bound as they grow (a random one as sqrt(n! / n^n), a
# banded one faster), so no threshold there tells a singular one from a sound one: above
# _EXACT_SMALL rows, where the emulation is not MKL's bit for bit either, a matrix singular by
# roundoff keeps LAPACK's leftover. A solve takes no determinant: where LAPACK's X grows past
# ``max |B| / (16 n eps max |A|)`` (a pivot of roundoff size) the determinant is taken and
# decides; a B in the range of a singular A grows no X, and there LAPACK's answer stands
# (PyTorch may raise). The rules:
# - det, first order: a zero pivot is made eps, so at det == 0 the gradient is 0 * finite =
#   zeros (NaN for an infinite one), not the cofactor matrix; a 1x1 passes the gradient on.
# - slogdet, first order: the factors as they are (inf / NaN at a singular matrix).
# - with create_graph: ``linalg.solve(A^T, diag(g det))`` (``diag(g)`` for slogdet, the
#   forward's check of A carried over), which differentiates again; det takes the singular
#   value form where |det| < 100 eps (its NaN and inf for a non-finite gradient then follow the
#   singular vectors' roundoff).
# - forward mode: ``trace(A^{-1} dA) det`` by a solve of dA with the factors (a zero pivot made
#   eps for det), the factors carrying no tangent of their own, as PyTorch's.
# On a device the ordinary elements take CuPy's linalg, and the emulation runs on the host
# (``_exact``: to_host, NumPy, on_device): a loop of small steps, each a kernel launch there.
_LU_IN_NUMPY = 512  # larger matrices take their values from LAPACK alone
_EXACT_SMALL = 16  # the emulation is MKL's bit for bit up to this size; _tol's step (the NOTE)


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


def _factors_a_t(a):
    """Whether PyTorch's det and slogdet factor A^T (a contiguous real A) rather than A."""
    return bool(a.flags.c_contiguous) and a.dtype.kind != "c"


def _tol(n, dtype):
    """``_ordinary``'s threshold on ``2 log(|det A| / bound)`` for ``n`` rows: ``4 n eps`` up to
    _EXACT_SMALL rows; above, none (only det == 0 and inf or NaN count, NOTE [det through
    LU])."""
    tol = _TOL.get((n, dtype))
    if tol is None:
        tol = _TOL[n, dtype] = (2 * math.log(4 * n * float(np.finfo(dtype).eps))
                                if n <= _EXACT_SMALL else -math.inf)
    return tol


_TOL: dict = {}  # (rows, dtype) -> _tol


def _ordinary(a, d, log=True):
    """Where LAPACK's answer for the matrices of ``a`` is PyTorch's within roundoff (NOTE [det
    through LU]): a mask of ``a``'s batch shape, from ``d``, LAPACK's det of ``a`` (its
    ``log |det|`` where not ``log``; NaN for NaN)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        logabs = np.log(np.abs(d)) if log else d
        if type(a) is np.ndarray:
            rows = np.vecdot(a, a)  # (one call: the squared row norms)
            rows = rows.real if a.dtype.kind == "c" else rows
        else:
            rows = (a.real * a.real + a.imag * a.imag if a.dtype.kind == "c" else a * a).sum(-1)
        # log |det| against Hadamard's bound, squared (an overflowing det passes: LAPACK's inf
        # is PyTorch's; an inf or NaN in A makes the bound inf or NaN, never ordinary); the sum
        # of the logs as a product with ones (NumPy's sum over a short axis is slow)
        logs = np.log(rows)
        bound = logs @ _xp(logs).ones(a.shape[-1], logs.dtype)
        return 2 * logabs - bound > _tol(a.shape[-1], a.dtype)


def _ordinary_one(a, d, log):
    """``_ordinary`` of one NumPy matrix, in Python's scalar math (cheaper than NumPy's calls
    on a small matrix): a bool."""
    if log:
        x = abs(complex(d)) if a.dtype.kind == "c" else abs(float(d))
        logabs = math.log(x) if x > 0 else -math.inf  # (NaN: -inf, never ordinary)
    else:
        logabs = float(d)
    n = a.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rows = np.vecdot(a, a)
        rows = rows.real if a.dtype.kind == "c" else rows
        if n > _EXACT_SMALL:
            bound = float(np.log(rows).sum())
        else:
            try:
                bound = sum(map(math.log, rows.tolist()))
            except ValueError:  # (a zero row: det 0)
                return False
    return 2 * logabs - bound > _tol(n, a.dtype)


def _misses(a, d, log=True):
    """The matrices of ``a`` whose det, slogdet or solve the emulation must give (NOTE [det
    through LU]): None for none, else a mask of the flattened batch. ``d``: LAPACK's det of
    ``a`` (its ``log |det|`` where not ``log``)."""
    if a.ndim == 2 and type(a) is np.ndarray:
        return None if _ordinary_one(a, d, log) else np.ones(1, bool)
    ok = _ordinary(a, d, log)
    return None if ok.all() else ~ok.reshape(-1)


def _exact(a, sel):
    """The matrices ``sel`` (flat batch indices; None: all) of ``a``, on the host for the
    emulation."""
    f = _flat(a)
    return to_host(f if sel is None else f[sel])


def _put(flat, sel, values):
    """``flat`` (a flattened batch of results) with its elements ``sel`` set to ``values`` (the
    emulation's, brought to ``flat``'s device)."""
    flat[sel] = on_device(values, device_of(flat))
    return flat


def _det_of(m):
    """det of each matrix of ``m`` (host, flattened batch) from its emulated factors."""
    lu, piv = _getrf(m)
    prod = lu[:, 0, 0]
    with np.errstate(all="ignore"):
        for i in range(1, m.shape[-1]):
            prod = prod * lu[:, i, i]
    return _swap_sign(piv, m.dtype) * prod


def _slogdet_of(m):
    """(sign, log |det|) of each matrix of ``m`` (host, flattened batch) from its emulated
    factors."""
    lu, piv = _getrf(m)
    diag = np.diagonal(lu, 0, -2, -1)
    with np.errstate(all="ignore"):
        # (PyTorch's sgn of a real NaN is 0, NumPy's sign NaN)
        sgn = np.sign(diag) if diag.dtype.kind == "c" else \
            np.where(np.isnan(diag), 0, np.sign(diag)).astype(diag.dtype)
        sign = _swap_sign(piv, m.dtype) * sgn[:, 0]
        logabs = np.log(np.abs(diag[:, 0]))
        for i in range(1, m.shape[-1]):
            sign = sign * sgn[:, i]
            logabs = logabs + np.log(np.abs(diag[:, i]))
    return sign, logabs


def _swap_sign(piv, dtype):
    odd = np.count_nonzero(piv != np.arange(piv.shape[-1]), axis=-1) % 2
    return np.where(odd == 1, -1, 1).astype(dtype)


def _rule_solve(a, args, b, adjoint, perturb):
    """``A^{-1} B`` (``A^{-T} B`` when ``adjoint``) for det's and slogdet's rules, each matrix of
    ``b`` (A's batch shape): LAPACK's solve, and where the factors decide (NOTE [det through
    LU]: the forward's ``bad`` elements, a non-finite B or result, LAPACK refusing) the
    substitution with PyTorch's factors of A (a zero pivot made eps when ``perturb``).
    ``args``: the forward's ``(A^T factored, bad)``."""
    use_a_t, bad = args
    try:
        x = np.linalg.solve(np.swapaxes(a, -1, -2) if adjoint else a, b)
    except np.linalg.LinAlgError:  # (a zero pivot, or inf - inf: NumPy's errstate refuses)
        x = sel = None
    if x is not None:
        if bad is None and np.isfinite(x).all():
            return x
        # (A finite, an inf or NaN in B leaves one in X: the finiteness of X tells both)
        ok = np.isfinite(x).all((-2, -1)).reshape(-1)
        if bad is not None:
            ok = ok & ~bad
        if ok.all():
            return x
        sel = np.flatnonzero(~ok)
    m = _exact(a, sel)
    lu, piv = _getrf(np.swapaxes(m, -1, -2) if use_a_t else m)
    xs = _getrs(lu, piv, _exact(b, sel), transposed=adjoint != use_a_t, perturb=perturb)
    if x is None:
        return on_device(xs, device_of(a)).reshape(b.shape)
    return _put(_flat(x), sel, xs).reshape(b.shape)


def _diag(v, n):
    """Matrices with ``v`` on their diagonals and exact zeros elsewhere (``v * I`` would put
    0 * inf = NaN there)."""
    out = zeros_as(v, shape=v.shape + (n, n))
    idx = _xp(v).arange(n)
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
            d = _diag(as_array(g._data * det._data).astype(a.dtype, copy=False), n)
        return (wrap(_rule_solve(a, ctx.args, d, adjoint=True, perturb=True)),)
    from .matrix import diag_embed

    d = diag_embed((g * det).unsqueeze(-1).expand(shape[:-1]))
    small = np.abs(det._data) < 100 * np.finfo(a.dtype).eps
    if small.all():
        return (_det_singular_grad(A, g),)
    bad = ctx.args[1]  # (the forward's check of A holds for A^T)
    bad = None if bad is None else bad.reshape(shape[:-2])
    if not small.any():
        return (_solve(_mT(A), d, a_bad=bad),)
    # PyTorch's masked_fmap: each batch element by its own formula
    from .indexing import index_put

    mask, keep = wrap(small), wrap(~small)
    out = index_put(wrap(np.zeros_like(a)), (mask,), _det_singular_grad(A[mask], g[mask]))
    d_keep = _solve(_mT(A[keep]), d[keep], a_bad=None if bad is None else bad[~small])
    return (index_put(out, (keep,), d_keep),)


def _fixed_solve_vjp(ctx, g):
    a, args, adjoint, perturb = ctx.args
    return (_fixed_solve(g, a, args, not adjoint, perturb),)


def _fixed_solve_jvp(ctx, db):
    return _fixed_solve(db, *ctx.args)


# PyTorch's name: lu_solve's node, whose factors take no gradient here
_FixedLuSolve = node_class("LinalgLuSolveBackward0", _fixed_solve_vjp, _fixed_solve_jvp)


def _fixed_solve(b, a, args, adjoint, perturb):
    """``A^{-1} B`` (``A^{-T} B``) for a constant ``A`` (the array ``a``; ``_rule_solve``), an
    op linear in ``B``, so the forward rules below differentiate again (A does not, as
    PyTorch's factors)."""
    data = _rule_solve(a, args, b._data, adjoint, perturb)
    if STATE.enabled and recording(b):
        return record(_FixedLuSolve, data, (b,), args=(a, args, adjoint, perturb))
    return wrap(data)


def _trace_solve(A, args, da, perturb):
    """``trace(A^{-1} dA)`` as PyTorch's forward rules: a solve with the factors, then the
    diagonal summed (an inf in ``dA`` spreads through the substitution as there)."""
    x = _fixed_solve(da.expand(A._data.shape), A._data, args, False, perturb)
    return x.diagonal(0, -2, -1).sum(-1)


def _det_jvp(ctx, da):
    A, det = ctx.saved_tensors
    if not A._data.size:
        return (det.unsqueeze(-1).unsqueeze(-1) * _mT(A) * da).sum((-2, -1))
    return _trace_solve(A, ctx.args, da, perturb=True) * det


LinalgDetBackward0 = node_class("LinalgDetBackward0", _det_vjp, _det_jvp)


def linalg_det(A, *, out=None):
    """The determinant of each square matrix in ``A``."""
    a = A._data
    _check_matrix("linalg.det", a, kernel="lu_cpu")
    with np.errstate(invalid="ignore", over="ignore"):  # (NaN in, NaN out: PyTorch is quiet)
        data = as_array(np.linalg.det(_lapack(a))).astype(a.dtype, copy=False)
    bad = _misses(a, data) if a.size else None
    if bad is not None and a.shape[-1] <= _LU_IN_NUMPY:
        # NOTE [det through LU]: these take their values from the factors
        sel = np.flatnonzero(bad)
        m = _exact(a, sel)
        vals = _det_of(np.swapaxes(m, -1, -2) if _factors_a_t(a) else m)
        data = _put(data.reshape(-1), sel, vals).reshape(data.shape)
    if STATE.enabled and recording(A):
        return record(LinalgDetBackward0, data, (A,), save=(A,), save_out=True,
                      args=(_factors_a_t(a), bad))
    return wrap(data)


def _slogdet_vjp(ctx, gsign, glogabs):
    if glogabs is None:
        return (None,)
    (A,) = ctx.saved_tensors
    a = A._data
    if not a.size:
        return (glogabs.unsqueeze(-1).unsqueeze(-1) * _mT(A),)
    if not STATE.enabled:
        d = _diag(as_array(glogabs._data).astype(a.dtype, copy=False), a.shape[-1])
        return (wrap(_rule_solve(a, ctx.args, d, adjoint=True, perturb=False)),)
    from .matrix import diag_embed

    bad = ctx.args[1]  # (the forward's check of A holds for A^T)
    return (_solve(_mT(A), diag_embed(glogabs.unsqueeze(-1).expand(a.shape[:-1])),
                   a_bad=None if bad is None else bad.reshape(a.shape[:-2])),)


def _slogdet_jvp(ctx, da):
    (A,) = ctx.saved_tensors
    if not A._data.size:
        return out_zeros(ctx, 0), (_mT(A) * da).sum((-2, -1))
    return out_zeros(ctx, 0), _trace_solve(A, ctx.args, da, perturb=False)


LinalgSlogdetBackward0 = node_class("LinalgSlogdetBackward0", _slogdet_vjp, _slogdet_jvp)


def _slogdet(A, name, result_type):
    a = A._data
    _check_matrix(name, a)
    with np.errstate(invalid="ignore", divide="ignore"):
        sign, logabs = np.linalg.slogdet(_lapack(a))
    sign, logabs = as_array(sign), as_array(logabs)
    if sign.dtype != a.dtype:  # (an empty half batch, computed as float32)
        sign = sign.astype(a.dtype)
        logabs = logabs.astype(np.abs(np.zeros(0, a.dtype)).dtype)
    bad = _misses(a, logabs, log=False) if a.size else None
    if bad is not None and a.shape[-1] <= _LU_IN_NUMPY:
        # NOTE [det through LU]: these take their values from the factors
        sel = np.flatnonzero(bad)
        m = _exact(a, sel)
        s, ld = _slogdet_of(np.swapaxes(m, -1, -2) if _factors_a_t(a) else m)
        sign = _put(sign.reshape(-1), sel, s).reshape(sign.shape)
        logabs = _put(logabs.reshape(-1), sel, ld).reshape(logabs.shape)
    if STATE.enabled and recording(A):
        # NOTE: sign is an output of the node too (its gradient is zero), as in PyTorch
        outs = record_multi(LinalgSlogdetBackward0, (sign, logabs), (A,), save=(A,),
                            args=(_factors_a_t(a), bad))
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
    nan = wrap(np.full_like(logabs._data, np.nan, shape=()))
    return where(sign < 0, nan, logabs)


# ---- solve ----
def _solve_vjp(ctx, g):
    A, X = ctx.saved_tensors
    left, vector, a_bad = ctx.args
    a = A._data
    if not STATE.enabled and a.size and a.shape[-1] <= _LU_IN_NUMPY:
        # PyTorch solves with the forward's factors of A (the transposed solve), so an inf or
        # NaN in g spreads as there (NOTE [det through LU]); with create_graph it solves again
        gm = g._data[..., None] if vector else g._data
        batch = np.broadcast_shapes(a.shape[:-2], gm.shape[:-2])
        gBm = wrap(_solve_data(a, gm, batch, left, adjoint=True, a_bad=a_bad)[0])
        gB = gBm.squeeze(-1) if vector else gBm
    else:
        gB = _solve(_mT(A), g, left, a_bad)
        gBm = gB.unsqueeze(-1) if vector else gB
    if ctx.next_functions[0][0] is None:
        return None, gB
    if left:
        x = X.unsqueeze(-1) if vector else X
        return -(gBm @ _mT(x)), gB
    return -(_mT(X) @ gB), gB


def _solve_jvp(ctx, da, db):
    A, X = ctx.saved_tensors
    left, vector, a_bad = ctx.args
    if left:
        x = X.unsqueeze(-1) if vector else X
        rhs = None if da is None else -(da @ x)
        if vector and rhs is not None:
            rhs = rhs.squeeze(-1)
        if db is not None:
            rhs = db if rhs is None else rhs + db
        return _solve(A, rhs, a_bad=a_bad).expand(ctx._meta[0][0])
    rhs = None if da is None else -(X @ da)
    if db is not None:
        rhs = db if rhs is None else rhs + db
    return _mT(_solve(_mT(A), _mT(rhs), a_bad=a_bad)).expand(ctx._meta[0][0])


LinalgSolveExBackward0 = node_class("LinalgSolveExBackward0", _solve_vjp, _solve_jvp)


def _solve_grown(a, rhs, x, a_bad):
    """``a_bad`` (False: not known) after LAPACK's solve ``X`` of ``A X = B`` (``a``, ``rhs``):
    the matrices holding inf or NaN, and up to _EXACT_SMALL rows the nearly singular ones: a
    solve takes no determinant unless its result shows one, where ``max |A| max |X| > max |B|
    / (16 n eps)`` (a pivot of roundoff size), and its determinant then decides (``_misses``).
    A mask of ``a``'s batch shape, or None. (A B in the range of a singular A grows no X:
    LAPACK's answer stands there, NOTE [det through LU].)"""
    if not x.size:  # (nothing solved: B has no columns, or an empty batch)
        return None if a_bad is False else a_bad
    small = a.shape[-1] <= _EXACT_SMALL
    lim = 1 / (16 * a.shape[-1] * float(np.finfo(a.dtype).eps))
    with np.errstate(invalid="ignore", over="ignore"):
        # first over the whole batch (NumPy's maxima over short axes are slow): no X grew
        # where even the largest entries of X and A against B's smallest pass (an inf or NaN
        # in A fails it)
        amax = np.abs(a).max()
        if (np.abs(x).max() * amax <= np.abs(rhs).min() * lim) if small else np.isfinite(amax):
            return None if a_bad is False else a_bad
        if a_bad is False:
            finite = np.isfinite(a.sum((-2, -1)))
            a_bad = None if finite.all() else ~finite
        if not small:
            return a_bad
        grown = np.abs(x).max((-2, -1)) * np.abs(a).max((-2, -1)) > \
            np.abs(rhs).max((-2, -1)) * lim
    if not grown.any():
        return a_bad
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.linalg.det(a)
    bad = _misses(a, d)
    if bad is None:
        return a_bad
    bad = bad.reshape(a.shape[:-2])
    return bad if a_bad is None else a_bad | bad


def _solve_data(a, bm, batch, left, adjoint=False, a_bad=False):
    """``A^{-1} B`` (``B A^{-1}`` when not ``left``; ``A^{-T}`` for ``A^{-1}`` when
    ``adjoint``) over the broadcast ``batch``, as PyTorch's linalg.solve and its backward, which
    factor ``A`` itself whatever its layout (measured: their NaN and inf come out as getrs with
    those factors): LAPACK's solve, and the emulated factors and substitution for the elements
    where those decide (NOTE [det through LU]): ``a_bad``, the matrices of ``A`` found nearly
    singular or holding inf or NaN (a mask of A's batch shape; None: none; False: not known,
    found here, as this returns it), a non-finite B or result, LAPACK refusing a zero pivot.
    Returns ``(X, info, a_bad)``, ``info`` LAPACK's for each matrix of ``A`` (the 1-based index
    of the first zero pivot, or 0; a host array), None where nothing was emulated."""
    # a right solve is the left one of the transposes: X A = B is A^T X^T = B^T
    transposed = adjoint == left
    rhs = bm if bm.shape[:-2] == batch else np.broadcast_to(bm, batch + bm.shape[-2:])
    rhs = rhs if left else np.swapaxes(rhs, -1, -2)
    aa = a if a.shape[:-2] == batch else np.broadcast_to(a, batch + a.shape[-2:])
    try:
        x = np.linalg.solve(np.swapaxes(aa, -1, -2) if transposed else aa, rhs)
    except np.linalg.LinAlgError:  # (a zero pivot, or inf - inf: NumPy's errstate refuses)
        x = sel = None
    if x is not None:
        a_bad = _solve_grown(a, rhs, x, a_bad)
        if a_bad is None and np.isfinite(x).all():
            return (x if left else np.swapaxes(x, -1, -2)), None, a_bad
        # (A finite, an inf or NaN in B leaves one in X: the finiteness of X tells both)
        ok = np.isfinite(x).all((-2, -1))
        if a_bad is not None:
            ok = ok & ~a_bad
        if ok.all():
            return (x if left else np.swapaxes(x, -1, -2)), None, a_bad
        sel = np.flatnonzero(~ok)
    lu, piv = _getrf(_exact(aa, sel))
    xs = _getrs(lu, piv, _exact(rhs, sel), transposed)
    zero = np.diagonal(lu, 0, -2, -1) == 0
    # LAPACK's info per matrix of A: each batch element's own matrix (copies agree)
    count = int(np.prod(a.shape[:-2]))
    owner = np.broadcast_to(np.arange(count).reshape(a.shape[:-2]), batch).reshape(-1)
    info = np.zeros(count, np.int32)
    info[owner if sel is None else owner[to_host(sel)]] = \
        np.where(zero.any(-1), zero.argmax(-1) + 1, 0)
    if x is None:
        x = on_device(xs, device_of(a)).reshape(rhs.shape)
    else:
        x = _put(_flat(x), sel, xs).reshape(rhs.shape)
    return (x if left else np.swapaxes(x, -1, -2)), info, a_bad


def linalg_solve(A, B, *, left=True, out=None):
    """The solution ``X`` of ``A X = B`` (``X A = B`` when ``left=False``); ``B`` may be a
    (batch of) vector(s)."""
    return _solve(A, B, left)


def _solve(A, B, left=True, a_bad=False):
    """``linalg_solve``; the rules that solve with a matrix already checked pass its
    ``a_bad`` (``_solve_data``)."""
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
        # NOTE [det through LU]: PyTorch's factors and substitution where they decide, so
        # non-finite values spread as there (det's and slogdet's create_graph rules solve here)
        data, info, a_bad = _solve_data(a, bm, batch, left, a_bad=a_bad)
        if info is not None and info.any():
            k = int(np.flatnonzero(info)[0])
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
    data = _contiguous(data.astype(a.dtype, copy=False))
    if STATE.enabled:
        ra, rb = recording(A), recording(B)
        if ra or rb:
            out = record(LinalgSolveExBackward0, data, (A, B), save=(A,), save_out=True,
                         args=(left, vector, a_bad))
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
    # (a singular matrix: LAPACK's partial results, by NumPy loops on the host)
    dev, a = device_of(A._data), to_host(A._data)
    info = np.array([_first_zero_pivot(m) for m in _flat(a)], np.int32)
    eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
    data = _lu_solve_data(a, eye)
    return _inv_ex_type(wrap(on_device(data, dev)),
                        wrap(on_device(info.reshape(a.shape[:-2]), dev)))


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
    dev = device_of(a)
    if a.shape[-1] <= _LU_IN_NUMPY:  # (a singular A is not empty)
        data, info, _ = _solve_data(a, bm, batch, left)
        if info is None:
            info = np.zeros(int(np.prod(a.shape[:-2])), np.int32)
        data = data[..., 0] if vector else data
        return _solve_ex_type(wrap(_contiguous(data)),
                              wrap(on_device(info.reshape(a.shape[:-2]), dev)))
    # (a singular matrix: LAPACK's partial results, by NumPy loops on the host)
    a, bm = to_host(a), to_host(bm)
    aa = np.broadcast_to(a, batch + a.shape[-2:])
    bb = np.broadcast_to(bm, batch + bm.shape[-2:])
    if left:
        data = _lu_solve_data(aa, bb)
    else:
        data = np.swapaxes(_lu_solve_data(np.swapaxes(aa, -1, -2), np.swapaxes(bb, -1, -2)),
                           -1, -2)
    data = data[..., 0] if vector else data
    info = np.array([_first_zero_pivot(m) for m in _flat(aa)], np.int32).reshape(batch)
    return _solve_ex_type(wrap(on_device(np.ascontiguousarray(data), dev)),
                          wrap(on_device(info, dev)))


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
        eye = wrap(np.broadcast_to(_xp(a).eye(a.shape[-1], dtype=a.dtype), a.shape).copy())
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
