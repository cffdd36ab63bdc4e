"""``device='meta'`` tensors: shape and dtype without data.

NOTE [meta tensors]: a meta tensor is an ordinary Tensor whose ``_data`` is a ``MetaArray``, a
NumPy array subclass that is always a zero-strided broadcast of one 0-d zero (no memory beyond
one element, whatever the shape). Nothing in the op path checks for it, so ordinary CPU ops pay
nothing: NumPy itself routes every ufunc (elementwise ops, reductions, matmul) and array
function on a ``MetaArray`` through the hooks below, which compute on plain views of the same
zero-strided arrays — elementwise ufuncs only on 0-d stand-ins, to learn the result dtype —
and give back a ``MetaArray`` of the result's shape and dtype. Array methods that make views
(reshape, transpose, indexing) keep the subclass by NumPy's own rules, and ``wrap``/``record``
keep it (``np.asanyarray``). So the broadcast and shape rules, dtypes and errors are exactly
those of the CPU ops. Reading values (``item``, ``tolist``, ``numpy``) raises PyTorch's
errors (``Tensor.__bool__`` too; an op's own data-dependent branch on a MetaArray sees
zeros); a meta tensor's ``device`` is ``device(type='meta')``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MetaArray", "meta_array", "is_meta"]


class MetaArray(np.ndarray):
    """A data-less array: shape and dtype only (see NOTE [meta tensors])."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        plain = [x.view(np.ndarray) if isinstance(x, MetaArray) else x for x in inputs]
        if out is not None and all(isinstance(o, MetaArray) for o in out):
            # writing into a meta result (an op finishing in place): nothing to compute
            return out[0] if len(out) == 1 else out
        if out is not None:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, MetaArray) else o
                                  for o in out)
        if method == "__call__" and ufunc.signature is None and out is None:
            # elementwise: the dtype from 0-d stand-ins, the shape from broadcasting
            shape = np.broadcast_shapes(*(np.shape(x) for x in plain))
            small = [np.zeros((), x.dtype) if isinstance(x, np.ndarray) else x for x in plain]
            with np.errstate(all="ignore"):
                res = ufunc(*small, **kwargs)
            if isinstance(res, tuple):
                return tuple(meta_array(shape, np.asarray(r).dtype) for r in res)
            return meta_array(shape, np.asarray(res).dtype)
        with np.errstate(all="ignore"):
            res = getattr(ufunc, method)(*plain, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _to_meta(res)

    def __array_function__(self, func, types, args, kwargs):
        if func in _LIKE:  # (NumPy would fill the read-only broadcast: make a new meta array)
            proto = args[0]
            shape = kwargs.get("shape")
            dtype = kwargs.get("dtype")
            return meta_array(proto.shape if shape is None else
                              ((shape,) if isinstance(shape, int) else tuple(shape)),
                              proto.dtype if dtype is None else np.dtype(dtype))
        res = super().__array_function__(func, tuple(
            t for t in types if not issubclass(t, MetaArray)) + (np.ndarray,), args, kwargs)
        return _to_meta(res)

    def item(self, *args):
        raise RuntimeError("Tensor.item() cannot be called on meta tensors")

    def tolist(self):
        raise NotImplementedError("Cannot copy out of meta tensor; no data!")


_LIKE = (np.empty_like, np.zeros_like, np.ones_like, np.full_like)


def _to_meta(res):
    if isinstance(res, tuple):
        return tuple(_to_meta(r) for r in res)
    if isinstance(res, list):
        return [_to_meta(r) for r in res]
    if isinstance(res, (np.ndarray, np.generic)):
        return meta_array(np.shape(res), res.dtype)
    return res


def meta_array(shape, dtype) -> MetaArray:
    """A ``MetaArray`` of ``shape`` and ``dtype`` (one element of memory)."""
    zero = np.zeros((), dtype)
    return np.lib.stride_tricks.as_strided(zero, tuple(shape), (0,) * len(shape),
                                           writeable=False).view(MetaArray)


def is_meta(t) -> bool:
    return isinstance(t._data, MetaArray)


def to_meta(t):
    """A meta tensor with ``t``'s shape, dtype and requires_grad (``t`` itself if meta)."""
    if isinstance(t._data, MetaArray):
        return t
    from .tensor import Tensor

    return Tensor._make(meta_array(t._data.shape, t._data.dtype), t._requires_grad)
