"""Index-valued ops: nonzero, argwhere, unravel_index, unique and unique_consecutive (with
inverse indices and counts, flattened or along a dim).

Contract: PyTorch's signatures, dtypes, shapes, node names and error messages. No gradient:
their outputs are indices, and where PyTorch records a node for the values of a tensor that
requires grad (Unique2Backward0, UniqueDimBackward0, UniqueConsecutiveBackward0), so does
ember, and backward through it raises as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import _wrap_dim
from ._registry import node_class, record, recording, register, wrap
from .shape import supports_out


def _xp(a):
    """The array namespace of ``a``: NumPy itself for a NumPy array (no lookup)."""
    return np if isinstance(a, np.ndarray) else namespace(a)


# ==== index-valued ops (no gradient) ========================================================

@supports_out("nonzero")
def nonzero(input, *, as_tuple=False):
    """Indices of the nonzero elements: an ``(n, ndim)`` int64 tensor, or one 1-D tensor per
    dim with ``as_tuple=True``."""
    a = input._data
    if as_tuple:
        if a.ndim == 0:
            return (wrap(_xp(a).arange(int(a != 0), dtype=np.int64)),)
        return tuple(wrap(i.astype(np.int64)) for i in np.nonzero(a))
    return wrap(np.argwhere(a).astype(np.int64))


def unravel_index(indices, shape):
    """The coordinates in ``shape`` of flat ``indices`` (taken modulo the size, as PyTorch
    does), one int64 tensor per dim."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    idx = indices._data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    n = int(np.prod(shape))
    flat = np.mod(idx.astype(np.int64), n) if n else idx.astype(np.int64)
    return tuple(wrap(c.astype(np.int64)) for c in np.unravel_index(flat, shape))


def argwhere(input):
    """The indices of the nonzero elements, an ``(n, ndim)`` int64 tensor."""
    return wrap(np.argwhere(input._data).astype(np.int64))


def _no_derivative(name):
    def rule(ctx, *grads):
        raise NotImplementedError(f"the derivative for '{name}' is not implemented.")
    return rule


# NOTE: PyTorch records these nodes (the values of a tensor that requires grad require grad)
# but has no derivative for them: backward through one raises.
Unique2Backward0 = node_class("Unique2Backward0", _no_derivative("_unique2"),
                              _no_derivative("_unique2"))
UniqueDimBackward0 = node_class("UniqueDimBackward0", _no_derivative("unique_dim"),
                                _no_derivative("unique_dim"))
UniqueConsecutiveBackward0 = node_class(
    "UniqueConsecutiveBackward0", _no_derivative("unique_consecutive"),
    _no_derivative("unique_consecutive"))


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted), optionally with the inverse map and the counts; with
    ``dim``, the distinct slices along ``dim``."""
    a = input._data
    if dim is None:
        # each NaN is its own value, as in PyTorch (NumPy merges them by default)
        vals, inv, counts = np.unique(a.reshape(-1), return_inverse=True, return_counts=True,
                                      equal_nan=False)
        inv = inv.reshape(a.shape)
        node = Unique2Backward0
    else:
        d = _wrap_dim(dim, a.ndim)
        node = UniqueDimBackward0
        if _empty_unique_dim(a, d):
            none = _xp(a).zeros(0, np.int64)
            return _unique_result(input, node, a.copy(), none, none, return_inverse,
                                  return_counts)
        vals, inv, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    return _unique_result(input, node, vals, inv, counts, return_inverse, return_counts)


def _empty_unique_dim(a, d, consecutive=False):
    """True when dim ``d`` is the one empty dim (the result is empty); PyTorch's errors when
    other dims are empty (unique and unique_consecutive check in opposite orders)."""
    zeros = [i for i, n in enumerate(a.shape) if n == 0]
    several = (len(zeros) > 1, "Number of zero sized dimensions is more than one, so unique "
                               "cannot be applied ")
    unselected = (any(i != d for i in zeros), "There are 0 sized dimensions, and they aren't "
                                              "selected, so unique cannot be applied")
    for failed, message in ((several, unselected) if consecutive else (unselected, several)):
        if failed:
            raise RuntimeError(message)
    return bool(zeros)


def _unique_result(input, node, vals, inv, counts, return_inverse, return_counts):
    if STATE.enabled and recording(input):
        out = record(node, vals, (input,))
    else:
        out = wrap(vals)
    if not (return_inverse or return_counts):
        return out
    res = [out]
    if return_inverse:
        res.append(wrap(inv.astype(np.int64)))
    if return_counts:
        res.append(wrap(counts.astype(np.int64)))
    return tuple(res)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (or slices along ``dim``) to one."""
    a = input._data
    if dim is None:
        flat = a.reshape(-1)
        change = _xp(a).ones(flat.size, dtype=bool)
        change[1:] = flat[1:] != flat[:-1]
        vals = flat[change]
        inv = (np.cumsum(change) - 1).reshape(a.shape)
    else:
        d = _wrap_dim(dim, a.ndim)
        if _empty_unique_dim(a, d, consecutive=True):
            none = _xp(a).zeros(0, np.int64)
            return _unique_result(input, UniqueConsecutiveBackward0, a.copy(), none, none,
                                  return_inverse, return_counts)
        m = np.moveaxis(a, d, 0).reshape(a.shape[d], -1)
        change = _xp(a).ones(m.shape[0], dtype=bool)
        change[1:] = (m[1:] != m[:-1]).any(axis=1)
        vals = np.compress(change, a, axis=d)
        inv = np.cumsum(change) - 1
    starts = np.flatnonzero(change)
    counts = np.diff(np.append(starts, change.size))
    return _unique_result(input, UniqueConsecutiveBackward0, vals, inv, counts, return_inverse,
                          return_counts)


# ==== registration =========================================================================

for _name in ("nonzero", "argwhere", "unique", "unique_consecutive"):
    register(globals()[_name], _name)
register(unravel_index, "unravel_index", method=False)
