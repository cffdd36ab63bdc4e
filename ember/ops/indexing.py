"""Indexing: select, slice, narrow, narrow_copy, ``__getitem__`` (basic and advanced),
index_put (the write side of advanced indexing), select_scatter/slice_scatter/
diagonal_scatter (the write side of select, slicing and diagonal), and the
scatter-with-accumulation that advanced indexing's backward uses.

Contract: basic indexing (ints, slices with positive steps, None, ...) returns views, recorded
as PyTorch records them (one SelectBackward0/SliceBackward0/UnsqueezeBackward0 per indexed
dim); advanced indexing (integer tensors/lists, bool masks) copies, and its backward adds
gradients with accumulation, so repeated indices add up. Out-of-range indices, bad masks and
bad index dtypes raise PyTorch's IndexError messages.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import Tensor, _wrap_dim, device_of, on_device, writeable
from ._jvp import linear
from ._registry import meta_zeros, node_class, record, recording, register, wrap
from .segment import add_rows, ufunc_at
from .shape import (
    AliasBackward0,
    _fmt_list,
    _mark_view,
    _np_index,
    _np_reshape,
    _view_op,
    unsqueeze,
    view_scatter,
)

_INDEXED = linear(lambda ctx, dx: dx[ctx.args[1]])


def _select_vjp(ctx, g):
    in_shape, key = ctx.args
    return (view_scatter(g, in_shape, ((_np_index, (key,)),)),)


SelectBackward0 = node_class("SelectBackward0", _select_vjp, _INDEXED)
SliceBackward0 = node_class("SliceBackward0", _select_vjp, _INDEXED)


def select(input, dim, index):
    """The view at ``index`` along ``dim`` (that dim is removed)."""
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, len(shape))
    size = shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{_fmt_list(shape)} at dimension {d}")
    key = (slice(None),) * d + (int(index), Ellipsis)  # ... keeps a 0-d result a view
    data = input._data[key]
    return _view_op(SelectBackward0, input, data, (_np_index, (key,)), (shape, key))


def _slice(input, d, sl):
    shape = input._data.shape
    key = (slice(None),) * d + (sl,)
    data = input._data[key]
    return _view_op(SliceBackward0, input, data, (_np_index, (key,)), (shape, key))


def narrow(input, dim, start, length):
    """The view of ``length`` elements from ``start`` along ``dim``."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    d = _wrap_dim(dim, len(shape))
    if isinstance(start, Tensor):
        start = int(start)
    if not -shape[d] <= start <= shape[d]:
        raise IndexError(f"start out of range (expected to be in range of [{-shape[d]}, "
                         f"{shape[d]}], but got {start})")
    if start < 0:
        start += shape[d]
    if not 0 <= start <= shape[d] or length < 0 or start + length > shape[d]:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({shape[d]}).")
    return _slice(input, d, slice(start, start + length))


def _is_basic_key_item(k):
    return k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) and \
        not isinstance(k, (bool, np.bool_))


def _type_name(k):
    kind = type(k)
    return kind.__name__ if kind.__module__ == "builtins" else \
        f"{kind.__module__}.{kind.__name__}"


def _normalize_key(key):
    if isinstance(key, tuple):
        return key
    if isinstance(key, range):
        return (list(key),)
    if isinstance(key, list) and len(key) < 32 and any(
            k is None or k is Ellipsis or isinstance(k, (slice, Tensor, list, tuple, range))
            for k in key):
        # NOTE: PyTorch still reads such a list as a tuple of indices (with this warning)
        import warnings

        warnings.warn(
            "Using a non-tuple sequence for multidimensional indexing is deprecated and will be "
            "changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this "
            "will be interpreted as tensor index, x[torch.tensor(seq)], which will result "
            "either in an error or a different result", UserWarning, stacklevel=4)
        return tuple(key)
    return (key,)


def _to_index_array(k, size=None):
    if isinstance(k, Tensor):
        a = k._data
    elif isinstance(k, np.ndarray) or _is_array(k):  # (an index array of any device)
        a = k
    else:
        a = np.asarray(k)
        if a.size == 0:
            a = a.astype(np.int64)
        if a.dtype.kind in "fV" or (a.dtype == object):  # ("V": bfloat16)
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if a.dtype.kind not in "iub":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if a.dtype == np.uint8:
        import warnings

        warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                      "torch.bool instead.", UserWarning, stacklevel=4)
        a = a.astype(bool)
    return a


def _xp(a):
    """The array namespace of ``a``: NumPy itself for a NumPy array (no lookup)."""
    return np if isinstance(a, np.ndarray) else namespace(a)


def _is_array(k):
    """Whether a parsed key item ``k`` is an index array (of any device), not an int, a
    slice, None or ``...``."""
    t = type(k)
    if t is np.ndarray:
        return True
    if t is int or t is slice or k is None or k is Ellipsis:  # (the common items, first)
        return False
    return not isinstance(k, (slice, int, np.generic)) and hasattr(k, "ndim")


def _zero(like):
    """A 0-d zero of the tensor ``like``'s dtype, on its device."""
    return wrap(_xp(like._data).zeros((), dtype=like._data.dtype))


def _expand_ellipsis(key, ndim):
    n_real = builtins.sum(
        1 for k in key if k is not None and k is not Ellipsis and not (
            (isinstance(k, Tensor) or _is_array(k)) and _to_index_array(k).dtype == bool))
    n_real += builtins.sum(
        _to_index_array(k).ndim for k in key if (isinstance(k, Tensor) or _is_array(k)) and
        _to_index_array(k).dtype == bool)
    if n_real > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    out, where = [], []
    seen = False
    for i, k in enumerate(key):
        if k is Ellipsis:
            # NOTE: as in PyTorch, a second ``...`` is allowed and stands for no dims.
            if not seen:
                out.extend([slice(None)] * (ndim - n_real))
                where.extend([i] * (ndim - n_real))
            seen = True
        else:
            out.append(k)
            where.append(i)
    return out, where


def _index_vjp(ctx, g):
    in_shape, key = ctx.args
    return (index_put_accumulate(g, in_shape, key),)


IndexBackward0 = node_class("IndexBackward0", _index_vjp, linear(
    lambda ctx, dx: _advanced_index(dx, ctx.args[1])))


def _index_put_acc_vjp(ctx, g):
    in_shape, key = ctx.args
    return (_advanced_index(g, key),)


IndexPutAccumulateBackward = node_class("IndexPutBackward0", _index_put_acc_vjp, linear(
    lambda ctx, dg: index_put_accumulate(dg, *ctx.args)))


def index_put_accumulate(g, shape, key):
    """Zeros of ``shape`` with ``g`` added at ``key`` (repeated indices accumulate)."""
    rows = key[0] if type(key) is tuple and len(key) == 1 else key
    if (type(rows) is np.ndarray or _is_array(rows)) and rows.dtype.kind in "iu" and len(shape):
        # NOTE: the common x[idx] (whole rows): sorted segment sums (segment.py), not add.at
        data = add_rows(shape[0], rows, g._data.reshape((rows.size,) + tuple(shape[1:])))
    else:
        data = _xp(g._data).zeros(shape, dtype=g._data.dtype)
        ufunc_at(np.add, data, key, g._data)
    if STATE.enabled and recording(g):
        return record(IndexPutAccumulateBackward, data, (g,), args=(shape, key))
    return wrap(data)


def _advanced_index(input, key):
    data = input._data[key]
    if STATE.enabled and recording(input):
        return record(IndexBackward0, data, (input,), args=(input._data.shape, key))
    return wrap(data)


def _view_shape(key, shape):
    """The shape after the basic part of ``key`` (ints, slices, None) is applied: the tensor
    PyTorch applies the index tensors to, and names in its mask errors."""
    out, dim = [], 0
    for k in key:
        if k is None:
            out.append(1)
        elif isinstance(k, slice):
            out.append(len(range(*k.indices(shape[dim]))))
            dim += 1
        elif isinstance(k, (int, np.integer)):
            dim += 1
        else:
            n = k.ndim if k.dtype == bool else 1
            out.extend(shape[dim:dim + n])
            dim += n
    return out + list(shape[dim:])


def _check_bounds(key, shape, where):
    """PyTorch's errors for out-of-range ints, then bad masks and out-of-range index tensors
    (it applies the ints first). ``where[i]`` is item i's position in the key as written:
    PyTorch names an int's dimension by it, and an index tensor's by how many index tensors
    come before it."""
    dim = 0
    for k, pos in zip(key, where):
        if isinstance(k, (int, np.integer)):
            size = shape[dim]
            if not -size <= k < size:
                raise IndexError(
                    f"index {k} is out of bounds for dimension {pos} with size {size}")
        if k is not None:
            dim += k.ndim if _is_array(k) and k.dtype == bool else 1
    dim = 0
    vdim = 0  # the same position in the view the index tensors apply to
    n_tensors = 0
    for k in key:
        if k is None:
            vdim += 1
        elif isinstance(k, slice):
            dim += 1
            vdim += 1
        elif isinstance(k, (int, np.integer)):
            dim += 1
        elif k.dtype == bool:
            if k.shape != shape[dim:dim + k.ndim]:
                for i, (m, s) in enumerate(zip(k.shape, shape[dim:])):
                    if m != s:
                        raise IndexError(
                            f"The shape of the mask {_fmt_list(k.shape)} at index {i} does "
                            f"not match the shape of the indexed tensor "
                            f"{_fmt_list(_view_shape(key, shape))} at index {vdim + i}")
            dim += k.ndim
            vdim += k.ndim
            n_tensors += 1
        else:
            size = shape[dim]
            if k.size and (k.max() >= size or k.min() < -size):
                bad = int(k[(k >= size) | (k < -size)].reshape(-1)[0])  # the first, as PyTorch
                raise IndexError(
                    f"index {bad} is out of bounds for dimension {n_tensors} with size {size}")
            dim += 1
            vdim += 1
            n_tensors += 1


def parse_key(input, key):
    """``(basic, advanced)``: the key as a list with ``...`` expanded, and whether any part is
    an advanced index (tensor, list or bool)."""
    key = _normalize_key(key)
    advanced = False
    items = []
    for k in key:
        if isinstance(k, bool):
            k = np.asarray(k)
            advanced = True
        elif isinstance(k, Tensor):
            if k._data.ndim == 0 and k._data.dtype.kind in "iu":
                k = int(k._data)
            else:
                k = _to_index_array(k)
                advanced = True
        elif isinstance(k, (list, tuple, np.ndarray, range)):  # (a range is a list of ints)
            k = _to_index_array(k)
            advanced = True
        elif isinstance(k, slice):
            if k.step is not None and _as_int(k.step) <= 0:
                if _as_int(k.step) == 0:
                    raise ValueError("slice step cannot be zero")
                raise ValueError("step must be greater than zero")
            k = slice(_as_int(k.start), _as_int(k.stop), _as_int(k.step))
        elif isinstance(k, str):
            raise TypeError(f"new(): invalid data type '{type(k).__name__}'")
        elif not _is_basic_key_item(k):
            if not _is_array(k):
                raise IndexError(
                    "only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                    "Variables are valid indices (got " + _type_name(k) + ")")
            k = _to_index_array(k)  # (an index array of a device)
            advanced = True
        items.append(k)
    items, where = _expand_ellipsis(items, input._data.ndim)
    _check_bounds(items, input._data.shape, where)
    return items, advanced


def _as_int(v):
    if v is None:
        return None
    if isinstance(v, Tensor):
        return int(v)
    return int(v)


def split_key(items, shape):
    """``(basic, advanced)``: PyTorch applies ints, slices and None first (as views), then the
    tensor indices to that view, so ``x[0, :, t]`` keeps ``t``'s dim in place (NumPy would
    move it first). ``basic`` is None when it is all full slices."""
    basic, adv = [], []
    for k in items:
        if k is None:
            basic.append(None)
            adv.append(slice(None))
        elif isinstance(k, slice):
            basic.append(k)
            adv.append(slice(None))
        elif isinstance(k, (int, np.integer)):
            basic.append(k)
        else:
            basic.extend([slice(None)] * (k.ndim if k.dtype == bool else 1))
            adv.append(k)
    dims = [k for k in basic if k is not None]
    if len(dims) == len(basic) and all(is_full(k, n) for k, n in zip(dims, shape)):
        basic = None
    return basic, tuple(adv)


def getitem(input, key):
    """``input[key]``: basic indexing gives views (select/slice/unsqueeze), advanced copies."""
    items, advanced = parse_key(input, key)
    if advanced:
        basic, adv = split_key(items, input._data.shape)
        check_index_shapes(adv)
        base = input if basic is None else basic_index(input, basic)
        return _advanced_index(base, adv)
    return basic_index(input, items, bare_slice=isinstance(key, slice))


def check_index_shapes(key):
    """PyTorch's error when the index tensors of ``key`` don't broadcast together (a bool
    mask counts as one index per dim it covers, of its number of True elements)."""
    shapes = []
    for k in key:
        if _is_array(k):
            if k.dtype == bool:
                shapes.extend([(int(k.sum()),)] * max(k.ndim, 1))
            else:
                shapes.append(k.shape)
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together "
                         "with shapes " + ", ".join(_fmt_list(s) for s in shapes)) from None


def is_full(k, size):
    """Whether slice ``k`` takes a whole dim of ``size`` in order (PyTorch skips those)."""
    # NOTE: PyTorch tests the slice as written (x[-3:] on a dim of 3 is still sliced)
    return isinstance(k, slice) and k.start in (None, 0) and k.step in (None, 1) and (
        k.stop is None or k.stop >= size)


def basic_index(input, items, bare_slice=False):
    """The view ``input[items]`` for a parsed key of ints, slices and None."""
    if not (STATE.enabled and recording(input)):
        key = tuple(items) + (Ellipsis,)  # ... keeps a 0-d result a view, not a scalar
        out = wrap(input._data[key])
        _mark_view(out, input, ((_np_index, (key,)),))
        return out
    if bare_slice:
        # NOTE: PyTorch's x[a:b] (a bare slice) is always one SliceBackward0, even x[:]
        return _slice(input, 0, items[0])
    # NOTE: one node per indexed dim, as PyTorch records (x[0, 1:] is SliceBackward0 of
    # SelectBackward0), so graphs read the same; slices taking a whole dim are skipped, and a
    # key of nothing else is an alias (AliasBackward0).
    out = input
    dim = 0
    for k in items:
        if k is None:
            out = unsqueeze(out, dim)
            dim += 1
        elif isinstance(k, slice):
            if not is_full(k, out._data.shape[dim]):
                out = _slice(out, dim, k)
            dim += 1
        else:
            out = select(out, dim, k)
    if out is input:
        return _view_op(AliasBackward0, input, input._data.view(), (_np_reshape, (
            input._data.shape,)))
    return out


# ---- index_put: advanced indexing's write side ----
def _index_put_vjp(ctx, g):
    key, accumulate = ctx.args
    gx = None
    if ctx.next_functions[0][0] is not None:
        gx = g if accumulate else _put(g, key, _zero(g), False)
    gv = _advanced_index(g, key) if ctx.next_functions[1][0] is not None else None
    return gx, gv


def _index_put_jvp(ctx, dx, dv):
    key, accumulate = ctx.args
    dx = dx if dx is not None else meta_zeros(ctx._meta[0])
    if dv is None:
        if accumulate:
            return dx
        dv = _zero(dx)
    return _put(dx, key, dv, accumulate)


IndexPutBackward0 = node_class("IndexPutBackward0", _index_put_vjp, _index_put_jvp)


def put_array(out, key, v, accumulate):
    """Write (or, with ``accumulate``, add: repeated indices add up) ``v`` at ``key``."""
    try:
        if accumulate:
            ufunc_at(np.add, out, key, v)
        else:
            out[key] = v
    except ValueError:
        target = out[key].shape
        if not out.size and not writeable(out):
            # an empty expand (read-only, nothing to write): only the broadcast is checked
            try:
                np.broadcast_to(v, target)
                return
            except ValueError:
                pass
        if np.shape(v) != target:
            raise RuntimeError(f"shape mismatch: value tensor of shape {_fmt_list(np.shape(v))} "
                               f"cannot be broadcast to indexing result of shape "
                               f"{_fmt_list(target)}") from None
        raise


def _put(input, key, values, accumulate):
    """index_put on a parsed key (a tuple of arrays, slices, ints and None)."""
    data = input._data.copy()
    put_array(data, key, values._data.astype(data.dtype, copy=False), accumulate)
    if STATE.enabled and recording(input, values):
        return record(IndexPutBackward0, data, (input, values), args=(key, accumulate))
    return wrap(data)


def index_key(input, indices):
    """The parsed key of ``index_put``'s ``indices`` (a tuple of index tensors)."""
    key = tuple(indices) if isinstance(indices, (tuple, list)) else (indices,)
    items, _ = parse_key(input, key)
    check_index_shapes(items)
    return tuple(items)


def _mask_fill(key, values, accumulate):
    """Whether PyTorch writes ``values`` as a masked_fill (casting it like a number): one
    element written through one bool mask (the rest of the key full slices), not
    accumulated."""
    if accumulate or values._data.size != 1:
        return False
    arrays = [k for k in key if not isinstance(k, slice)]
    return len(arrays) == 1 and _is_array(arrays[0]) and \
        arrays[0].dtype.kind == "b" and arrays[0].ndim > 0


def as_values(values, like, key=(), accumulate=False):
    """``values`` as a tensor of ``like``'s dtype (a tensor must already have it, unless the
    write through ``key`` is a masked fill)."""
    if isinstance(values, Tensor):
        v = values._data
        if v.dtype != like._data.dtype or (v.ndim and v.shape[0] == 1):
            # NOTE: NumPy drops a value's extra leading 1s, PyTorch's index_put does not
            # (setitem drops them first); PyTorch reports a wrong shape before a wrong dtype
            # (the selection's shape, from a stand-in on like's device: the key's arrays are)
            target = np.broadcast_to(_xp(like._data).zeros((), np.bool_),
                                     like._data.shape)[key].shape
            if v.shape != target and (v.ndim > len(target) or any(
                    a not in (1, b) for a, b in zip(v.shape[::-1], target[::-1]))):
                raise RuntimeError(f"shape mismatch: value tensor of shape {_fmt_list(v.shape)} "
                                   f"cannot be broadcast to indexing result of shape "
                                   f"{_fmt_list(target)}")
        if values._data.dtype != like._data.dtype:
            if _mask_fill(key, values, accumulate):
                return values.to(like.dtype)
            from .. import dtypes as _dt

            raise RuntimeError(
                "Index put requires the source and destination dtypes match, got "
                f"{_dt.from_np(like._data.dtype).scalar_name} for the destination and "
                f"{_dt.from_np(values._data.dtype).scalar_name} for the source.")
        return values
    v = np.asarray(values, dtype=like._data.dtype)
    return wrap(v if isinstance(like._data, np.ndarray) else on_device(v, device_of(like._data)))


def index_put(input, indices, values, accumulate=False):
    """``input`` with ``values`` written at ``input[indices]`` (added, with ``accumulate``:
    repeated indices then add up)."""
    key = index_key(input, indices)
    return _put(input, key, as_values(values, input, key, accumulate), accumulate)


# ---- select_scatter / slice_scatter / narrow_copy ----
def _embed_vjp(ctx, g):
    key = ctx.args[0]
    gx = gs = None
    if ctx.next_functions[0][0] is not None:
        gx = _embed(SelectScatterBackward0, g, _zero(g), key)
    if ctx.next_functions[1][0] is not None:
        gs = _view_of(g, key)
    return gx, gs


def _embed_jvp(ctx, dx, ds):
    key = ctx.args[0]
    dx = dx if dx is not None else meta_zeros(ctx._meta[0])
    ds = ds if ds is not None else _zero(dx)
    return _embed(type(ctx), dx, ds, key)


SelectScatterBackward0 = node_class("SelectScatterBackward0", _embed_vjp, _embed_jvp)
SliceScatterBackward0 = node_class("SliceScatterBackward0", _embed_vjp, _embed_jvp)


def _view_of(g, key):
    """``g[key]`` for a key of one int or slice at some dim (a select or slice view)."""
    d = len(key) - 2 if key[-1] is Ellipsis else len(key) - 1
    k = key[d]
    return select(g, d, k) if isinstance(k, int) else _slice(g, d, k)


def _embed(node_cls, input, src, key):
    data = input._data.copy()
    data[key] = src._data
    if STATE.enabled and recording(input, src):
        return record(node_cls, data, (input, src), args=(key,))
    return wrap(data)


def _check_embed(input, src, key):
    want = input._data[key].shape
    if src._data.shape != want:
        raise RuntimeError(
            "expected src to have a size equal to the slice of self. src size = "
            f"{_fmt_list(src._data.shape)}, slice size = {_fmt_list(want)}")


def select_scatter(input, src, dim, index):
    """``input`` with the slice at ``index`` along ``dim`` replaced by ``src``."""
    shape = input._data.shape
    d = _wrap_dim(dim, len(shape))
    size = shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{_fmt_list(shape)} at dimension {d}")
    key = (slice(None),) * d + (int(index) % size, Ellipsis)
    _check_embed(input, src, key)
    return _embed(SelectScatterBackward0, input, src, key)


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """``input`` with ``input[..., start:end:step, ...]`` (along ``dim``) replaced by ``src``."""
    d = _wrap_dim(dim, input._data.ndim)
    if step is not None and step <= 0:
        raise RuntimeError("slice step must be positive")
    key = (slice(None),) * d + (slice(start, end, step),)
    _check_embed(input, src, key)
    return _embed(SliceScatterBackward0, input, src, key)


def _diagonal_scatter_vjp(ctx, g):
    offset, dim1, dim2 = ctx.args
    gx = gs = None
    if ctx.next_functions[0][0] is not None:
        gx = _diagonal_scatter(g, _zero(g), offset, dim1, dim2)
    if ctx.next_functions[1][0] is not None:
        gs = g.diagonal(offset, dim1, dim2)
    return gx, gs


def _diagonal_scatter_jvp(ctx, dx, ds):
    dx = dx if dx is not None else meta_zeros(ctx._meta[0])
    ds = ds if ds is not None else _zero(dx)
    return _diagonal_scatter(dx, ds, *ctx.args)


DiagonalScatterBackward0 = node_class("DiagonalScatterBackward0", _diagonal_scatter_vjp,
                                      _diagonal_scatter_jvp)


def _diagonal(a, offset, d1, d2):
    """``(view, rows)``: ``a`` with dims d1, d2 moved last, and the diagonal's row indices."""
    moved = np.moveaxis(a, (d1, d2), (-2, -1))
    n1, n2 = moved.shape[-2:]
    rows = _xp(a).arange(max(0, -offset), max(max(0, -offset), min(n1, n2 - offset)))
    return moved, rows


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """``input`` with its diagonal (as ``input.diagonal(offset, dim1, dim2)`` reads it)
    replaced by ``src``."""
    a = input._data
    d1, d2 = _wrap_dim(dim1, a.ndim), _wrap_dim(dim2, a.ndim)
    moved, rows = _diagonal(a, offset, d1, d2)
    want = moved.shape[:-2] + (rows.size,)
    if src._data.shape != want:
        raise RuntimeError(
            "expected src to have a size equal to the slice of self. src size = "
            f"{_fmt_list(src._data.shape)}, slice size = {_fmt_list(want)}")
    return _diagonal_scatter(input, src, offset, d1, d2)


def _diagonal_scatter(input, src, offset, d1, d2):
    out = input._data.copy()
    moved, rows = _diagonal(out, offset, d1, d2)  # a view of out: writes land in out
    moved[..., rows, rows + offset] = src._data
    if STATE.enabled and recording(input, src):
        return record(DiagonalScatterBackward0, out, (input, src), args=(offset, d1, d2))
    return wrap(out)


def _narrow_copy_vjp(ctx, g):
    d, start, length, shape = ctx.args
    zeros = wrap(_xp(g._data).zeros(shape, dtype=g._data.dtype))
    return (slice_scatter(zeros, g, d, start, start + length),)


NarrowCopyBackward0 = node_class("NarrowCopyBackward0", _narrow_copy_vjp, linear(
    lambda ctx, dx: narrow_copy(dx, *ctx.args[:3])))


def narrow_copy(input, dim, start, length):
    """``narrow`` as a new tensor (not a view)."""
    view = narrow(input, dim, start, length)
    d = _wrap_dim(dim, input._data.ndim)
    start = int(start) % input._data.shape[d] if input._data.shape[d] else 0
    data = view._data.copy()
    if STATE.enabled and recording(input):
        return record(NarrowCopyBackward0, data, (input,),
                      args=(d, start, int(length), input._data.shape))
    return wrap(data)


# ==== registration =========================================================================

for _name in ("select", "narrow", "index_put", "select_scatter", "slice_scatter",
              "narrow_copy", "diagonal_scatter"):
    register(globals()[_name], _name)
register(getitem, "__getitem__", function=False)
