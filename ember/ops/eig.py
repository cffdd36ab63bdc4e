"""General (non-symmetric) eigenvalues: linalg_eigvals (``ember.linalg.eigvals``).

Contract: PyTorch's complex result dtype (complex64 for float32 input, complex128 for float64,
complex stays), batching over leading dims, node name (``LinalgEigBackward0``) and errors.

NOTE [eigvals gradient]: the VJP is PyTorch's eigenvalue part of ``linalg_eig_backward``,
``gA = V^-H diag(gL) V^H`` (its real part for a real ``A``), computed from the eigenvectors saved
in the forward. It is evaluated on the arrays (ember has no complex ``conj``/``real`` ops to
write it in), so it is first-order only: the gradient itself does not record a graph, and no
JVP rule is given (PyTorch has one); both are known gaps.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ._registry import node_class, record, recording, register, wrap
from .decomposition import _half_name, _kernel_dtype

_COMPLEX = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128,
            np.dtype(np.complex64): np.complex64, np.dtype(np.complex128): np.complex128}


def _eigvals_vjp(ctx, g):
    v, = ctx.saved_tensors
    vd = v._data
    gl = g._data
    vh = np.conj(np.swapaxes(vd, -1, -2))
    # V^-H diag(gL) V^H == solve(V^H, diag(gL) V^H)
    ga = np.linalg.solve(vh, gl[..., :, None] * vh)
    if not ctx.args[0]:
        ga = ga.real
    return (wrap(np.ascontiguousarray(ga.astype(ctx.args[1]))),)


def _no_jvp(ctx, *tangents):
    raise NotImplementedError("ember: the forward-mode rule of linalg.eigvals is not "
                              "implemented")


LinalgEigBackward0 = node_class("LinalgEigBackward0", _eigvals_vjp, _no_jvp)


def linalg_eigvals(A, *, out=None):
    """The eigenvalues of square matrices ``A`` (complex, in LAPACK's order)."""
    a = A._data
    if a.ndim < 2:
        raise RuntimeError("linalg.eigvals: The input tensor A must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError("linalg.eigvals: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")
    if _half_name(a.dtype):
        _kernel_dtype("linalg_eig_out_cpu", a)
    ct = _COMPLEX.get(a.dtype)
    if ct is None:
        raise RuntimeError(f"Unknown Complex ScalarType for {_dt.from_np(a.dtype).scalar_name}")
    if a.shape[-1] == 0:
        return wrap(np.zeros(a.shape[:-1], dtype=ct))
    want = STATE.enabled and recording(A)
    if want:
        w, v = np.linalg.eig(a)
        return record(LinalgEigBackward0, np.ascontiguousarray(w.astype(ct)), (A,),
                      save=(wrap(v.astype(ct)),), args=(a.dtype.kind == "c", a.dtype))
    return wrap(np.ascontiguousarray(np.linalg.eigvals(a).astype(ct)))


register(linalg_eigvals, "linalg_eigvals", method=False)
