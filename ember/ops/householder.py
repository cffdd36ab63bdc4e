"""Householder reflector ops behind ``ember.linalg``: householder_product (``orgqr``), ormqr
and geqrf: the QR factorization in LAPACK's compact form (reflectors below the diagonal and
their scales ``tau``), the orthogonal matrix it encodes, and its product with another matrix.
``linalg.qr`` lives in ``cholesky_qr``, the shared helpers in ``_linalg_base`` (both
re-exported by ``decomposition``, the path they are imported by).

Contract: PyTorch's signatures, named-tuple results, batching over leading dims, dtypes and
error messages. householder_product and ormqr have PyTorch's backward rules written in ember
ops (NOTE [Householder products]), so they differentiate again, with forward-mode rules; geqrf,
as in PyTorch, has no derivative (its node raises). Forwards are NumPy calls.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ._jvp import out_zeros
from ._linalg_base import _const, _contiguous, _xp
from ._registry import node_class, record, record_multi, recording, register, wrap
from .decomposition import _kernel_dtype, _mT, _result_type, with_out


# ---- householder_product ----
# NOTE [Householder products]: Q = H_0 H_1 ... H_{k-1} E with H_i = I - tau_i v_i v_i^T (v_i is
# column i of A below the diagonal, with a unit diagonal entry) and E the first n columns of
# the identity. With prefix P_i = H_0 ... H_{i-1} and suffix S_i = H_{i+1} ... E, dQ is the
# sum of P_i dH_i S_i, so the gradient meets H_i as G_i = P_i^T G S_i^T: tau_i gets
# -v_i^T G_i v_i and v_i gets -tau_i (G_i + G_i^T) v_i.
def _reflectors(A, tau):
    """The vectors v_i (as columns of an m x k tensor) and the reflectors H_i."""
    m = A._data.shape[-2]
    k = tau._data.shape[-1]
    dtype = A._data.dtype
    V = A.narrow(-1, 0, k).tril(-1) + _const(A, lambda xp: xp.eye(m, k, dtype=dtype))
    eye = _const(A, lambda xp: xp.eye(m, dtype=dtype))
    H = [eye - tau.narrow(-1, i, 1).unsqueeze(-1) * (V.narrow(-1, i, 1) @ _mT(V.narrow(-1, i, 1)))
         for i in range(k)]
    return V, H


def _householder_parts(A, tau):
    m, n = A._data.shape[-2:]
    V, H = _reflectors(A, tau)
    k = len(H)
    E = _const(A, lambda xp: xp.eye(m, n, dtype=A._data.dtype))
    prefix = [None] * (k + 1)
    suffix = [None] * (k + 1)
    suffix[k] = E
    for i in range(k - 1, -1, -1):
        suffix[i] = H[i] @ suffix[i + 1]
    for i in range(k):
        prefix[i + 1] = H[i] if prefix[i] is None else prefix[i] @ H[i]
    return V, H, prefix, suffix


def _householder_vjp(ctx, g):
    A, tau = ctx.saved_tensors
    return _householder_grads(A, tau, g, ctx.next_functions[0][0] is not None)


def _householder_grads(A, tau, g, want_a):
    """Gradients for A and tau of ``householder_product(A, tau)`` given its gradient ``g``."""
    from .join import cat

    m, n = A._data.shape[-2:]
    V, H, prefix, suffix = _householder_parts(A, tau)
    k = len(H)
    gtaus, gvs = [], []
    for i in range(k):
        gi = g @ _mT(suffix[i + 1])
        if prefix[i] is not None:
            gi = _mT(prefix[i]) @ gi
        v = V.narrow(-1, i, 1)
        gtaus.append(-(_mT(v) @ gi @ v).squeeze(-1))
        gvs.append(-tau.narrow(-1, i, 1).unsqueeze(-1) * ((gi + _mT(gi)) @ v))
    gtau = cat(gtaus, -1) if k else tau * 0
    ga = None
    if want_a:
        ga = A * 0
        if k:
            # only the entries below the diagonal of the first k columns define v_i
            gv = cat(gvs, -1).tril(-1)
            ga = gv if k == n else cat([gv, A.narrow(-1, k, n - k) * 0], -1)
    return ga, gtau


def _householder_jvp(ctx, da, dtau):
    A, tau = ctx.saved_tensors
    return _householder_tangent(A, tau, da, dtau, out_zeros(ctx))


def _householder_tangent(A, tau, da, dtau, total):
    """The tangent of ``householder_product(A, tau)`` (added to ``total``, a zero tangent)."""
    V, H, prefix, suffix = _householder_parts(A, tau)
    k = len(H)
    # the unit diagonal of each v_i is constant: only A's entries below it move
    dV = da.narrow(-1, 0, k).tril(-1) if da is not None else None
    for i in range(k):
        v = V.narrow(-1, i, 1)
        t = tau.narrow(-1, i, 1).unsqueeze(-1)
        dh = None
        if dtau is not None:
            dh = -(dtau.narrow(-1, i, 1).unsqueeze(-1) * (v @ _mT(v)))
        if dV is not None:
            dv = dV.narrow(-1, i, 1)
            c = -(t * (dv @ _mT(v) + v @ _mT(dv)))
            dh = c if dh is None else dh + c
        if dh is None:
            continue
        term = dh @ suffix[i + 1]
        if prefix[i] is not None:
            term = prefix[i] @ term
        total = total + term
    return total


LinalgHouseholderProductBackward0 = node_class("LinalgHouseholderProductBackward0",
                                               _householder_vjp, _householder_jvp)


def _householder_data(a, tau):
    m, n = a.shape[-2:]
    k = tau.shape[-1]
    xp = _xp(a)
    q = np.broadcast_to(xp.eye(m, n, dtype=a.dtype), a.shape).copy()
    for i in range(k - 1, -1, -1):
        v = xp.zeros(a.shape[:-1], dtype=a.dtype)
        v[..., i] = 1
        v[..., i + 1:] = a[..., i + 1:, i]
        w = np.einsum("...m,...mn->...n", v, q)
        q -= tau[..., i, None, None] * v[..., :, None] * w[..., None, :]
    return q


def linalg_householder_product(A, tau, *, out=None):
    """The first n columns of the product of Householder reflectors ``I - tau_i v_i v_i^T``
    (``v_i``: column i of ``A`` below its unit diagonal), as returned by ``geqrf``."""
    from ..dtypes import from_np

    a, t = A._data, tau._data
    name = "torch.linalg.householder_product"
    _kernel_dtype("orgqr_cpu", a)
    if a.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if a.shape[-2] < a.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if a.shape[-1] < t.shape[-1]:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    if t.ndim != a.ndim - 1 or t.shape[:-1] != a.shape[:-2]:
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to "
                           f"input.shape[:-2], but got {list(t.shape[:-1])}")
    if a.dtype != t.dtype:
        raise RuntimeError(f"{name}: tau dtype {from_np(t.dtype).scalar_name} does not match "
                           f"input dtype {from_np(a.dtype).scalar_name}")
    data = _householder_data(a, t)
    if STATE.enabled and recording(A, tau):
        return record(LinalgHouseholderProductBackward0, data, (A, tau), save=(A, tau))
    return wrap(data)


# ---- ormqr ----
def _ormqr_square(A, k):
    """The first k columns of A in an m x m matrix (zeros after): the reflectors of the full
    m x m Q."""
    from .join import cat

    m = A._data.shape[-2]
    cols = A.narrow(-1, 0, k)
    if k == m:
        return cols
    return cat([cols, _const(A, lambda xp: xp.zeros(A._data.shape[:-2] + (m, m - k),
                                                    A._data.dtype))], -1)


def _ormqr_apply(Q, C, left, transpose):
    q = _mT(Q) if transpose else Q
    return q @ C if left else C @ q


def _ormqr_vjp(ctx, g):
    from .join import cat

    A, tau, C = ctx.saved_tensors
    left, transpose = ctx.args
    m, n = A._data.shape[-2:]
    k = tau._data.shape[-1]
    sq = _ormqr_square(A, k)
    Q = linalg_householder_product(sq, tau)
    gC = None
    if ctx.next_functions[2][0] is not None:
        q = Q if transpose else _mT(Q)
        gC = q @ g if left else g @ q
    ga = gtau = None
    if ctx.next_functions[0][0] is not None or ctx.next_functions[1][0] is not None:
        # gradient of op(Q): left gives g C^T, right C^T g; transposing op transposes it
        gq = g @ _mT(C) if left else _mT(C) @ g
        gq = _mT(gq) if transpose else gq
        ga, gtau = _householder_grads(sq, tau, gq, ctx.next_functions[0][0] is not None)
        if ga is not None:
            ga = ga.narrow(-1, 0, k)
            if n > k:
                ga = cat([ga, A.narrow(-1, k, n - k) * 0], -1)
    return ga, gtau, gC


def _ormqr_jvp(ctx, da, dtau, dc):
    from .join import cat

    A, tau, C = ctx.saved_tensors
    left, transpose = ctx.args
    m = A._data.shape[-2]
    k = tau._data.shape[-1]
    sq = _ormqr_square(A, k)
    Q = linalg_householder_product(sq, tau)
    total = _ormqr_apply(Q, dc, left, transpose) if dc is not None else out_zeros(ctx)
    if da is not None or dtau is not None:
        dsq = None
        if da is not None:
            dsq = da.narrow(-1, 0, k)
            if k < m:
                dsq = cat([dsq, da.narrow(-1, 0, 1).expand(*da._data.shape[:-1], m - k) * 0],
                          -1)
        dq = _householder_tangent(sq, tau, dsq, dtau,
                                  _const(Q, lambda xp: xp.zeros(Q._data.shape, Q._data.dtype)))
        total = total + _ormqr_apply(dq, C, left, transpose)
    return total.expand(ctx._meta[0][0])


OrmqrBackward0 = node_class("OrmqrBackward0", _ormqr_vjp, _ormqr_jvp)


def ormqr(input, tau, other, left=True, transpose=False, *, out=None):
    """``op(Q) @ other`` (``other @ op(Q)`` when not ``left``; ``op(Q) = Q^T`` when
    ``transpose``) for the m x m Q of the Householder reflectors from ``geqrf``."""
    a, t, c = input._data, tau._data, other._data
    _kernel_dtype("ormqr_cpu", a)
    if a.ndim < 2:
        raise RuntimeError("torch.ormqr: input must have at least 2 dimensions.")
    if c.ndim < 2:
        raise RuntimeError("torch.ormqr: other must have at least 2 dimensions.")
    side = -2 if left else -1
    if c.shape[side] != a.shape[-2]:
        raise RuntimeError(f"torch.ormqr: other.shape[{side}] must be equal to "
                           "input.shape[-2]")
    if t.shape[-1] != min(c.shape[side], a.shape[-1]):
        raise RuntimeError(f"torch.ormqr: tau.shape[-1] must be equal to "
                           f"min(other.shape[{side}], input.shape[-1])")
    m = a.shape[-2]
    k = t.shape[-1]
    sq = _xp(a).zeros(a.shape[:-1] + (m,), a.dtype)
    sq[..., :k] = a[..., :k]
    q = _householder_data(sq, t)
    q = np.swapaxes(q, -1, -2) if transpose else q
    data = _contiguous(q @ c if left else c @ q)
    if STATE.enabled and recording(input, tau, other):
        return record(OrmqrBackward0, data, (input, tau, other), save=(input, tau, other),
                      args=(left, transpose))
    return wrap(data)


# ---- geqrf ----
_geqrf_type = _result_type("geqrf", ("a", "tau"))


def _geqrf_no_derivative(ctx, *grads):
    raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


GeqrfBackward0 = node_class("GeqrfBackward0", _geqrf_no_derivative, _geqrf_no_derivative)


def geqrf(input, *, out=None):
    """LAPACK's geqrf: R above the diagonal of ``a``, the Householder vectors below it, and
    their scales ``tau`` (``householder_product(a, tau)`` is Q). Not differentiable, as in
    PyTorch (its backward raises)."""
    a = input._data
    if a.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    _kernel_dtype("geqrf_cpu", a)
    m, n = a.shape[-2:]
    if a.size:
        h, tau = np.linalg.qr(a, mode="raw")
        h = _contiguous(np.swapaxes(h, -1, -2)).astype(a.dtype, copy=False)
        tau = tau.astype(a.dtype, copy=False)
    else:
        h, tau = a.copy(), _xp(a).zeros(a.shape[:-2] + (min(m, n),), a.dtype)
    if STATE.enabled and recording(input):
        return _geqrf_type(*record_multi(GeqrfBackward0, (h, tau), (input,)))
    return _geqrf_type(wrap(h), wrap(tau))


# NOTE: each takes ``out=`` through ``with_out``, as the ops in ``decomposition``.
for _name in ("linalg_householder_product", "geqrf", "ormqr"):
    globals()[_name] = with_out(globals()[_name], None)

register(linalg_householder_product, "orgqr")
register(geqrf, "geqrf")
register(ormqr, "ormqr")
