"""Storage-level views and dtype matching: as_strided, as_strided_, Tensor.storage_offset,
Tensor.type_as.

Contract: PyTorch's semantics — ``size``/``stride``/``storage_offset`` count elements of the
input's storage (the memory of the outermost NumPy array its data lives in; NumPy strides
count bytes), ``storage_offset=None`` keeps the input's own; the result is an autograd view
recorded as ``AsStridedBackward0`` (``AsStridedBackward1`` for the in-place form); PyTorch's
error messages.

NOTE [as_strided as a view step]: the view step ``(_np_as_strided, (size, stride, offset,
in_stride, in_offset))`` replays on any array of the input's shape. On an array laid out as the
input was (the input itself, or its base after an in-place change) it is a true strided view
of the same memory. On an array of that shape in another layout (a gradient or a tangent, in
``view_replay``) it computes what the view would be had the array been stored with the input's
geometry: a gather through a virtual storage. Its adjoint (``_adj_as_strided``) scatters a
view-shaped gradient into that virtual storage, adding overlaps, and gathers the input's
elements back, dividing by how often the input itself covers each storage element — PyTorch's
``AsStridedBackward0``. Both are NumPy-level, so ``view_replay``/``view_scatter`` (_views.py)
make the op differentiable any number of times and give its JVP.
"""

from __future__ import annotations

import numpy as np

from ..backend import namespace
from ..backend import of as _backend_of
from ..tensor import Tensor
from ._registry import register
from .segment import ufunc_at
from .shape import _ADJOINT, AsStridedBackward0, _inplace_view, view_replay


def _xp(a):
    """The array namespace of ``a``: NumPy itself for a NumPy array (no lookup)."""
    return np if isinstance(a, np.ndarray) else namespace(a)


def _root(a):
    """The outermost array ``a``'s memory belongs to (its "storage")."""
    r = a
    if isinstance(a, np.ndarray):
        while isinstance(r.base, np.ndarray):
            r = r.base
        return r
    while r.base is not None:  # (a device view's base is the array owning its memory)
        r = r.base
    return r


def _address(a):
    """The address of the first element of the array ``a``, in its device's memory."""
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0]
    return _backend_of(a).data_ptr(a)


def _geometry(a):
    """``(strides, offset)`` of ``a`` in elements of its storage, and the storage's size in
    elements (None when the storage is not one contiguous block)."""
    item = a.itemsize
    r = _root(a)
    if not r.flags.c_contiguous:
        return tuple(s // item for s in a.strides), 0, None
    ptr = _address(a)
    base = _address(r)
    return tuple(s // item for s in a.strides), (ptr - base) // item, r.nbytes // item


def _index(shape, strides, offset, xp=np):
    """The storage index of every element of a ``shape``/``strides`` view at ``offset`` (an
    array of the namespace ``xp``)."""
    idx = xp.full(tuple(shape), offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(shape, strides)):
        view = [1] * len(shape)
        view[d] = n
        idx = idx + (xp.arange(n, dtype=np.int64) * s).reshape(view)
    return idx


def _top(in_idx, out_idx):
    """The size of the virtual storage both index arrays address."""
    top = -1
    for idx in (in_idx, out_idx):
        if idx.size:
            top = max(top, int(idx.max()))
    return top + 1


def _np_as_strided(a, size, stride, offset, in_stride, in_offset):
    if not all(size):  # empty: no element to place (PyTorch checks no bounds either)
        return _xp(a).empty(size, a.dtype)
    strides, own_offset, n = _geometry(a)
    if n is not None and strides == in_stride and own_offset == in_offset:
        r = _root(a)
        item = a.itemsize
        if not isinstance(a, np.ndarray):
            # a device array: its library's as_strided, from the element at the offset
            start = r.reshape(-1)[offset:]
            return _xp(a).lib.stride_tricks.as_strided(
                start, shape=size, strides=tuple(s * item for s in stride))
        out = np.ndarray(size, a.dtype, r, offset * item, tuple(s * item for s in stride))
        if not a.flags.writeable:
            out.setflags(write=False)
        return out
    # another layout of the same logical tensor: gather through a virtual storage
    xp = _xp(a)
    in_idx = _index(a.shape, in_stride, in_offset, xp)
    out_idx = _index(size, stride, offset, xp)
    buf = xp.zeros(_top(in_idx, out_idx), dtype=a.dtype)
    buf[in_idx] = a
    return buf[out_idx]


def _adj_as_strided(g, in_shape, size, stride, offset, in_stride, in_offset):
    xp = _xp(g)
    in_idx = _index(in_shape, in_stride, in_offset, xp)
    out_idx = _index(size, stride, offset, xp)
    n = _top(in_idx, out_idx)
    buf = xp.zeros(n, dtype=g.dtype)
    ufunc_at(np.add, buf, out_idx.reshape(-1), g.reshape(-1))
    res = buf[in_idx]
    count = np.bincount(in_idx.reshape(-1), minlength=n)
    if count.size and count.max() > 1:  # the input overlaps itself (an expanded tensor)
        res = res / count[in_idx]
    return res


_ADJOINT[_np_as_strided] = _adj_as_strided


def _ints(name, pos, v):
    if not isinstance(v, (tuple, list)) and not (isinstance(v, Tensor)):
        raise TypeError(f"as_strided(): argument '{name}' (position {pos}) must be tuple of "
                        f"ints, not {type(v).__name__}")
    return tuple(int(s) for s in v)


def _check(a, size, stride, storage_offset):
    size = _ints("size", 2, size)
    stride = _ints("stride", 3, stride)
    if storage_offset is not None and not isinstance(storage_offset, (int, np.integer)):
        raise TypeError("as_strided(): argument 'storage_offset' (position 4) must be int, not "
                        f"{type(storage_offset).__name__}")
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, "
                           f"got strides: {list(stride)}")
    in_stride, in_offset, n = _geometry(a)
    offset = in_offset if storage_offset is None else int(storage_offset)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    if n is None:
        n = a.size
    if all(size):
        need = offset + 1 + sum((s - 1) * st for s, st in zip(size, stride))
        if need > n:
            item = a.itemsize
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, "
                               f"storage offset {offset}, and itemsize {item} requiring a "
                               f"storage size of {need * item} are out of bounds for storage "
                               f"of size {n * item}")
    return size, stride, offset, in_stride, in_offset


def as_strided(input, size, stride, storage_offset=None):
    """A view of ``input``'s storage with the given sizes, strides and offset (in elements)."""
    args = _check(input._data, size, stride, storage_offset)
    return view_replay(input, ((_np_as_strided, args),))


# the in-place form's name for the same rule
AsStridedBackward1 = type("AsStridedBackward1", (AsStridedBackward0,), {"__slots__": ()})
AsStridedBackward1.__module__ = "ember.autograd.graph"


def as_strided_(self, size, stride, storage_offset=None):
    """In-place ``as_strided``: ``self`` takes the new geometry over the same storage."""
    return _inplace_view(self, as_strided(self, size, stride, storage_offset),
                         AsStridedBackward1)


def storage_offset(self):
    """Where the tensor starts in its storage, in elements."""
    return _geometry(self._data)[1]


def type_as(self, other):
    """``self`` converted to ``other``'s dtype (``self`` itself when they agree)."""
    if not isinstance(other, Tensor):
        raise TypeError("type_as(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(other).__name__}")
    if self._data.dtype == other._data.dtype:
        return self
    return self.to(other.dtype)


register(as_strided, "as_strided")
register(as_strided_, "as_strided_")
register(storage_offset, "storage_offset", function=False)
register(type_as, "type_as", function=False)
