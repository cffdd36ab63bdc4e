"""General (non-symmetric) eigenvalues: linalg_eigvals (``ember.linalg.eigvals``).

Contract: PyTorch's complex result dtype (complex64 for float32 input, complex128 for float64,
complex stays), batching over leading dims, node name (``LinalgEigBackward0``) and errors.

NOTE [eigvals gradient]: the VJP is PyTorch's eigenvalue part of ``linalg_eig_backward``,
``gA = V^-H diag(gL) V^H`` (its real part for a real ``A``), computed from the eigenvectors saved
in the forward. It is evaluated on the arrays (ember has no complex ``conj``/``real`` ops to
write it in), so it is first-order only: the gradient itself does not record a graph, and no
JVP rule is given (PyTorch has one); both are known gaps.

NOTE [eig on the host]: a device input's eigenvalues are computed by the host's LAPACK and
copied back, as PyTorch does for a CUDA tensor (MAGMA's geev works on the host): CuPy's
``eig`` (cuSOLVER's geev, only from CUDA 12.6) orders the eigenvalues its own way, so it would
not give LAPACK's order, which is PyTorch's and the CPU's.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import STATE
from ..tensor import device_of, on_device, to_host
from ._linalg_base import _contiguous, _xp
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
    return (wrap(_contiguous(ga.astype(ctx.args[1]))),)


def _host_eig(a, vectors):
    """``np.linalg.eig(a)`` (``eigvals`` without ``vectors``) on LAPACK, for ``a`` of any
    device; the results on ``a``'s device (NOTE [eig on the host])."""
    if type(a) is np.ndarray:
        return np.linalg.eig(a) if vectors else np.linalg.eigvals(a)
    host = to_host(a)
    dev = device_of(a)
    if vectors:
        w, v = np.linalg.eig(host)
        return on_device(w, dev), on_device(v, dev)
    return on_device(np.linalg.eigvals(host), dev)


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
        return wrap(_xp(a).zeros(a.shape[:-1], dtype=ct))
    want = STATE.enabled and recording(A)
    if want:
        w, v = _host_eig(a, True)
        return record(LinalgEigBackward0, _contiguous(w.astype(ct)), (A,),
                      save=(wrap(v.astype(ct)),), args=(a.dtype.kind == "c", a.dtype))
    return wrap(_contiguous(_host_eig(a, False).astype(ct)))


register(linalg_eigvals, "linalg_eigvals", method=False)
