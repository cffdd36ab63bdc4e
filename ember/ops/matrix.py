"""Matrix-shaped helpers: trace, diagonal (a view), diag, diag_embed, diagflat,
diagonal_scatter, tril/triu (+ in-place), tril_indices/triu_indices, block_diag, cross /
linalg.cross, linalg.vecdot, linalg.diagonal, adjoint. The matrix products (mm, matmul, einsum,
kron...) live in ``linalg``.

Contract: PyTorch's signatures, shapes, dtypes, node names (TraceBackward0, DiagEmbedBackward0,
TrilBackward0, LinalgCrossBackward0...) and error messages; each op is linear in its inputs
(cross bilinear) and its rules are written in ember ops, so they differentiate again, with
forward-mode rules. ``diagonal`` is a view step of its own, registered in _views.py's table of
view steps.
"""

from __future__ import annotations

import numpy as np

from .._warn import warn_once
from ..autograd.grad_mode import STATE
from ..creation import _check_pin
from ..dtypes import result_type
from ..tensor import as_array
from ._jvp import linear, out_zeros
from ._linalg_base import _const, _xp
from ._registry import node_class, record, recording, register, wrap
from .inplace import register_inplace
from .shape import _ADJOINT, _view_op


# ---- trace / diagonal / diag_embed / diag / tril / triu ----
def _trace_vjp(ctx, g):
    n, m = ctx.args
    # (selected, as PyTorch's index_fill: an inf or NaN g stays off the diagonal)
    return (g.where(_const(g, lambda xp: xp.eye(n, m, dtype=bool)), 0.0),)


TraceBackward0 = node_class("TraceBackward0", _trace_vjp, linear(lambda ctx, dx: dx.trace()))


def trace(input):
    """Sum of the main diagonal of a 2-D tensor."""
    a = input._data
    if a.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {a.ndim}")
    if a.dtype == np.bool_:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    data = as_array(np.trace(a))
    if a.dtype.kind in "biu":
        data = data.astype(np.int64, copy=False)
    if STATE.enabled and recording(input):
        return record(TraceBackward0, data.astype(a.dtype, copy=False), (input,), args=a.shape)
    return wrap(data)


def _diag_dims(ndim, offset, dim1, dim2):
    from ..tensor import _wrap_dim

    d1, d2 = _wrap_dim(dim1, ndim), _wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def _diag_view(a, offset, d1, d2):
    """The writable strided view of ``a``'s diagonal (NumPy's own is read-only)."""
    shape, strides = a.shape, a.strides
    if offset >= 0:
        length = max(0, min(shape[d1], shape[d2] - offset))
        start = (0, offset)
    else:
        length = max(0, min(shape[d1] + offset, shape[d2]))
        start = (-offset, 0)
    key = [slice(None)] * a.ndim
    if length:
        key[d1], key[d2] = slice(start[0], None), slice(start[1], None)
    base = a[tuple(key)]
    rest = [i for i in range(a.ndim) if i not in (d1, d2)]
    # (NumPy's as_strided would make a host array of a device one: the array's own library's)
    return _xp(a).lib.stride_tricks.as_strided(
        base, tuple(shape[i] for i in rest) + (length,),
        tuple(strides[i] for i in rest) + (strides[d1] + strides[d2],))


def _diag_scatter_data(g, in_shape, offset, d1, d2):
    z = _xp(g).zeros(in_shape, dtype=g.dtype)
    _diag_view(z, offset, d1, d2)[...] = g
    return z


def _diag_scatter_vjp(ctx, g):
    return (g.diagonal(*ctx.args[1:]),)


DiagonalBackwardBackward0 = node_class(
    "DiagonalBackwardBackward0", _diag_scatter_vjp,
    linear(lambda ctx, dg: _diag_scatter(dg, *ctx.args)))


def _diag_scatter(g, in_shape, offset, d1, d2):
    """A zero tensor of ``in_shape`` with ``g`` on its (offset, d1, d2) diagonal."""
    data = _diag_scatter_data(g._data, in_shape, offset, d1, d2)
    if STATE.enabled and recording(g):
        return record(DiagonalBackwardBackward0, data, (g,), args=(in_shape, offset, d1, d2))
    return wrap(data)


def _diagonal_vjp(ctx, g):
    return (_diag_scatter(g, *ctx.args),)


DiagonalBackward0 = node_class("DiagonalBackward0", _diagonal_vjp,
                               linear(lambda ctx, dx: dx.diagonal(*ctx.args[1:])))
DiagonalBackward0_copy = node_class("DiagonalBackward0_copy", _diagonal_vjp,
                                    linear(lambda ctx, dx: dx.diagonal(*ctx.args[1:])))


def _adj_diagonal(g, in_shape, offset, d1, d2):
    return _diag_scatter_data(g, in_shape, offset, d1, d2)


# NOTE: the diagonal is a view step of its own (replay must give a real view: CopySlices writes
# through it), so its array function and adjoint join _views.py's table of view steps.
_ADJOINT[_diag_view] = _adj_diagonal


def diagonal(input, offset=0, dim1=0, dim2=1):
    """A view of the diagonal over ``dim1`` and ``dim2`` (appended as the last dim)."""
    a = input._data
    d1, d2 = _diag_dims(a.ndim, offset, dim1, dim2)
    data = _diag_view(a, offset, d1, d2)
    return _view_op(DiagonalBackward0, input, data, (_diag_view, (offset, d1, d2)),
                    (a.shape, offset, d1, d2))


def _diag_embed_vjp(ctx, g):
    _, offset, d1, d2 = ctx.args
    return (g.diagonal(offset, d1, d2),)


DiagEmbedBackward0 = node_class("DiagEmbedBackward0", _diag_embed_vjp,
                                linear(lambda ctx, dx: dx.diag_embed(*ctx.args[1:])))


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose (offset, dim1, dim2) diagonals are ``input``'s last dim, zero elsewhere."""
    a = input._data
    d1, d2 = _diag_dims(a.ndim + 1, offset, dim1, dim2)
    n = a.shape[-1] + abs(offset) if a.ndim else 1 + abs(offset)
    rest = list(a.shape[:-1])
    shape = []
    for i in range(a.ndim + 1):
        shape.append(n if i in (d1, d2) else rest.pop(0))
    data = _diag_scatter_data(a, tuple(shape), offset, d1, d2)
    if STATE.enabled and recording(input):
        return record(DiagEmbedBackward0, data, (input,), args=(None, offset, d1, d2))
    return wrap(data)


def diag(input, diagonal=0):
    """1-D: the matrix with ``input`` on its ``diagonal``-th diagonal; 2-D: that diagonal."""
    a = input._data
    if a.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if a.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {a.ndim}D")
    data = _diag_view(a, diagonal, 0, 1).copy()
    if STATE.enabled and recording(input):
        return record(DiagonalBackward0_copy, data, (input,), args=(a.shape, diagonal, 0, 1))
    return wrap(data)


def diagflat(input, offset=0):
    """The matrix with the flattened ``input`` on its ``offset``-th diagonal."""
    return diag_embed(input.reshape(-1), offset, 0, 1)


def _diagonal_scatter_vjp(ctx, g):
    offset, d1, d2 = ctx.args
    gi = gs = None
    if ctx.next_functions[0][0] is not None:
        gi = diagonal_scatter(g, g.diagonal(offset, d1, d2) * 0, offset, d1, d2)
    if ctx.next_functions[1][0] is not None:
        gs = g.diagonal(offset, d1, d2)
    return gi, gs


def _diagonal_scatter_jvp(ctx, di, ds):
    """Linear in (input, src); either may be a constant (no tangent: zeros in its place)."""
    offset, d1, d2 = ctx.args
    if di is None and ds is None:
        return out_zeros(ctx)
    if di is None:
        di = out_zeros(ctx)
    if ds is None:
        diag = _diag_view(di._data, offset, d1, d2)
        ds = wrap(_xp(di._data).zeros(diag.shape, dtype=di._data.dtype))
    return diagonal_scatter(di, ds, offset, d1, d2)


DiagonalScatterBackward0 = node_class("DiagonalScatterBackward0", _diagonal_scatter_vjp,
                                      _diagonal_scatter_jvp)


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of ``input`` with ``src`` written over its (offset, dim1, dim2) diagonal."""
    a = input._data
    d1, d2 = _diag_dims(a.ndim, offset, dim1, dim2)
    data = a.copy()
    view = _diag_view(data, offset, d1, d2)
    if view.shape != src._data.shape:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src._data.shape)}, slice size = {list(view.shape)}")
    view[...] = src._data
    if STATE.enabled and recording(input, src):
        return record(DiagonalScatterBackward0, data, (input, src), args=(offset, d1, d2))
    return wrap(data)


def adjoint(input):
    """The conjugate transpose of the last two dims (a view; the transpose for real tensors)."""
    if input._data.ndim < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {input._data.ndim}-D tensor.")
    return input.transpose(-2, -1)


def linalg_vecdot(x, y, *, dim=-1):
    """``sum(x * y, dim)`` (``x`` conjugated: the same for reals), inputs broadcasting."""
    for t in (x, y):
        if t._data.dtype.kind not in "fcV":  # ("V": bfloat16, NOTE [bfloat16 products])
            raise RuntimeError("linalg.vecdot: Expected a floating point or complex tensor as "
                               f"input. Got {t.dtype.scalar_name}")
    return (x * y).sum(dim)


def linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """``linalg.diagonal``: ``diagonal`` over the last two dims by default."""
    return diagonal(A, offset, dim1, dim2)


def _tri_indices(row, col, offset, dtype, lower):
    from ..dtypes import int64

    name = "tril_indices" if lower else "triu_indices"
    dtype = dtype or int64
    if dtype.np.kind not in "iu":
        raise NotImplementedError(f"\"{name}\" not implemented for '{dtype.scalar_name}'")
    for what, v in (("row", row), ("col", col)):
        if v < 0:
            raise RuntimeError(f"{what} must be non-negative, got{v}")
    mask = np.tri(row, col, offset, dtype=bool) if lower else \
        ~np.tri(row, col, offset - 1, dtype=bool)
    return np.stack(np.nonzero(mask)).astype(dtype.np).reshape(2, -1)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None,
                 pin_memory=False):
    """The (row, column) indices of the lower triangle of a row x col matrix, row-major."""
    from ..creation import _new

    _check_pin(pin_memory)
    # (a factory: made on the host, then placed on ``device`` or the default device)
    return _new(_tri_indices(row, col, offset, dtype, True), device=device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None,
                 pin_memory=False):
    """The (row, column) indices of the upper triangle of a row x col matrix, row-major."""
    from ..creation import _new

    _check_pin(pin_memory)
    return _new(_tri_indices(row, col, offset, dtype, False), device=device)


# ---- block_diag ----
def _block_diag_vjp(ctx, g):
    shapes, offsets = ctx.args
    grads = []
    for (r, c), shape, fn in zip(offsets, shapes, ctx.next_functions):
        if fn[0] is None:
            grads.append(None)
            continue
        rows, cols = ((1,) * (2 - len(shape)) + tuple(shape))[-2:]
        grads.append(g.narrow(0, r, rows).narrow(1, c, cols).reshape(shape))
    return tuple(grads)


BlockDiagBackward0 = node_class(
    "BlockDiagBackward0", _block_diag_vjp,
    linear(lambda ctx, *ts: block_diag(*ts).to(_out_dtype(ctx))))


def _out_dtype(ctx):
    from ..dtypes import from_np

    return from_np(ctx._meta[0][1])


def block_diag(*tensors):
    """The block-diagonal matrix of the tensors (0-d: 1 x 1, 1-D: one row)."""
    mats = []
    for i, t in enumerate(tensors):
        a = t._data
        if a.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {a.ndim} dimensions")
        mats.append(a.reshape(1, 1) if a.ndim == 0 else a.reshape(1, -1) if a.ndim == 1 else a)
    if not tensors:
        return wrap(np.zeros((1, 0), np.float32))
    dtype = result_type(*tensors).np
    rows = sum(m.shape[0] for m in mats)
    cols = sum(m.shape[1] for m in mats)
    data = _xp(mats[0]).zeros((rows, cols), dtype)
    offsets = []
    r = c = 0
    for m in mats:
        data[r:r + m.shape[0], c:c + m.shape[1]] = m
        offsets.append((r, c))
        r, c = r + m.shape[0], c + m.shape[1]
    if STATE.enabled and recording(*tensors):
        return record(BlockDiagBackward0, data, tensors,
                      args=(tuple(t._data.shape for t in tensors), tuple(offsets)))
    return wrap(data)


def _tri_mask(xp, shape, k, lower):
    n, m = shape[-2:]
    mask = xp.tri(n, m, k, dtype=bool)
    return mask if lower else ~xp.tri(n, m, k - 1, dtype=bool)


def _tril_vjp(ctx, g):
    return (g.tril(ctx.args[0]),)


def _triu_vjp(ctx, g):
    return (g.triu(ctx.args[0]),)


TrilBackward0 = node_class("TrilBackward0", _tril_vjp, linear(lambda ctx, d: d.tril(*ctx.args)))
TriuBackward0 = node_class("TriuBackward0", _triu_vjp, linear(lambda ctx, d: d.triu(*ctx.args)))


def _triangle(input, k, lower):
    a = input._data
    name = "tril" if lower else "triu"
    if a.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    xp = _xp(a)
    data = np.where(_tri_mask(xp, a.shape, k, lower), a, xp.zeros((), a.dtype))
    if STATE.enabled and recording(input):
        return record(TrilBackward0 if lower else TriuBackward0, data, (input,), args=(k,))
    return wrap(data)


def tril(input, diagonal=0):
    """The lower triangle (on and below the ``diagonal``-th diagonal); zero above."""
    return _triangle(input, diagonal, True)


def triu(input, diagonal=0):
    """The upper triangle (on and above the ``diagonal``-th diagonal); zero below."""
    return _triangle(input, diagonal, False)


# ---- cross ----
def _cross_vjp(ctx, g):
    x, y = ctx.saved_tensors
    dim = ctx.args[0]
    return (linalg_cross(y, g, dim=dim) if y is not None else None,
            linalg_cross(g, x, dim=dim) if x is not None else None)


def _cross_jvp(ctx, dx, dy):
    x, y = ctx.saved_tensors
    dim = ctx.args[0]
    total = linalg_cross(dx, y, dim=dim) if dx is not None else None
    if dy is not None:
        c = linalg_cross(x, dy, dim=dim)
        total = c if total is None else total + c
    return out_zeros(ctx) if total is None else total.expand(ctx._meta[0][0])


LinalgCrossBackward0 = node_class("LinalgCrossBackward0", _cross_vjp, _cross_jvp)


def linalg_cross(input, other, *, dim=-1):
    """Cross product of 3-vectors along ``dim`` (inputs broadcast)."""
    from ..tensor import _wrap_dim

    a, b = input._data, other._data
    if a.ndim != b.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    n = a.ndim
    sa, sb = (1,) * (n - a.ndim) + a.shape, (1,) * (n - b.ndim) + b.shape
    d = _wrap_dim(dim, n)
    if sa[d] != 3 or sb[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{sa[d]} and {sb[d]}")
    if a.dtype != b.dtype:  # NOTE: PyTorch does not promote here
        raise RuntimeError(f"expected scalar type {input.dtype.scalar_name} but found "
                           f"{other.dtype.scalar_name}")
    data = np.cross(a.reshape(sa), b.reshape(sb), axis=d)
    if STATE.enabled:
        rx, ry = recording(input), recording(other)
        if rx or ry:
            return record(LinalgCrossBackward0, data, (input, other),
                          save=(input if ry else None, other if rx else None), args=(d,))
    return wrap(data)


def cross(input, other, dim=None):
    """``torch.cross``: ``linalg.cross`` along ``dim`` (default: the first dim of size 3, with
    PyTorch's deprecation warning)."""
    if dim is None:
        warn_once("Using torch.cross without specifying the dim arg is deprecated.\n"
                  "Please either pass the dim explicitly or simply use torch.linalg.cross.\n"
                  "The default value of dim will change to agree with that of linalg.cross "
                  "in a future release.")
    if dim is None:
        shape = np.broadcast_shapes(input._data.shape, other._data.shape)
        dim = next((i for i, n in enumerate(shape) if n == 3), -1)
    return linalg_cross(input, other, dim=dim)


for _name in ("trace", "diagonal", "diag_embed", "diag", "tril", "triu", "cross", "diagflat",
              "diagonal_scatter", "adjoint"):
    register(globals()[_name], _name)
for _name in ("tril_indices", "triu_indices", "block_diag"):
    register(globals()[_name], _name, method=False)
register_inplace(tril, triu)
