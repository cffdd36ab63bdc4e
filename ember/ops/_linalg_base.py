"""The helpers the linear-algebra op modules share (decomposition, cholesky_qr, lu, triangular,
householder, spectral, eig): ``_LinAlgError``, named-tuple result types, PyTorch's input checks
and LAPACK-kernel errors, the column-major layout of LAPACK's results, and the batched NumPy
kernels: LU with partial pivoting (``_lu_data``, ``_perm_matrix``, ``_unpack_data``),
triangular substitution (``_tri_solve_data``) and the LU solve built on them, LAPACK's
zero-pivot ``info``, and the ``*_ex`` forms' status helpers (NOTE [the *_ex forms]). Their
``out=`` (``with_out``) lives in ``_out`` and is re-exported here.

Contract: no op is defined or registered here; the kernels take and give arrays (batched over
leading dims, no autograd), and a singular input gives inf/nan as LAPACK does, never an error.
The kernels run on any backend's arrays (NumPy's, CuPy's): their buffers come from the input's
namespace (``_xp``), never from NumPy's creation functions, so a device input stays on its
device (NOTE [array namespaces] in ember/backend).
``decomposition`` re-exports every name, the path the other modules import them by.
"""

from __future__ import annotations

import numpy as np

from .. import return_types
from .._warn import warn_once
from ..backend import namespace
from ._out import with_out  # noqa: F401  (re-exported: the linalg modules import it here)
from ._registry import wrap


class _LinAlgError(RuntimeError):
    """A linear-algebra input the operation cannot handle (singular, not positive-definite);
    ``ember.linalg.LinAlgError``, a RuntimeError as in PyTorch."""


_LinAlgError.__module__ = "ember.linalg"


def _result_type(name, fields):
    """The named-tuple result type ``ember.return_types.<name>``."""
    return return_types.make(name, fields)


# ---- shared checks and helpers ----
def _warn_once(key, message):
    warn_once(message, 3, key)  # deprecation warnings: PyTorch gives each once per process


def _xp(a):
    """The array namespace of ``a``: NumPy for a NumPy array (no lookup on the CPU path), else
    its library's (CuPy's for a device array), where buffers for ``a`` must be made."""
    return np if type(a) is np.ndarray else namespace(a)


def _contiguous(a):
    """``np.ascontiguousarray(a)`` for any backend's array (NumPy's converts its argument to a
    host array, which CuPy refuses for a device one)."""
    return np.ascontiguousarray(a) if type(a) is np.ndarray else namespace(a).ascontiguousarray(a)


def _lapack_layout(data):
    """``data`` with column-major matrices (the batch dims contiguous outside them), the
    layout LAPACK's results have in PyTorch: a reshape of such a result copies, so an in-place
    op on ``qr(A)[1].flatten()`` leaves R unchanged, as there."""
    return np.swapaxes(_contiguous(np.swapaxes(data, -1, -2)), -1, -2)


def _mT(x):
    return x.transpose(-2, -1)


def _eye(n, like):
    """The n x n identity tensor of ``like``'s dtype, on ``like``'s device."""
    from ..creation import eye

    return eye(n, dtype=like.dtype, device=None if type(like._data) is np.ndarray else
               like.device)


def _const(like, make):
    """A no-grad tensor of the array ``make(xp)`` builds in ``like``'s namespace (a tensor's
    device): constants of the backward rules (identities, masks) on the operands' device."""
    return wrap(make(_xp(like._data)))


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
    u = m.copy()
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


# ---- triangular substitution in NumPy (the solves of triangular, lu and decomposition) ----
def _tri_solve_data(a, b, upper, left, unit):
    """``A X = B`` (``X A = B`` when not ``left``) for triangular ``A`` by substitution,
    vectorised over batches and columns (a zero diagonal gives inf/nan, as LAPACK's trsm)."""
    if not left:
        return np.swapaxes(_tri_solve_data(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2),
                                           not upper, True, unit), -1, -2)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    # (astype copies: x is written in place)
    x = np.broadcast_to(b, batch + b.shape[-2:]).astype(np.result_type(a.dtype, b.dtype))
    n = a.shape[-1]
    order = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in order:
            rest = slice(i + 1, n) if upper else slice(0, i)
            acc = x[..., i, :] - np.einsum("...k,...kj->...j", a[..., i, rest], x[..., rest, :])
            x[..., i, :] = acc if unit else acc / a[..., i, i][..., None]
    return x


# ---- the *_ex forms' status ----
def _info(a):
    return wrap(_xp(a).zeros(a.shape[:-2], dtype=np.int32))


# NOTE [the *_ex forms]: where LAPACK fails they return its status in ``info`` instead of
# raising (unless ``check_errors``); the failed elements' values follow LAPACK's partial results
# as far as NumPy reproduces them (inf/nan from a zero pivot, the partial Cholesky factor) and
# are not differentiable.
def _ex_error(exc, old, new):
    return _LinAlgError(str(exc).replace(old, new, 1))


def _flat(a):
    # NOTE: an explicit batch size: -1 is ambiguous for empty matrices
    return a.reshape((int(np.prod(a.shape[:-2])),) + a.shape[-2:])


def _lu_solve_data(a, b):
    """A^{-1} B through NumPy's LU (no error: a zero pivot gives inf/nan, as LAPACK)."""
    lu_, piv, _ = _lu_data(a)
    L, U = _unpack_data(lu_)
    P = _perm_matrix(piv, a.shape[-1], a.dtype)
    with np.errstate(all="ignore"):
        y = _tri_solve_data(L, np.swapaxes(P, -1, -2) @ b, False, True, True)
        return _tri_solve_data(U, y, True, True, False).astype(a.dtype, copy=False)


# ---- LU factors in NumPy (the ``*_ex`` solves in ``decomposition``, the LU ops in ``lu``) ----
def _lu_data(a):
    """LU with partial pivoting (LAPACK getrf), batched: the packed factors, 1-based int32
    pivots and LAPACK's info (1-based index of the first zero pivot, or 0)."""
    m, n = a.shape[-2:]
    k = min(m, n)
    xp = _xp(a)
    lu = _flat(a).copy()
    batch = lu.shape[0]
    piv = xp.zeros((batch, k), np.int32)
    info = xp.zeros(batch, np.int32)
    rows = xp.arange(batch)
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
    xp = _xp(piv)
    flat = piv.reshape(int(np.prod(lead)), piv.shape[-1]).astype(np.int64) - 1
    perm = xp.tile(xp.arange(m), (flat.shape[0], 1))
    rows = xp.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j]
        top = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = top
    P = xp.zeros((flat.shape[0], m, m), dtype)
    P[rows[:, None], perm, xp.arange(m)[None, :]] = 1
    return P.reshape(lead + (m, m))


def _unpack_data(lu):
    m, n = lu.shape[-2:]
    k = min(m, n)
    L = np.tril(lu[..., :, :k], -1) + _xp(lu).eye(m, k, dtype=lu.dtype)
    U = np.triu(lu[..., :k, :])
    return L, U
