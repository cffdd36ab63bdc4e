"""dtype and device conversion: ``to``, ``type`` and the ``float()/double()/...`` shortcuts.

Contract: converting to the tensor's own dtype and device returns the tensor itself (no copy,
no node) unless ``copy=True``; otherwise the result is a new tensor recorded as
``ToCopyBackward0``, whose gradient is cast back to the input's dtype and copied back to its
device (NOTE [devices] in tensor.py). Integer and bool results never require grad.
Float-to-integer casts truncate toward zero, as PyTorch's.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from .._meta import MetaArray
from ..autograd.grad_mode import STATE
from ..tensor import (
    CPU,
    Tensor,
    check_device,
    cuda_device,
    cuda_index,
    device,
    device_of,
    no_bfloat16_on_cuda,
    to_host,
)
from ._jvp import linear
from ._registry import node_class, record, recording, register, wrap


def _to_copy_vjp(ctx, g):
    if len(ctx.args) > 1:  # (a device move: the gradient goes back to the input's device)
        return (g.to(ctx.args[1], ctx.args[0]),)
    return (g.to(ctx.args[0]),)


def _to_copy_jvp(ctx, dx):
    if len(ctx.args) > 2:  # (a device move: the tangent moves with the value)
        return dx.to(ctx.args[2], _dt.from_np(ctx._meta[0][1]))
    return dx.to(_dt.from_np(ctx._meta[0][1]))


ToCopyBackward0 = node_class("ToCopyBackward0", _to_copy_vjp, linear(_to_copy_jvp))


def _cast(input, dtype, copy=False):
    a = input._data
    target = dtype.np
    if a.dtype == target and not copy:
        return input
    if type(a) is not np.ndarray and _dt.is_bfloat16(target) and type(a) is not MetaArray \
            and device_of(a).type == "cuda":
        raise no_bfloat16_on_cuda()
    with np.errstate(invalid="ignore", over="ignore"):
        data = a.astype(target)
    if STATE.enabled and recording(input):
        return record(ToCopyBackward0, data, (input,), args=(_dt.from_np(a.dtype),))
    return wrap(data)


def to(input, *args, **kwargs):
    """Convert to a dtype (and/or check a device): ``to(dtype)``, ``to(device, dtype)``,
    ``to(other)``, with ``copy`` and ``non_blocking`` keywords."""
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    for a in args:
        if isinstance(a, _dt.dtype):
            dtype = a
        elif isinstance(a, Tensor):  # (``to(other)``: other's dtype and device)
            dtype = a.dtype
            dev = device_of(a._data)
        elif isinstance(a, (str, device)):
            dev = a
        elif isinstance(a, bool):
            continue
        else:
            raise TypeError(f"to() received an invalid combination of arguments - got "
                            f"({type(a).__name__})")
    if check_device(dev) and type(input._data) is not MetaArray:
        from .._meta import to_meta

        input = to_meta(input)
    elif dev is not None:
        target = _target(dev)
        if target is not None and target != device_of(input._data):
            return _move(input, target, dtype)
    if dtype is None:
        return input.clone() if copy else input
    return _cast(input, dtype, copy)


def _target(dev):
    """The device ``dev`` names (cuda's index resolved), or None for meta."""
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "cuda":
        return cuda_device(cuda_index(d))
    return CPU if d.type == "cpu" else None


def _move(input, target, dtype=None):
    """``input`` copied to device ``target`` (and cast to ``dtype``), one ToCopyBackward0."""
    from .. import cuda

    a = input._data
    if type(a) is MetaArray:  # (PyTorch's error: a meta tensor has no values to move)
        raise NotImplementedError("Cannot copy out of meta tensor; no data!")
    source = device_of(a)
    if target.type == "cuda" and _dt.is_bfloat16(a.dtype if dtype is None else dtype.np):
        raise no_bfloat16_on_cuda()
    if dtype is not None and a.dtype != dtype.np:
        with np.errstate(invalid="ignore", over="ignore"):
            a = a.astype(dtype.np)
    if target.type == "cpu":
        data = to_host(a)
        if data is a:
            data = a.copy()
    else:
        data = cuda._backend().to_device(a, target.index)
    if STATE.enabled and recording(input):
        return record(ToCopyBackward0, data, (input,),
                      args=(_dt.from_np(input._data.dtype), source, target))
    return wrap(data)


def _shortcut(name, dtype):
    def method(self, memory_format=None):
        return _cast(self, dtype)
    method.__name__ = name
    method.__doc__ = f"``self.to({dtype})``."
    return method


register(to, function=False)
for _name, _dtype in (("float", _dt.float32), ("double", _dt.float64), ("half", _dt.float16),
                      ("bfloat16", _dt.bfloat16), ("long", _dt.int64), ("int", _dt.int32),
                      ("short", _dt.int16), ("char", _dt.int8), ("byte", _dt.uint8),
                      ("bool", _dt.bool), ("cfloat", _dt.complex64),
                      ("cdouble", _dt.complex128)):
    register(_shortcut(_name, _dtype), _name, function=False)
