"""Order statistics: sort, argsort, msort, topk, kthvalue, median, nanmedian, mode.

Contract: PyTorch's signatures, named-tuple results (``ember.return_types.sort``...) and node
names; rules in ember ops (twice differentiable) with forward-mode rules. Every op that returns
indices sends the gradient of each value to the index it came from (a scatter along the dim);
full ``median``/``nanmedian`` (no dim) share it evenly among tied elements, as PyTorch.
NaN sorts as the largest value.

NOTE [tie indices]: PyTorch's ``sort``/``argsort`` without ``stable=True`` (``std::sort``, an
introsort) and its ``topk`` (selection algorithms) order tied values in a way that depends on
the whole row; ember replays those algorithms for rows with ties (``_stl_order``), so
indices agree there too. Two exceptions follow PyTorch's kernels: a 1-D integer tensor of at
least 32768 elements sorted ascending goes through PyTorch's radix sort, which is stable; and
past ``_REPLAY_LIMIT`` tied elements in one call ember keeps the stable order rather than
spend seconds in Python (indices of ties then differ). ``kthvalue``/``median`` take the first
tied element in stable sorted order, which can differ from PyTorch's selection. Values agree
everywhere, and ``stable=True`` sorts agree exactly.
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import _wrap_dim, as_array, device_of, on_device, to_host
from ._jvp import fiberwise
from ._registry import node_class, record, recording, register, wrap
from .reduction import even_vjp, return_types, select_jvp, select_vjp

_sort_type = return_types.make("sort")
_topk_type = return_types.make("topk")
_kthvalue_type = return_types.make("kthvalue")
_median_type = return_types.make("median")
_nanmedian_type = return_types.make("nanmedian")
_mode_type = return_types.make("mode")


# ---- the shared rule: values selected at indices along a dim (reduction.select_vjp) ----
SortBackward0 = node_class("SortBackward0", select_vjp, select_jvp)
SortBackward1 = node_class("SortBackward1", select_vjp, select_jvp)  # with stable=
TopkBackward0 = node_class("TopkBackward0", select_vjp, select_jvp)
KthvalueBackward0 = node_class("KthvalueBackward0", select_vjp, select_jvp)
MedianBackward1 = node_class("MedianBackward1", select_vjp, select_jvp)
NanmedianBackward1 = node_class("NanmedianBackward1", select_vjp, select_jvp)
ModeBackward0 = node_class("ModeBackward0", select_vjp, select_jvp)

# NOTE: a full median's gradient is shared evenly among the elements equal to it (among the
# NaNs when it is NaN), as full max/min.
_FULL = fiberwise(lambda ctx: (ctx.args[1], ctx.args[2]))
MedianBackward0 = node_class("MedianBackward0", even_vjp, _FULL)
NanmedianBackward0 = node_class("NanmedianBackward0", even_vjp, _FULL)


def _selected(node, input, values, idx, d, keepdim, result_type):
    """The ``(values, indices)`` result, recording ``node`` when a gradient is wanted."""
    indices = wrap(idx.astype(np.int64, copy=False))
    a = input._data
    if STATE.enabled and recording(input) and a.dtype.kind in "fcV":  # ("V": bfloat16)
        out = record(node, values, (input,), save=(indices,), args=(a.shape, d, keepdim))
        return result_type(out, indices)
    return result_type(wrap(values), indices)


def _xp(a):
    """The array namespace of ``a``: NumPy itself for a NumPy array (no lookup)."""
    return np if isinstance(a, np.ndarray) else namespace(a)


def _lifted(a, dim):
    """``a`` with at least one dim (a 0-dim input acts as one element) and ``dim`` wrapped."""
    d = _wrap_dim(int(dim), a.ndim)
    return (a.reshape(1) if a.ndim == 0 else a), d


def _argsort(a, d, descending=False):
    """Stable sort order along ``d``; NaN counts as the largest value."""
    if not descending:
        return np.argsort(a, axis=d, kind="stable")
    # NOTE: a stable descending order (ties keep their order): sort the reversed slice
    # ascending, reverse the result and map positions back.
    n = a.shape[d]
    rev = np.argsort(np.flip(a, d), axis=d, kind="stable")
    return (n - 1) - np.flip(rev, d)


def _tied(head):
    """Per row of ``head`` (values in sorted order along the last dim): does any value repeat
    (equal values, ``-0.0`` and ``0.0``, several NaNs)?"""
    same = head[..., 1:] == head[..., :-1]
    if head.dtype.kind in "fcV":
        nan = np.isnan(head)
        same |= nan[..., 1:] & nan[..., :-1]
    return same.any(axis=-1)


_REPLAY_LIMIT = 1 << 16  # tied elements per call whose order is replayed in Python (~0.3 s)
_RADIX_MIN = 32768  # PyTorch sorts 1-D integer tensors this long ascending by (stable) radix


def _sort_order(a, d, descending, stable):
    """The order along ``d`` that PyTorch's CPU sort gives: NumPy's stable sort, with the
    rows that have ties put in ``std::sort``'s order unless ``stable`` (NOTE [tie indices])."""
    order = _argsort(a, d, descending)
    n = a.shape[d]
    if stable or n < 2 or a.size == 0 or (a.ndim == 1 and not descending
                                           and a.dtype.kind in "iu" and n >= _RADIX_MIN):
        return order
    from ._stl_order import sort_row

    return _replay_ties(a, d, order, order, lambda row: sort_row(row, bool(descending)),
                        limit=_REPLAY_LIMIT)


def _replay_ties(a, d, order, idx, row_fn, head=None, limit=None):
    """``idx`` (indices along ``d``) with each row whose values, in ``order`` (its first
    ``head`` positions when given), repeat replaced by ``row_fn(that row as a list)``: PyTorch's
    algorithms order tied values their own way, replayed in ``_stl_order``; a row without ties
    has one answer, NumPy's. Past ``limit`` tied elements the rows are left as they are."""
    if head is not None:
        order = np.take(order, _xp(order).arange(head), axis=d)
    tied = _tied(np.moveaxis(np.take_along_axis(a, order, axis=d), d, -1))
    if not tied.any():
        return idx
    if not isinstance(a, np.ndarray):
        # (the tied rows are replayed in Python, _stl_order: on the host, then copied back)
        return on_device(_replay_ties(to_host(a), d, to_host(order), to_host(idx), row_fn,
                                      limit=limit), device_of(a))
    rows = np.argwhere(tied) if tied.ndim else [()]
    if limit is not None and len(rows) * a.shape[d] > limit:
        return idx
    src = np.moveaxis(a, d, -1)
    out = np.moveaxis(idx, d, -1).copy()
    for pos in rows:
        pos = tuple(pos)
        out[pos] = row_fn(src[pos].tolist())
    return np.moveaxis(out, -1, d)


def _check_not_bool(a, kernel):
    if a.dtype.kind == "b":
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _check_nonempty(a, d, name):
    if a.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


# ---- sort / argsort / msort ----
def sort(input, dim=-1, descending=False, *, stable=None):
    """Sorted values along ``dim`` and where they came from: ``(values, indices)``."""
    a0 = input._data
    a, d = _lifted(a0, dim)
    idx = _sort_order(a, d, descending, stable)
    values = np.take_along_axis(a, idx, axis=d).reshape(a0.shape)
    node = SortBackward0 if stable is None else SortBackward1
    return _selected(node, input, values, idx.reshape(a0.shape), d, True, _sort_type)


def argsort(input, dim=-1, descending=False, *, stable=False):
    """The indices that sort ``input`` along ``dim``."""
    a0 = input._data
    a, d = _lifted(a0, dim)
    idx = _sort_order(a, d, descending, stable)
    return wrap(idx.reshape(a0.shape).astype(np.int64, copy=False))


def msort(input):
    """``input`` sorted along its first dim."""
    return sort(input, 0).values


# ---- topk / kthvalue ----
def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
    """The ``k`` largest (``largest=False``: smallest) values along ``dim``, with indices."""
    # NOTE: ``sorted=False`` leaves the order unspecified in PyTorch; ember returns it sorted.
    a0 = input._data
    if not isinstance(k, (int, np.integer)):
        raise TypeError(f"topk(): argument 'k' (position 1) must be int, not {type(k).__name__}")
    if a0.dtype.kind == "b":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    a, d = _lifted(a0, dim)
    if not 0 <= k <= a.shape[d]:
        raise RuntimeError("selected index k out of range")
    # NOTE: a 0-d input gives its one element for k = 0 too (a 0-d result cannot be empty)
    idx = _topk_indices(a, d, k if a0.ndim else 1, largest)
    values = np.take_along_axis(a, idx, axis=d)
    if a0.ndim == 0:
        values, idx = values.reshape(()), idx.reshape(())
    return _selected(TopkBackward0, input, values, idx, d, True, _topk_type)


def _topk_indices(a, d, k, largest):
    """The indices PyTorch's CPU ``topk`` picks along ``d``. A row whose first ``k + 1``
    values (in sorted order) are all distinct has one answer, which NumPy's sort gives; a row
    with a tie there (equal values, ``-0.0`` and ``0.0``, several NaNs) gets the order of
    PyTorch's unstable selection, replayed in ``_stl_order``."""
    order = _argsort(a, d, descending=largest)
    idx = np.take(order, _xp(order).arange(k), axis=d)
    n = a.shape[d]
    if k == 0 or a.size == 0 or (n == 1):
        return idx
    from ._stl_order import topk_row

    return _replay_ties(a, d, order, idx, lambda row: topk_row(row, k, largest),
                        head=min(k + 1, n))


def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest value along ``dim`` (1-based) and its index."""
    a0 = input._data
    _check_not_bool(a0, "kthvalue_cpu")
    a, d = _lifted(a0, dim)
    _check_nonempty(a, d, "kthvalue")
    if not 1 <= k <= a.shape[d]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    pos = _xp(a).full([1 if i == d else s for i, s in enumerate(a.shape)], k - 1)
    return _pick(KthvalueBackward0, input, a, a0, d, keepdim, pos, _kthvalue_type, k)


def _pick(node, input, a, a0, d, keepdim, pos, result_type, replay_k=None):
    """Values at sorted positions ``pos`` (keepdim-shaped) along ``d``, with their indices
    (``replay_k``: kthvalue's k, whose rows with ties take PyTorch's quickselect index)."""
    order = _argsort(a, d)
    idx = np.take_along_axis(order, pos, axis=d)
    if replay_k is not None and a.shape[d] > 1:  # (PyTorch's quickselect among ties)
        from ._stl_order import kth_row

        idx = _replay_ties(a, d, order, idx, lambda row: kth_row(row, replay_k))
    values = np.take_along_axis(a, idx, axis=d)
    if a0.ndim == 0:
        values, idx = values.reshape(()), idx.reshape(())
    elif not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return _selected(node, input, values, idx, d, keepdim, result_type)


# ---- median / nanmedian ----
def _full_median(input, ignore_nan, node):
    a = input._data
    _check_not_bool(a, "median_cpu")
    flat = a.reshape(-1)
    if ignore_nan:
        flat = flat[~np.isnan(flat)] if a.dtype.kind in "fV" else flat
    if flat.size == 0 or (a.dtype.kind in "fV" and np.isnan(flat).any()):
        data = _xp(a).asarray(np.nan, dtype=a.dtype)
    else:
        # NOTE: the lower of the two middle values for an even count, as PyTorch.
        data = np.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2]
        data = as_array(data).astype(a.dtype, copy=False)
    if STATE.enabled and recording(input) and a.dtype.kind in "fcV":  # ("V": bfloat16)
        return record(node, data, (input,), save=(input,),
                      args=(a.shape, tuple(range(a.ndim)), False), save_out=True)
    return wrap(data)


def _median_dim(input, dim, keepdim, ignore_nan, node, result_type, name):
    a0 = input._data
    _check_not_bool(a0, "median_out")
    a, d = _lifted(a0, dim)
    _check_nonempty(a, d, name)
    shape = [1 if i == d else s for i, s in enumerate(a.shape)]
    nan = np.isnan(a) if a.dtype.kind in "fV" else _xp(a).zeros(a.shape, dtype=bool)
    count = a.shape[d] - nan.sum(axis=d, keepdims=True) if ignore_nan else \
        _xp(a).full(shape, a.shape[d])
    pos = np.maximum(count - 1, 0) // 2
    if not ignore_nan:
        # NOTE: a slice with a NaN has median NaN, at the first NaN's index (NaN sorts last).
        pos = np.where(nan.any(axis=d, keepdims=True), a.shape[d] - nan.sum(axis=d,
                                                                            keepdims=True), pos)
    return _pick(node, input, a, a0, d, keepdim, pos, result_type)


def median(input, dim=None, keepdim=False):
    """The lower median of all elements; with ``dim``, ``(values, indices)`` along it."""
    if dim is None:
        return _full_median(input, False, MedianBackward0)
    return _median_dim(input, dim, keepdim, False, MedianBackward1, _median_type, "median")


def nanmedian(input, dim=None, keepdim=False):
    """``median`` ignoring NaN (NaN only where a slice is all NaN)."""
    if dim is None:
        return _full_median(input, True, NanmedianBackward0)
    # NOTE: PyTorch's empty-dim error says "median()" for nanmedian too.
    return _median_dim(input, dim, keepdim, True, NanmedianBackward1, _nanmedian_type,
                       "median")


# ---- mode ----
def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (ties: the smallest) and its last index."""
    a0 = input._data
    a, d = _lifted(a0, dim)
    _check_nonempty(a, d, "mode")
    s = np.moveaxis(np.sort(a, axis=d, kind="stable"), d, -1)
    rows = s.reshape(-1, s.shape[-1])
    n = rows.shape[1]
    # run lengths of equal values in each sorted row, numbered across all rows
    xp = _xp(a)
    new_run = xp.ones(rows.shape, dtype=bool)
    new_run[:, 1:] = rows[:, 1:] != rows[:, :-1]
    run_id = np.cumsum(new_run.reshape(-1)) - 1
    counts = np.bincount(run_id)[run_id].reshape(rows.shape)
    # NOTE: argmax takes the first of the most frequent runs: the smallest value, as PyTorch.
    best = rows[xp.arange(rows.shape[0]), np.argmax(counts, axis=1)]
    value = np.expand_dims(best.reshape(s.shape[:-1]), d)
    # NOTE: PyTorch returns the last index holding the mode.
    pos = xp.arange(n).reshape([-1 if i == d else 1 for i in range(a.ndim)])
    idx = np.max(np.where(a == value, pos, -1), axis=d, keepdims=True)
    values = value
    if a0.ndim == 0:
        values, idx = values.reshape(()), idx.reshape(())
    elif not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return _selected(ModeBackward0, input, values.copy(), idx, d, keepdim, _mode_type)


for _name in ("sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode"):
    register(globals()[_name], _name)
