"""The orthogonal and Cholesky factorizations: ``linalg.cholesky`` (and ``cholesky_ex``),
``linalg.qr``, and the older ``torch.cholesky`` and ``torch.qr`` spellings (deprecated in
PyTorch, which warns once).

Contract: as ``decomposition``: PyTorch's signatures, named-tuple results, batching over leading
dims and error messages (``LinAlgError`` for a non-positive-definite input; ``cholesky_ex``
returns LAPACK's ``info`` instead, NOTE [the *_ex forms]); Q and R are column-major as
LAPACK's. Backward rules are PyTorch's, in ember ops (QR of a wide matrix included; ``mode='r'``
and 'complete' with more rows than columns are not differentiable, with PyTorch's errors).
Each op takes ``out=`` through ``with_out``. ``decomposition`` registers ``cholesky`` and
``qr`` (its registration order is the op table's) and re-exports every name here.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ..tensor import to_host
from ._linalg_base import (
    _batch_prefix,
    _check_matrix,
    _const,
    _contiguous,
    _ex_error,
    _flat,
    _info,
    _kernel_dtype,
    _lapack,
    _lapack_layout,
    _LinAlgError,
    _mT,
    _result_type,
    _warn_once,
    _xp,
    with_out,
)
from ._registry import node_class, record, record_multi, recording, wrap

_qr_type = _result_type("linalg_qr", ("Q", "R"))
_cholesky_ex_type = _result_type("linalg_cholesky_ex", ("L", "info"))
_torch_qr_type = _result_type("qr", ("Q", "R"))


# ---- cholesky ----
def _phi_mask(like, n, dtype):
    """Lower triangle with a halved diagonal: the projection in Cholesky's derivative (on
    ``like``'s device)."""
    def make(xp):
        m = xp.tril(xp.ones((n, n), dtype=dtype))
        m[xp.arange(n), xp.arange(n)] = 0.5
        return m
    return _const(like, make)


def _cholesky_vjp(ctx, g):
    from .decomposition import linalg_inv  # (at call time: decomposition imports this module)

    (out,) = ctx.saved_tensors
    upper = ctx.args[0]
    L, gL = (_mT(out), _mT(g)) if upper else (out, g)
    _kernel_dtype("triangular_solve_cpu", L._data)  # (an empty half L: PyTorch's solve refuses)
    n = L._data.shape[-1]
    linv = linalg_inv(L)
    phi = (_mT(L) @ gL) * _phi_mask(L, n, L._data.dtype)
    ga = _mT(linv) @ phi @ linv
    return ((ga + _mT(ga)) * 0.5,)


def _cholesky_jvp(ctx, da):
    from .decomposition import linalg_inv  # (at call time: decomposition imports this module)

    (out,) = ctx.saved_tensors
    upper = ctx.args[0]
    L = _mT(out) if upper else out
    linv = linalg_inv(L)
    n = L._data.shape[-1]
    dl = L @ ((linv @ da @ _mT(linv)) * _phi_mask(L, n, L._data.dtype))
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
        _not_positive_definite(name, a)
        raise
    if type(a) is not np.ndarray and a.size and not bool(
            (np.diagonal(data, 0, -2, -1).real > 0).all()):
        # NOTE: CuPy's cholesky does not raise where cuSOLVER's potrf fails (its linalg errors
        # are ignored by default): a factor whose diagonal is not all positive (the failed
        # pivot, or NaN) is a failure, which the host's LAPACK names
        _not_positive_definite(name, a)
    if upper:
        data = _contiguous(np.swapaxes(data, -1, -2))
    if STATE.enabled and recording(A):
        return record(node_cls, data, (A,), save_out=True, args=(upper,))
    return wrap(data)


def _not_positive_definite(name, a):
    """Raise PyTorch's error naming the first batch element of ``a`` and its first leading
    minor that is not positive-definite (LAPACK's, on the host: an error path only)."""
    flat = to_host(a).reshape(-1, *a.shape[-2:])
    for b, m in enumerate(flat):
        for k in range(1, m.shape[-1] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                raise _LinAlgError(
                    f"{name}: {_batch_prefix(a, b)}The factorization could not be completed "
                    "because the input is not positive-definite (the leading minor of order "
                    f"{k} is not positive-definite).") from None


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


def _partial_cholesky(a):
    """LAPACK potf2's Cholesky factor and info: at the first non-positive pivot it stores the
    pivot and stops (the later columns keep A's lower triangle)."""
    flat = np.tril(_flat(a)).copy()
    info = _xp(a).zeros(flat.shape[0], np.int32)
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
        L = _contiguous(np.swapaxes(L, -1, -2))
    return _cholesky_ex_type(wrap(L), wrap(info))


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
    half = _const(sym, lambda xp: xp.where(xp.eye(n, dtype=bool), 0.5, 1.0).astype(
        sym._data.dtype))
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
        return (cat([gx, _const(gx, lambda xp: xp.zeros(gx._data.shape[:-1] + (n - m,),
                                                        gx._data.dtype))], -1),)
    return (cat([gx, Q @ gy_r], -1),)


def _qr_square_jvp(Q, R, da):
    from .decomposition import linalg_inv  # (at call time: decomposition imports this module)

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
        r = np.linalg.qr(a, mode="r") if a.size else _xp(a).zeros(
            a.shape[:-2] + (min(m, n), n), a.dtype)
        q = _xp(a).zeros((0,), a.dtype)
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


# NOTE: every op here taking ``out=`` gets it through ``with_out``, as in ``decomposition``
_OUT_NAMES = {  # the aten op PyTorch's out= error names
    "linalg_cholesky": "linalg_cholesky_ex", "cholesky": "cholesky",
    "linalg_cholesky_ex": None, "linalg_qr": None, "qr": "linalg_qr",
}
for _name, _out_name in _OUT_NAMES.items():
    globals()[_name] = with_out(globals()[_name], _out_name)
