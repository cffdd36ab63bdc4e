"""What a batched tensor reports about itself inside a vmap.

Contract: ``_meta_shape`` / ``_meta_size`` / ``_meta_dim`` / ``_meta_numel`` / ``_meta_len`` /
``_meta_iter`` give the logical answers (the batch dims left out), and ``_data_dependent``,
``_data_item``, ``_guard`` (``float``, ``int``, ``tolist``, ``numpy``...) and ``_data_prop``
(``.data``) refuse a batched tensor with PyTorch's messages. wrappers.py swaps them onto Tensor
while any thread runs a vmap (``_saved_meta`` keeps what they replace), so each asks the calling
thread's own vmaps: outside a vmap, or while rules run on physical tensors, it answers for the
physical tensor as the replaced attribute does. The rules read logical shapes through them too.
"""

from __future__ import annotations

from ._state import _L, _dim_error, _levels, _logical_ndim


def _meta_shape(self):
    levels = _levels(self) if _L.stack and not _L.bypass[0] else ()
    from .._size import Size

    return Size(self._data.shape[len(levels):])


def _meta_size(self, dim=None):
    levels = _levels(self) if _L.stack and not _L.bypass[0] else ()
    shape = self._data.shape[len(levels):]
    if dim is None:
        from .._size import Size

        return Size(shape)
    n = len(shape)
    m = max(n, 1)
    if not -m <= dim < m:
        raise _dim_error(dim, n)
    return shape[dim % m]


def _meta_dim(self):
    levels = _levels(self) if _L.stack and not _L.bypass[0] else ()
    return self._data.ndim - len(levels)


def _meta_numel(self):
    levels = _levels(self) if _L.stack and not _L.bypass[0] else ()
    n = 1
    for s in self._data.shape[len(levels):]:
        n *= s
    return n


def _meta_len(self):
    shape = _meta_shape(self)
    if not shape:
        raise TypeError("len() of a 0-d tensor")
    return shape[0]


def _data_dependent(self, *args):
    if _L.stack and not _L.bypass[0] and _levels(self):
        raise RuntimeError(
            "vmap: It looks like you're attempting to use a Tensor in some data-dependent "
            "control flow. We don't support that yet, please file an issue at "
            "https://github.com/pytorch/pytorch/issues .")
    return _saved_meta["Tensor.__bool__"](self, *args)


def _data_item(self):
    if _L.stack and not _L.bypass[0] and _levels(self):
        raise RuntimeError(
            "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
            "calling .item() on a Tensor, please try to rewrite what you're doing with other "
            "operations. If error is occurring somewhere inside PyTorch internals, please file "
            "a bug report.")
    return _saved_meta["Tensor.item"](self)


def _guard(name, message):
    """Tensor method ``name`` refusing a batched tensor with PyTorch's ``message``."""

    def guarded(self, *args, **kwargs):
        if _L.stack and not _L.bypass[0] and _levels(self):
            raise RuntimeError(message)
        return _saved_meta["Tensor." + name](self, *args, **kwargs)

    return guarded


_ITEM_ERROR = (
    "vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
    "calling .item() on a Tensor, please try to rewrite what you're doing with other "
    "operations. If error is occurring somewhere inside PyTorch internals, please file "
    "a bug report.")
_NO_STORAGE = "Cannot access data pointer of Tensor that doesn't have storage"
_GUARDED = {"__float__": _ITEM_ERROR, "__int__": _ITEM_ERROR, "__index__": _ITEM_ERROR,
            "__complex__": _ITEM_ERROR, "tolist": _NO_STORAGE, "numpy": _NO_STORAGE}


def _meta_iter(self):
    if not (_L.stack and not _L.bypass[0] and _levels(self)):
        return _saved_meta["Tensor.__iter__"](self)
    if _logical_ndim(self) == 0:
        raise TypeError("iteration over a 0-d tensor")
    return iter(self.unbind(0))


def _data_prop(orig):
    def get(self):
        if _L.stack and not _L.bypass[0] and _levels(self):
            raise RuntimeError("accessing `data` under vmap transform is not allowed")
        return orig.__get__(self)

    return property(get, orig.fset)


_saved_meta: dict = {}


def _meta_prop(rule, orig):
    def get(self):
        if _L.stack and not _L.bypass[0] and _levels(self):
            return rule(self)
        return orig.__get__(self)

    return property(get)
