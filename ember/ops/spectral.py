"""Spectral matrix functions behind ``ember.linalg``: svd, svdvals, eigh, eigvalsh, pinv,
lstsq, matrix_exp, matrix_norm, norm, matrix_rank, cond, and the older ``torch.*`` spellings
(svd, pinverse, matrix_exp, nuclear_norm). The factorizations and solves live in
``decomposition`` (inv, det, solve), ``cholesky_qr`` and ``lu``; the shared helpers (``with_out``,
result types, checks) in ``_linalg_base``, imported here through ``decomposition``.

Contract: as ``decomposition``: PyTorch's signatures, named-tuple results, batching over
leading dims and error messages. Forwards are NumPy's LAPACK calls; backward rules are
PyTorch's (FunctionsManual.cpp) written in ember ops, so they differentiate again, and each node
has a forward-mode rule. Decompositions whose factors are unique only up to sign (svd, eigh)
follow NumPy's LAPACK choice of sign.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ..tensor import Tensor, as_array
from ._jvp import out_zeros
from ._linalg_base import _contiguous, _xp
from ._registry import node_class, record, record_multi, recording, register, wrap
from .decomposition import (
    _batch_prefix,
    _check_matrix,
    _eye,
    _first_zero_pivot,
    _half_name,
    _lapack,
    _lapack_layout,
    _LinAlgError,
    _mT,
    _result_type,
    _warn_once,
    linalg_inv,
    with_out,
)

_svd_type = _result_type("linalg_svd", ("U", "S", "Vh"))
_eigh_type = _result_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
_lstsq_type = _result_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))


# ---- svd / svdvals ----
# NOTE [spectral gradients]: svd and eigh rules divide by differences of (squared) singular
# values / eigenvalues, so they hold for distinct ones (PyTorch's "F matrix"); the diagonal of
# the divisor is set to 1 where the numerator's diagonal is zero.

def _np_svd(a, **kwargs):
    """NumPy's SVD with PyTorch's error: LAPACK does not converge on inf or NaN input."""
    finite = np.isfinite(a).all(axis=(-2, -1)) if a.dtype.kind in "fc" else True
    if not np.all(finite):
        b = int(np.argmin(np.ravel(finite)))
        raise _LinAlgError(f"linalg.svd: {_batch_prefix(a, b)}The algorithm failed to converge "
                           "because the input matrix contained non-finite values.")
    try:
        return np.linalg.svd(a, **kwargs)
    except np.linalg.LinAlgError:
        raise _LinAlgError("linalg.svd: The algorithm failed to converge because the input "
                           "matrix is ill-conditioned or has too many repeated singular values "
                           "(error code: 1).") from None

def _svd_vjp(ctx, gU, gS, gVh):
    U, S, Vh = ctx.saved_tensors
    full, m, n = ctx.args
    k = min(m, n)
    if full and (gU is not None or gVh is not None):
        U, Vh = U.narrow(-1, 0, k), Vh.narrow(-2, 0, k)
        gU = gU.narrow(-1, 0, k) if gU is not None else None
        gVh = gVh.narrow(-2, 0, k) if gVh is not None else None
    elif full:
        U, Vh = U.narrow(-1, 0, k), Vh.narrow(-2, 0, k)
    if gU is None and gVh is None:
        return ((U * gS.unsqueeze(-2)) @ Vh,)
    s2 = S * S
    eye = _eye(k, S)
    E = s2.unsqueeze(-2) - s2.unsqueeze(-1) + eye
    V, gV = _mT(Vh), (_mT(gVh) if gVh is not None else None)
    ga = None
    if gU is not None:
        uhgu = _mT(U) @ gU
        ga = (uhgu - _mT(uhgu)) * S.unsqueeze(-2)
    if gV is not None:
        vhgv = _mT(V) @ gV
        c = S.unsqueeze(-1) * (vhgv - _mT(vhgv))
        ga = c if ga is None else ga + c
    ga = ga / E
    if gS is not None:
        ga = ga + gS.diag_embed()
    if m > k and gU is not None:
        ga = U @ ga
        gus = gU / S.unsqueeze(-2)
        ga = ga + gus - U @ (_mT(U) @ gus)
        ga = ga @ Vh
    elif n > k and gV is not None:
        ga = ga @ Vh
        gvs = gV / S.unsqueeze(-2)
        ga = ga + _mT(gvs) - (_mT(gvs) @ V) @ Vh
        ga = U @ ga
    else:
        ga = U @ ga @ Vh
    return (ga,)


def _svd_jvp(ctx, da):
    U, S, Vh = ctx.saved_tensors
    full, m, n = ctx.args
    k = min(m, n)
    if full:
        U, Vh = U.narrow(-1, 0, k), Vh.narrow(-2, 0, k)
    V = _mT(Vh)
    dp = _mT(U) @ da @ V
    ds = dp.diagonal(0, -2, -1)
    s2 = S * S
    eye = _eye(k, S)
    F = (1 - eye) / (s2.unsqueeze(-2) - s2.unsqueeze(-1) + eye)
    sd, sr = S.unsqueeze(-1), S.unsqueeze(-2)
    du = U @ (F * (dp * sr + sd * _mT(dp)))
    dv = V @ (F * (sd * dp + _mT(dp) * sr))
    if m > k:
        du = du + (da @ V - U @ (_mT(U) @ da @ V)) / sr
    if n > k:
        dv = dv + (_mT(da) @ U - V @ (_mT(V) @ _mT(da) @ U)) / sr
    if full and m != n:
        from .join import cat

        if m > k:
            du = cat([du, U.narrow(-1, 0, 1).expand(*du._data.shape[:-1], m - k) * 0], -1)
        else:
            dv = cat([dv, V.narrow(-1, 0, 1).expand(*dv._data.shape[:-1], n - k) * 0], -1)
    return du, ds, _mT(dv)


LinalgSvdBackward0 = node_class("LinalgSvdBackward0", _svd_vjp, _svd_jvp)


def linalg_svd(A, full_matrices=True, *, driver=None, out=None):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``, ``S`` descending."""
    a = A._data
    _check_matrix("linalg.svd", a, square=False, kernel="linalg_svd_cpu")
    m, n = a.shape[-2:]
    if a.size:
        u, s, vh = _np_svd(a, full_matrices=full_matrices)
    else:
        k = min(m, n)
        xp = _xp(a)
        u = np.broadcast_to(xp.eye(m, m if full_matrices else k, dtype=a.dtype),
                            a.shape[:-2] + (m, m if full_matrices else k)).copy()
        vh = np.broadcast_to(xp.eye(n if full_matrices else k, n, dtype=a.dtype),
                             a.shape[:-2] + (n if full_matrices else k, n)).copy()
        s = xp.zeros(a.shape[:-2] + (k,), a.dtype)
    # NOTE: column-major U and Vh, as LAPACK's in PyTorch (a reshape of them copies)
    datas = [_lapack_layout(u.astype(a.dtype, copy=False)),
             _contiguous(s.astype(a.dtype, copy=False)),
             _lapack_layout(vh.astype(a.dtype, copy=False))]
    if STATE.enabled and recording(A):
        outs = record_multi(LinalgSvdBackward0, datas, (A,), args=(full_matrices, m, n))
        node = outs[0]._grad_fn
        for i, o in enumerate(outs):
            node.save_output(o, i)
        return _svd_type(*outs)
    return _svd_type(*(wrap(x) for x in datas))


def linalg_svdvals(A, *, driver=None, out=None):
    """The singular values of ``A``, descending."""
    a = A._data
    _check_matrix("linalg.svd", a, square=False, kernel="linalg_svd_cpu")
    if STATE.enabled and recording(A):
        return linalg_svd(A, full_matrices=False)[1]
    data = _np_svd(a, compute_uv=False) if a.size else \
        _xp(a).zeros(a.shape[:-2] + (min(a.shape[-2:]),), a.dtype)
    return wrap(data.astype(a.dtype, copy=False))


# ---- eigh / eigvalsh ----
def _eigh_vjp(ctx, gL, gV):
    L, V = ctx.saved_tensors
    if gV is None:
        return ((V * gL.unsqueeze(-2)) @ _mT(V),)
    n = L._data.shape[-1]
    eye = _eye(n, L)
    E = L.unsqueeze(-2) - L.unsqueeze(-1) + eye
    vhgv = _mT(V) @ gV
    inner = (vhgv - _mT(vhgv)) * 0.5 / E
    if gL is not None:
        inner = inner + gL.diag_embed()
    return (V @ inner @ _mT(V),)


def _eigh_jvp(ctx, da):
    L, V = ctx.saved_tensors
    n = L._data.shape[-1]
    eye = _eye(n, L)
    F = (1 - eye) / (L.unsqueeze(-2) - L.unsqueeze(-1) + eye)
    dp = _mT(V) @ da @ V
    return dp.diagonal(0, -2, -1), V @ (F * dp)


LinalgEighBackward0 = node_class("LinalgEighBackward0", _eigh_vjp, _eigh_jvp)


def _check_eigh_dtype(a):
    from ..dtypes import from_np

    if a.dtype.kind not in "fc" and (a.size or _half_name(a.dtype) is None):
        raise NotImplementedError(
            f"\"linalg_eigh_cpu\" not implemented for '{from_np(a.dtype).scalar_name}'")


def linalg_eigh(A, UPLO="L", *, out=None):
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix (ascending eigenvalues; only
    the ``UPLO`` triangle is read)."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    a = A._data
    _check_eigh_dtype(a)
    _check_matrix("linalg.eigh", a, kernel="linalg_eigh_cpu")
    w, v = np.linalg.eigh(_lapack(a), UPLO=UPLO)
    # NOTE: column-major eigenvectors, as LAPACK's in PyTorch (a reshape of them copies)
    datas = [_contiguous(w.astype(a.dtype, copy=False)),
             _lapack_layout(v.astype(a.dtype, copy=False))]
    if STATE.enabled and recording(A):
        outs = record_multi(LinalgEighBackward0, datas, (A,))
        node = outs[0]._grad_fn
        node.save_output(outs[0], 0)
        node.save_output(outs[1], 1)
        return _eigh_type(*outs)
    return _eigh_type(*(wrap(x) for x in datas))


def linalg_eigvalsh(A, UPLO="L", *, out=None):
    """The eigenvalues of each symmetric matrix, ascending."""
    if STATE.enabled and recording(A):
        return linalg_eigh(A, UPLO)[0]
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    a = A._data
    _check_eigh_dtype(a)
    _check_matrix("linalg.eigvalsh", a, kernel="linalg_eigh_cpu")
    return wrap(_contiguous(np.linalg.eigvalsh(_lapack(a), UPLO=UPLO).astype(a.dtype)))


# ---- pinv ----
def _pinv_vjp(ctx, g):
    A, P = ctx.saved_tensors
    m, n = A._data.shape[-2:]
    ph, gh = _mT(P), _mT(g)
    if m <= n:
        K = gh @ P
        kph = K @ ph
        return (-_mT(P @ K) + kph - (A @ P) @ kph + (ph @ P) @ (gh - K @ A),)
    K = P @ gh
    phk = ph @ K
    return (-_mT(K @ P) + (gh - A @ K) @ P @ ph + phk - phk @ P @ A,)


def _pinv_jvp(ctx, da):
    A, P = ctx.saved_tensors
    m, n = A._data.shape[-2:]
    ph, dah = _mT(P), _mT(da)
    return (-(P @ da @ P) + (P @ ph) @ dah @ (_eye(m, A) - A @ P)
            + (_eye(n, A) - P @ A) @ dah @ (ph @ P))


LinalgPinvBackward0 = node_class("LinalgPinvBackward0", _pinv_vjp, _pinv_jvp)


def _tolerances(a, atol, rtol):
    """PyTorch's ``(atol, rtol)`` of pinv and matrix_rank, each a number or an array that
    broadcasts against the singular values' batch dims (a trailing 1): ``atol`` defaults to 0,
    ``rtol`` to eps * max(m, n) where ``atol`` is not positive and to 0 where it is
    (elementwise for a tensor ``atol``)."""
    m, n = a.shape[-2:]
    tensor_atol = isinstance(atol, Tensor)
    at = atol._data[..., None] if tensor_atol else 0.0 if atol is None else atol
    if isinstance(rtol, Tensor):
        return at, rtol._data[..., None]
    if rtol is not None:
        return at, rtol
    real = np.finfo(a.dtype)
    default = real.eps * max(m, n)
    if tensor_atol:
        return at, np.where(at > 0, 0, default).astype(real.dtype)
    return at, 0.0 if atol is not None and atol > 0 else default


def _pinv_data(a, atol, rtol, hermitian):
    m, n = a.shape[-2:]
    atol, rtol = _tolerances(a, atol, rtol)
    if a.size == 0:
        return _xp(a).zeros(a.shape[:-2] + (n, m), a.dtype)
    if hermitian:
        w, v = np.linalg.eigh(a)
        big = np.max(np.abs(w), axis=-1, keepdims=True)
        keep = np.abs(w) > np.maximum(atol, rtol * big)
        winv = np.where(keep, 1 / np.where(keep, w, 1), 0)
        return (v * winv[..., None, :]) @ np.swapaxes(v, -1, -2)
    u, s, vh = _np_svd(a, full_matrices=False)
    keep = s > np.maximum(atol, rtol * s[..., :1])
    sinv = np.where(keep, 1 / np.where(keep, s, 1), 0)
    return (np.swapaxes(vh, -1, -2) * sinv[..., None, :]) @ np.swapaxes(u, -1, -2)


def linalg_pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The Moore-Penrose pseudoinverse; singular values at or below ``max(atol, rtol *
    largest)`` count as zero (default ``rtol``: eps * max(m, n))."""
    from ..dtypes import from_np

    a = A._data
    if a.ndim < 2 or a.dtype.kind not in "fc" or _half_name(a.dtype):
        dt = {"float32": "Float", "float64": "Double"}.get(a.dtype.name,
                                                           from_np(a.dtype).scalar_name)
        raise RuntimeError(f"linalg.pinv({dt}{{{list(a.shape)}}}): expected a tensor with 2 or "
                           "more dimensions of float, double, cfloat or cdouble types")
    data = _contiguous(_pinv_data(a, atol, rtol, hermitian).astype(a.dtype))
    if STATE.enabled and recording(A):
        return record(LinalgPinvBackward0, data, (A,), save=(A,), save_out=True)
    return wrap(data)


# ---- lstsq ----
# NOTE: the solution is ``pinv(A) B`` (full rank), so its rules are pinv's; the residuals
# ``|A X - B|^2`` are at a minimum in X, so only their explicit dependence on A and B counts.
def _lstsq_vjp(ctx, g, gres=None, *unused):
    A, B, X = ctx.saved_tensors
    vector = ctx.args[0]
    P = linalg_pinv(A)
    b = B.unsqueeze(-1) if vector else B
    x = X.unsqueeze(-1) if vector else X
    ga = gb = None
    if g is not None:
        gx = g.unsqueeze(-1) if vector else g
        if ctx.next_functions[0][0] is not None:
            ga = _pinv_vjp(_PinvSaved(A, P), gx @ _mT(b))[0]
        if ctx.next_functions[1][0] is not None:
            gb = _mT(P) @ gx
    if gres is not None and gres._data.size:
        r2 = ((A @ x - b) * 2) * gres.unsqueeze(-2)
        if ctx.next_functions[0][0] is not None:
            c = r2 @ _mT(x)
            ga = c if ga is None else ga + c
        if ctx.next_functions[1][0] is not None:
            gb = -r2 if gb is None else gb - r2
    if gb is not None and vector:
        gb = gb.squeeze(-1)
    return ga, gb


def _lstsq_jvp(ctx, da, db):
    A, B, X = ctx.saved_tensors
    vector = ctx.args[0]
    P = linalg_pinv(A)
    b = B.unsqueeze(-1) if vector else B
    x = X.unsqueeze(-1) if vector else X
    total = None
    if da is not None:
        total = _pinv_jvp(_PinvSaved(A, P), da) @ b
    if db is not None:
        c = P @ (db.unsqueeze(-1) if vector else db)
        total = c if total is None else total + c
    total = total.squeeze(-1) if vector else total
    dx = total.expand(ctx._meta[0][0])
    shape, dtype = ctx._meta[1][:2]  # (a device output's entry also names its device)
    if not np.prod(shape):
        return dx, out_zeros(ctx, 1), out_zeros(ctx, 2), out_zeros(ctx, 3)
    # the residual r = A x - b moves with dA and dB only (x is at the minimum)
    dr = da @ x if da is not None else None
    if db is not None:
        d = db.unsqueeze(-1) if vector else db
        dr = -d if dr is None else dr - d
    dres = ((A @ x - b) * dr * 2).sum(-2)
    return dx, dres, out_zeros(ctx, 2), out_zeros(ctx, 3)


class _PinvSaved:
    """Saved tensors for calling the pinv rules directly (lstsq reuses them)."""

    __slots__ = ("saved_tensors",)

    def __init__(self, *saved):
        self.saved_tensors = saved


LinalgLstsqBackward0 = node_class("LinalgLstsqBackward0", _lstsq_vjp, _lstsq_jvp)


def linalg_lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of ``A X = B`` as ``(solution, residuals, rank,
    singular_values)``; which of the last three are filled depends on ``driver`` as in
    PyTorch on CPU (default 'gelsy': the rank only)."""
    a, b = A._data, B._data
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, "
                           "gelsy, gelsd, gelss)")
    if not (a.ndim >= b.ndim and a.ndim - b.ndim <= 1):
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to "
                           "other.dim() and (input.dim() - other.dim()) <= 1")
    vector = b.ndim == a.ndim - 1
    bm = b[..., None] if vector else b
    if a.shape[-2] != bm.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    if _half_name(a.dtype):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if a.dtype != b.dtype:
        raise RuntimeError("torch.linalg.lstsq: Expected input and other to have the same dtype, "
                           f"but got input's dtype {A.dtype.scalar_name} and other's dtype "
                           f"{B.dtype.scalar_name}")
    if a.dtype.kind not in "fc":
        raise RuntimeError("This function doesn't handle types other than float and double")
    m, n = a.shape[-2:]
    driver = driver or "gelsy"
    eps = np.finfo(a.dtype).eps
    rc = eps * max(m, n) if rcond is None or rcond < 0 else rcond
    pinv = _pinv_data(a, None, rc, False)
    data = _contiguous(pinv @ bm)
    if vector:
        data = data[..., 0]
    xp = _xp(a)
    s = _np_svd(a, compute_uv=False) if a.size else xp.zeros(a.shape[:-2] + (0,), a.dtype)
    if s.shape[-1]:
        rank = np.sum(s > rc * s[..., :1], axis=-1).astype(np.int64)
    else:
        rank = xp.zeros(a.shape[:-2], np.int64)
    empty = xp.zeros((0,), a.dtype)
    residuals, svals = empty, empty
    if driver in ("gelsd", "gelss"):
        svals = s.astype(a.dtype)
    if driver != "gelsy" and m > n and np.all(rank == n):
        r = a @ (data[..., None] if vector else data) - bm
        residuals = np.sum(r * r, axis=-2).astype(a.dtype)
    if driver == "gels":
        rank = xp.zeros((0,), np.int64)
    datas = (data, as_array(residuals), as_array(rank), as_array(svals))
    if STATE.enabled and recording(A, B):
        outs = record_multi(LinalgLstsqBackward0, datas, (A, B), save=(A, B), args=(vector,),
                            differentiable=(True, True, False, False))
        outs[0]._grad_fn.save_output(outs[0], 0)
        return _lstsq_type(*outs)
    return _lstsq_type(*(wrap(d) for d in datas))


# ---- matrix_exp ----
_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
           129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
           40840800., 960960., 16380., 182., 1.)


def _expm(a):
    """exp of each matrix: scaling and squaring with the [13/13] Padé approximant (Higham
    2005), batched."""
    n = a.shape[-1]
    if a.size == 0:
        return a.copy()
    work = a.astype(np.float64)
    norm1 = np.max(np.sum(np.abs(work), axis=-2), axis=-1)
    theta13 = 5.371920351148152
    squarings = np.maximum(0, np.ceil(np.log2(np.maximum(norm1, 1e-300) / theta13))).astype(int)
    squarings = np.where(norm1 > theta13, squarings, 0)
    work = work / (2.0 ** squarings)[..., None, None]
    b = _PADE13
    eye = np.broadcast_to(_xp(a).eye(n), work.shape)
    a2 = work @ work
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = work @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
                + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + \
        b[0] * eye
    r = np.linalg.solve(v - u, v + u)
    for k in range(int(squarings.max())):  # (a.size > 0: one matrix at least)
        sq = r @ r
        r = np.where((squarings > k)[..., None, None], sq, r)
    return r.astype(a.dtype)


def _block_exp_corner(X, D):
    """The upper-right block of ``exp([[X, D], [0, X]])``: the derivative of exp at ``X`` in
    direction ``D`` (a differentiable ember computation)."""
    from .join import cat

    n = X._data.shape[-1]
    zero = X * 0
    top = cat([X, D], -1)
    bottom = cat([zero, X], -1)
    big = linalg_matrix_exp(cat([top, bottom], -2))
    return big.narrow(-2, 0, n).narrow(-1, n, n)


def _matrix_exp_vjp(ctx, g):
    (A,) = ctx.saved_tensors
    return (_block_exp_corner(_mT(A), g),)


def _matrix_exp_jvp(ctx, da):
    (A,) = ctx.saved_tensors
    return _block_exp_corner(A, da)


LinalgMatrixExpBackward0 = node_class("LinalgMatrixExpBackward0", _matrix_exp_vjp,
                                      _matrix_exp_jvp)


def linalg_matrix_exp(A):
    """The matrix exponential of each square matrix."""
    a = A._data
    _check_matrix("linalg.matrix_exp", a)
    data = _expm(a)
    if STATE.enabled and recording(A):
        return record(LinalgMatrixExpBackward0, data, (A,), save=(A,))
    return wrap(data)


# ---- matrix_norm / norm ----
def linalg_matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Matrix norms over the two ``dim``: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf."""
    from ..tensor import _wrap_dim
    from .extremes import amax, amin
    from .vector_norm import linalg_vector_norm

    a = A._data
    if a.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    half = _half_name(a.dtype) if dtype is None else None
    if dtype is None and a.dtype.kind not in "fc" and not half:
        from ..dtypes import from_np

        raise RuntimeError("linalg.matrix_norm: Expected a floating point or complex tensor as "
                           f"input. Got {from_np(a.dtype).scalar_name}")
    if half and ord in ("nuc", 2, -2):
        raise RuntimeError(f"linalg.matrix_norm: Low precision dtypes not supported. Got {half}")
    if dtype is not None:
        A = A.to(dtype)
    d0, d1 = (_wrap_dim(d, a.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, "
                           f"{dim[1]})")
    if ord == "fro":
        return linalg_vector_norm(A, 2, (d0, d1), keepdim)
    inf = float("inf")
    if ord not in ("nuc", 1, -1, 2, -2, inf, -inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if ord in ("nuc", 2, -2):
        x = A.movedim((d0, d1), (-2, -1))
        s = linalg_svdvals(x)
        if ord == "nuc":
            r = s.sum(-1)
        elif ord == 2 and not s._data.shape[-1]:
            return _empty_max_norm(A, d0, d1, keepdim)
        else:
            r = amax(s, -1) if ord == 2 else amin(s, -1)
        if keepdim:
            r = r.unsqueeze(-1).unsqueeze(-1).movedim((-2, -1), (d0, d1))
        return r
    # 1 / -1: max / min column sum; inf / -inf: max / min row sum
    sum_dim, ext_dim = (d0, d1) if ord in (1, -1) else (d1, d0)
    if ord > 0 and not a.shape[ext_dim]:
        return _empty_max_norm(A, d0, d1, keepdim)
    sums = A.abs().sum(sum_dim, keepdim=True)
    return (amax if ord > 0 else amin)(sums, ext_dim, keepdim=True) if keepdim else \
        (amax if ord > 0 else amin)(sums.squeeze(sum_dim),
                                     ext_dim - (1 if ext_dim > sum_dim else 0))


def _empty_max_norm(A, d0, d1, keepdim):
    """A max-type matrix norm (1, 2, inf) whose maximum runs over an empty dim: zeros with no
    graph, as PyTorch gives (where ``amin`` for the min-type ones raises)."""
    shape = list(A._data.shape)
    for d in sorted((d0, d1), reverse=True):
        if keepdim:
            shape[d] = 1
        else:
            del shape[d]
    return wrap(_xp(A._data).zeros(shape, dtype=np.abs(A._data[..., :0]).dtype))


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """A vector norm (``dim`` an int, or a 1-D input) or a matrix norm (``dim`` a pair, or a
    2-D input); with neither ``ord`` nor ``dim``, the 2-norm of all elements."""
    from .vector_norm import linalg_vector_norm

    a = A._data
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 2:
            return linalg_matrix_norm(A, "fro" if ord is None else ord, dims, keepdim,
                                      dtype=dtype)
        return linalg_vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return linalg_vector_norm(A, 2, None, keepdim, dtype=dtype)
    if a.ndim not in (1, 2):
        raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {a.ndim}D.")
    if isinstance(ord, str):
        return linalg_matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if a.ndim == 1:
        return linalg_vector_norm(A, ord, None, keepdim, dtype=dtype)
    return linalg_matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)


# ---- matrix_rank / cond ----
def linalg_matrix_rank(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The number of singular values above ``max(atol, rtol * largest)`` (defaults as pinv)."""
    a = A._data
    if a.dtype.kind not in "fc" or _half_name(a.dtype):
        raise RuntimeError("This function doesn't handle types other than float and double")
    _check_matrix("linalg.matrix_rank", a, square=False)
    atol, rtol = _tolerances(a, atol, rtol)
    if a.size == 0:
        return wrap(_xp(a).zeros(a.shape[:-2], np.int64))
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else _np_svd(a, compute_uv=False)
    big = np.max(s, axis=-1, keepdims=True)
    return wrap(np.sum(s > np.maximum(atol, rtol * big), axis=-1).astype(np.int64))


def _check_square_cond(a, p):
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.cond(ord={p}): A must be batches of square matrices, but "
                           f"they are {a.shape[-2]} by {a.shape[-1]} matrices")


def linalg_cond(A, p=None, *, out=None):
    """The condition number of each matrix in the ``p`` norm (default 2: the ratio of the
    largest to the smallest singular value); singular matrices give inf."""
    from .select import nan_to_num

    a = A._data
    inf = float("inf")
    if a.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    if p not in (None, 2, -2, 1, -1, inf, -inf, "fro", "nuc"):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    if a.size == 0:
        if p in ("fro", "nuc"):
            _check_square_cond(a, p)
        # NOTE: PyTorch's condition number of empty matrices: zeros, with no graph
        return wrap(_xp(a).zeros(a.shape[:-2], dtype=np.abs(a[..., :0]).dtype))
    if p in (None, 2, -2):
        s = linalg_svdvals(A)
        big, small = s.narrow(-1, 0, 1), s.narrow(-1, s._data.shape[-1] - 1, 1)
        return (big / small if p != -2 else small / big).squeeze(-1)
    _check_square_cond(a, p)
    try:
        inverse = linalg_inv(A)
    except _LinAlgError:
        # NOTE: as PyTorch (inv_ex, then inf where the factorisation failed)
        singular = _xp(a).asarray([_first_zero_pivot(m) > 0
                                   for m in a.reshape(-1, *a.shape[-2:])])
        inv_data = np.zeros_like(a).reshape(-1, *a.shape[-2:])
        good = ~singular
        if good.any():
            inv_data[good] = np.linalg.inv(a.reshape(-1, *a.shape[-2:])[good])
        inv_data[singular] = inf
        inverse = wrap(inv_data.reshape(a.shape))
    with np.errstate(invalid="ignore"):  # 0 * inf for a zero matrix: nan, then inf
        r = linalg_matrix_norm(A, p) * linalg_matrix_norm(inverse, p)
    return nan_to_num(r, nan=inf, posinf=inf)


# ---- older torch.* forms ----
_torch_svd_type = _result_type("svd", ("U", "S", "V"))


def svd(input, some=True, compute_uv=True, *, out=None):
    """``torch.svd``: ``(U, S, V)`` with ``A = U diag(S) V^T`` (V, not Vh); without
    ``compute_uv``, U and V are zero-filled."""
    if input._data.ndim < 2:
        raise RuntimeError("linalg.svd: input should have at least 2 dimensions, but has "
                           f"{input._data.ndim} dimensions instead")
    if not compute_uv:
        s = linalg_svdvals(input)
        m, n = input._data.shape[-2:]
        zeros = [wrap(_xp(input._data).zeros(input._data.shape[:-2] + (k, k), input._data.dtype))
                 for k in (m, n)]
        return _torch_svd_type(zeros[0], s, zeros[1])
    u, s, vh = linalg_svd(input, full_matrices=not some)
    return _torch_svd_type(u, s, _mT(vh))


def nuclear_norm(input, dim=None, keepdim=False, *, dtype=None):
    """``torch.nuclear_norm``: the sum of singular values over ``dim`` (the last two dims)."""
    _warn_once(
        "nuclear_norm",
        "at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will be "
        "removed in a future PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', dim, "
        "keepdim)` instead")
    return linalg_matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim,
                              dtype=dtype)


def pinverse(input, rcond=1e-15):
    """``torch.pinverse``: ``linalg.pinv`` with ``rcond`` as the relative tolerance."""
    return linalg_pinv(input, rtol=rcond)


def matrix_exp(input):
    """``torch.matrix_exp``: ``linalg.matrix_exp``."""
    return linalg_matrix_exp(input)


# NOTE: every op here taking ``out=`` gets it through ``with_out`` (rules call the same
# wrapped functions, which cost one extra call without ``out``).
_OUT_NAMES = {  # the aten op PyTorch's out= error names, or False for composite ops
    "linalg_svdvals": "_linalg_svd", "linalg_svd": "_linalg_svd",
    "linalg_eigvalsh": "_linalg_eigh", "linalg_eigh": "_linalg_eigh",
    "linalg_matrix_norm": False, "linalg_norm": False, "linalg_cond": False,
    "linalg_matrix_rank": False, "linalg_pinv": None, "svd": "_linalg_svd",
}
for _name, _out_name in _OUT_NAMES.items():
    globals()[_name] = with_out(globals()[_name], _out_name)

for _name, _fn in (("matrix_exp", matrix_exp), ("svd", svd), ("pinverse", pinverse)):
    register(_fn, _name)
register(nuclear_norm, "nuclear_norm", method=False)
