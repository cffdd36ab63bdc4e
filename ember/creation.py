"""Tensor creation: ``tensor``, ``as_tensor``, ``from_numpy``, factories and ``*_like``.

Contract (PyTorch's dtype inference): Python floats give the default dtype, Python ints int64,
bools bool, complex the default complex dtype; NumPy arrays and NumPy scalars keep their dtype.
``tensor`` always copies; ``as_tensor`` and ``from_numpy`` share memory with a NumPy array when
they can. Factories take ``dtype``, ``device`` (cpu only), ``requires_grad`` keywords.
"""

from __future__ import annotations

import builtins
import numbers
import warnings

import numpy as np

from . import _records
from . import dtypes as _dt
from ._meta import MetaArray, meta_array
from ._size import Size
from .autograd.grad_mode import STATE
from .tensor import _DEFAULT_DEVICE, CPU, Tensor, check_device, on_device
from .tensor import device as _device_cls

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty",
           "zeros_like", "ones_like", "full_like", "empty_like", "arange", "range", "linspace",
           "logspace", "eye", "meshgrid", "scalar_tensor"]

_make = Tensor._make


def _device_of(t):
    """``t``'s device: a ``*_like``/``new_*`` tensor's default (not the default device)."""
    return CPU if type(t._data) is np.ndarray else t.device


def _new(data, requires_grad=False, device=None):
    if device is None:
        device = _DEFAULT_DEVICE[0]  # (None unless set_default_device moved the default)
    if device is not None:
        data = on_device(data, device)  # NOTE [devices] in tensor.py
    t = _make(data)
    if STATE.inference:
        t._vc = None
    if requires_grad:
        t._set_requires_grad(True, "factory")
    return t


def _size(size):
    if len(size) == 1 and not isinstance(size[0], (int, np.integer)):
        size = size[0]
    if isinstance(size, (int, np.integer)):
        size = (size,)
    if isinstance(size, str) or not all(isinstance(s, (int, np.integer)) for s in size):
        raise TypeError("size must be a tuple of ints")  # checked() gives PyTorch's message
    out = tuple(int(s) for s in size)
    return out


def _check_size(name, shape, meta=False):
    for s in shape:
        if s < 0:
            if name == "zeros" and not meta:  # (PyTorch's CPU zeros checks its size itself)
                raise RuntimeError("zeros: Dimension size must be non-negative.")
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {s}: {list(shape)}")


_NO_PINNED = ("pin_memory=True requires a CUDA or other accelerator backend; no pinned memory "
              "allocator is available on this system.")


def _check_pin(pin_memory, meta=False, name=None):
    """``pin_memory=True`` fails as in PyTorch without an accelerator: there is no pinned
    allocator (meta tensors own no memory, so they pass). Another value than a bool or None
    (``tensor()`` refuses None too) is PyTorch's TypeError: ``name`` is the op's for those
    the checked wrapper does not publish (the wrapper words it for the others)."""
    if pin_memory is False or (pin_memory is None and name != "tensor"):
        return
    if pin_memory is not True:
        from .ops._checks import type_name

        raise TypeError(f"{name}(): argument 'pin_memory' must be bool, not "
                        f"{type_name(pin_memory)}")
    if not meta:
        raise RuntimeError(_NO_PINNED)


def _dtype_np(dtype, default=None):
    if dtype is None:
        return (default or _dt.get_default_dtype()).np
    if not isinstance(dtype, _dt.dtype):
        raise TypeError(f"dtype must be an ember dtype (like ember.float32), got {dtype!r}")
    return dtype.np


# ---- from data ----------------------------------------------------------------------------

def _infer_python(data):
    """The dtype PyTorch infers for nested Python data (None when it holds NumPy values)."""
    cat = -1
    stack = [data]
    numpy_dtype = None
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, Tensor):
            d = x.dtype
            cat = builtins.max(cat, {0: 0, 1: 1, 2: 2, 3: 3}[d._category])
            if d.is_floating_point and d is not _dt.get_default_dtype():
                numpy_dtype = d
        elif isinstance(x, np.generic):
            numpy_dtype = _dt.from_np(x.dtype)
            cat = builtins.max(cat, numpy_dtype._category)
        elif isinstance(x, bool):
            cat = builtins.max(cat, 0)
        elif isinstance(x, numbers.Integral):
            cat = builtins.max(cat, 1)
        elif isinstance(x, numbers.Real):
            cat = builtins.max(cat, 2)
        elif isinstance(x, numbers.Complex):
            cat = builtins.max(cat, 3)
        elif isinstance(x, np.ndarray):
            numpy_dtype = _dt.from_np(x.dtype)
            cat = builtins.max(cat, numpy_dtype._category)
        else:
            raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
    if numpy_dtype is not None and numpy_dtype._category >= cat:
        return numpy_dtype
    return {-1: _dt.get_default_dtype(), 0: _dt.bool, 1: _dt.int64,
            2: _dt.get_default_dtype(), 3: _dt.default_complex_dtype()}[cat]


def _check_ragged(data, dim=0):
    if isinstance(data, (list, tuple)) and data:
        lens = [len(x) if isinstance(x, (list, tuple)) else -1 for x in data]
        if lens[0] >= 0:
            for n in lens:
                if n != lens[0]:
                    raise ValueError(f"expected sequence of length {lens[0]} at dim {dim + 1} "
                                     f"(got {n})")
            for x in data:
                _check_ragged(x, dim + 1)


def _to_array(data, dtype):
    """A fresh array for ``data`` with PyTorch's dtype inference (or ``dtype``)."""
    if isinstance(data, Tensor):
        a = data._data
        return a.astype(dtype.np if dtype else a.dtype)
    if isinstance(data, np.ndarray):
        d = dtype or _dt.from_np(data.dtype)
        return np.array(data, dtype=d.np)
    if isinstance(data, (list, tuple)):
        _check_ragged(data)
        data = _unwrap_tensors(data)
    inferred = dtype or _infer_python(data)
    np_dt = inferred.np
    try:
        if inferred._np is not None and inferred.name == "bfloat16":
            return np.array(data, dtype=np.float64).astype(np_dt)
        return np.array(data, dtype=np_dt)
    except OverflowError:
        return np.array(data).astype(np_dt)


def _unwrap_tensors(data):
    if isinstance(data, Tensor):
        return data._data.item() if data._data.ndim == 0 else data._data.tolist()
    if isinstance(data, (list, tuple)):
        return [_unwrap_tensors(x) for x in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a tensor).

    >>> ember.tensor([1., 2.])
    tensor([1., 2.])
    """
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use "
            "sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), "
            "rather than torch.tensor(sourceTensor).", UserWarning, stacklevel=2)
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    if check_device(device):
        _check_pin(pin_memory, True, "tensor")
        a = _to_array(data, dtype)
        return _new(meta_array(a.shape, a.dtype), requires_grad)
    _check_pin(pin_memory, False, "tensor")
    return _new(_to_array(data, dtype), requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory with a tensor or NumPy array when the dtype
    matches."""
    meta = check_device(device)
    if isinstance(data, Tensor):
        if device is not None and not meta:
            return data.to(device=device, dtype=dtype)
        return data if dtype is None or data.dtype is dtype else data.to(dtype)
    if device is not None and not meta and device_type(device) != "cpu":
        return tensor(data, dtype=dtype, device=device)
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == dtype.np):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def device_type(dev) -> str:
    return dev.type if isinstance(dev, _device_cls) else _device_cls(dev).type


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    t = tensor(obj, dtype=dtype, device=device) if copy else \
        as_tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(ndarray):
    """A tensor sharing memory with ``ndarray`` (changes to one show in the other)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dt.from_np(ndarray.dtype)  # raises for unsupported dtypes
    if not ndarray.flags.writeable:
        warnings.warn(
            "The given NumPy array is not writable, and PyTorch does not support non-writable "
            "tensors. This means writing to this tensor will result in undefined behavior. You "
            "may want to copy the array to protect its data or make it writable before "
            "converting it to a tensor. This type of warning will be suppressed for the rest of "
            "this program.", UserWarning, stacklevel=2)
    if not ndarray.dtype.isnative:
        raise ValueError(
            "given numpy array has byte order different from the native byte order. Conversion "
            "between byte orders is currently not supported.")
    return _new(ndarray, device=CPU)


def _legacy_tensor(*args, **kwargs):
    """``ember.Tensor(...)``: sizes give an uninitialised default-dtype tensor, data is copied
    into the default dtype."""
    if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray, Tensor)) and not (
            isinstance(args[0], Size)):
        return tensor(args[0], dtype=_dt.get_default_dtype())
    return empty(*args)


# ---- factories ----------------------------------------------------------------------------

def _factory(name, fill):
    def factory(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
                pin_memory=False, memory_format=None):
        meta = check_device(device)
        _check_pin(pin_memory, meta)
        shape = _size(size)
        _check_size(name, shape, meta)
        if meta:
            return _new(meta_array(shape, _dtype_np(dtype)), requires_grad)
        return _new(fill(shape, _dtype_np(dtype)), requires_grad, device)
    factory.__name__ = name
    factory.__doc__ = f"A tensor of the given size filled by ``{name}``."
    return factory


zeros = _factory("zeros", np.zeros)
ones = _factory("ones", np.ones)
empty = _factory("empty", np.empty)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None,
         pin_memory=False):
    """A tensor of ``size`` filled with ``fill_value`` (its dtype inferred from the value)."""
    meta = check_device(device)
    _check_pin(pin_memory, meta)
    shape = _size((size,))
    _check_size("full", shape, meta)
    if dtype is None:
        if isinstance(fill_value, Tensor):
            fill_value = fill_value.item()
        dtype = _dt.scalar_dtype(fill_value)
    if meta:
        return _new(meta_array(shape, dtype.np), requires_grad)
    return _new(np.full(shape, fill_value, dtype=dtype.np), requires_grad, device)


def _new_like(input, dtype, device, requires_grad, make, pin_memory=False):
    """A new tensor of ``input``'s shape (and dtype unless given) from ``make(shape, dtype)``."""
    np_dt = dtype.np if dtype is not None else input._data.dtype
    if check_device(device) or (device is None and type(input._data) is MetaArray):
        return _new(meta_array(input._data.shape, np_dt), requires_grad)
    _check_pin(pin_memory)
    return _new(make(input._data.shape, np_dt), requires_grad,
                device if device is not None else _device_of(input))


def _like(name, fill):
    def factory(input, *, dtype=None, layout=None, device=None, requires_grad=False,
                pin_memory=False, memory_format=None):
        return _new_like(input, dtype, device, requires_grad, fill, pin_memory)
    factory.__name__ = name
    factory.__doc__ = f"``{name[:-5]}`` with the shape (and by default dtype) of ``input``."
    return factory


zeros_like = _like("zeros_like", np.zeros)
ones_like = _like("ones_like", np.ones)
empty_like = _like("empty_like", np.empty)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              pin_memory=False, memory_format=None):
    return _new_like(input, dtype, device, requires_grad,
                     lambda shape, dt: np.full(shape, fill_value, dtype=dt), pin_memory)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    _check_pin(pin_memory)
    check_device(device)
    return _new(np.asarray(s, dtype=_dtype_np(dtype)), requires_grad, device)


def arange(start=0, end=None, step=1, *, out=None, dtype=None, device=None,
           requires_grad=False, layout=None, pin_memory=False):
    """Values from ``start`` to ``end`` (exclusive) by ``step``: int64 when all are ints, else
    the default dtype."""
    _check_pin(pin_memory, check_device(device))
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = _dt.int64 if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 for v in vals) else _dt.get_default_dtype()
    _dt.refuse_unsigned("arange_cpu", dtype.np)  # NOTE [limited unsigned types] (dtypes.py)
    n = int(np.ceil((end - start) / step))
    # NOTE: computed in float64 from the integer index, as PyTorch, then cast: no drift.
    data = (start + np.arange(n, dtype=np.float64) * step) if dtype.is_floating_point else \
        np.arange(start, end, step)
    return _new(np.asarray(data).astype(dtype.np), requires_grad, device)


def range(start=0, end=None, step=1, *, dtype=None, device=None,  # noqa: A001
          requires_grad=False):
    """Deprecated in PyTorch: like ``arange`` but including ``end``; default dtype."""
    warnings.warn(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, which "
        "produces values in [start, end).", UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    n = int(np.floor((end - start) / step)) + 1
    data = start + np.arange(n, dtype=np.float64) * step
    return _new(data.astype(_dtype_np(dtype)), requires_grad, device)


def linspace(start, end, steps, *, out=None, dtype=None, device=None, requires_grad=False,
             layout=None, pin_memory=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (default dtype)."""
    _check_pin(pin_memory, check_device(device))
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    dtype = dtype or _dt.get_default_dtype()
    np_dt = dtype.np
    _dt.refuse_unsigned("linspace_cpu", np_dt)  # NOTE [limited unsigned types] (dtypes.py)
    if np_dt in (np.float32, np.float64):
        data = _linspace_values(np_dt.type(start), np_dt.type(end), int(steps))
    elif np_dt.kind in "iu" and not isinstance(start, complex) and not isinstance(end, complex):
        # (PyTorch casts the ends to the integer type first; the steps are doubles)
        data = _linspace_values(np.float64(int(start)), np.float64(int(end)), int(steps))
        data = np.trunc(data).astype(np_dt)
    else:
        data = np.linspace(start, end, int(steps), dtype=np.float64)
        data = data.astype(np_dt) if dtype.is_floating_point else np.trunc(data).astype(np_dt)
    return _new(data, requires_grad, device)


def _linspace_values(start, end, steps):
    """PyTorch's linspace in ``start``'s float dtype: one step ``(end - start) / (steps - 1)``,
    the first half counted up from ``start``, the rest down from ``end`` (so both ends are
    exact), each value ``start + step * i`` rounded once (PyTorch's kernel is compiled to
    an fma there; NumPy's float64 linspace rounded differently for 30% of float32 values)."""
    from ._fma import fma

    dt = type(start)
    if steps <= 1:
        return np.full(steps, start, dtype=dt)
    step = (end - start) / dt(steps - 1)
    half = steps // 2
    out = np.empty(steps, dtype=dt)
    from ._rng_kernels import capability

    if capability() != "AVX2":  # (PyTorch's DEFAULT build rounds twice: no fma instructions)
        out[:half] = start + step * np.arange(half, dtype=dt)
        out[half:] = end - step * np.arange(steps - half - 1, -1, -1, dtype=dt)
        return out
    out[:half] = fma(step, np.arange(half, dtype=dt), start)
    out[half:] = fma(-step, np.arange(steps - half - 1, -1, -1, dtype=dt), end)
    return out


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False,
             pin_memory=False):
    _check_pin(pin_memory, check_device(device))
    data = np.power(base, np.linspace(start, end, int(steps), dtype=np.float64))
    return _new(data.astype(_dtype_np(dtype)), requires_grad, device)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, layout=None,
        pin_memory=False):
    """The ``n x m`` identity matrix."""
    _check_pin(pin_memory, check_device(device))
    return _new(np.eye(n, n if m is None else m, dtype=_dtype_np(dtype)), requires_grad, device)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors; ``indexing`` 'ij' (PyTorch's default, with a
    warning when not given) or 'xy'."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: "
            f"{indexing}")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t!r}")
    n = len(tensors)
    flat = [t.reshape(-1) for t in tensors]
    sizes = [f._data.shape[0] for f in flat]
    if indexing == "xy" and n >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    outs = []
    for i, f in enumerate(flat):
        shape = [1] * n
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        shape[pos] = f._data.shape[0]
        outs.append(f.reshape(shape).expand(sizes))
    return tuple(outs)


# ---- Tensor.new_* : new tensors with this tensor's dtype (and device) by default -----------

def _new_method(name, fill):
    def method(self, *size, dtype=None, device=None, requires_grad=False, layout=None,
               pin_memory=False):
        if not size:  # (new_zeros(()) is a 0-d tensor; no size at all is an error)
            raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
        _check_pin(pin_memory, check_device(device), name)
        shape = _size(size)
        _check_size(name, shape)
        np_dt = dtype.np if dtype is not None else self._data.dtype
        return _new(fill(shape, np_dt), requires_grad,
                    device if device is not None else _device_of(self))
    method.__name__ = name
    method.__qualname__ = f"Tensor.{name}"
    method.__doc__ = f"``{name[4:]}(size)`` with this tensor's dtype unless ``dtype`` is given."
    return method


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False,
             layout=None, pin_memory=False):
    """A tensor of ``size`` filled with ``fill_value``, with this tensor's dtype by default."""
    _check_pin(pin_memory, check_device(device), "new_full")
    shape = _size((size,))
    _check_size("new_full", shape)
    np_dt = dtype.np if dtype is not None else self._data.dtype
    return _new(np.full(shape, fill_value, dtype=np_dt), requires_grad,
                device if device is not None else _device_of(self))


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None):
    """A copy of ``data`` as a tensor with this tensor's dtype by default."""
    return tensor(data, dtype=dtype if dtype is not None else self.dtype,
                  device=device if device is not None else _device_of(self),
                  requires_grad=requires_grad)


Tensor.new_zeros = _new_method("new_zeros", np.zeros)
Tensor.new_ones = _new_method("new_ones", np.ones)
Tensor.new_empty = _new_method("new_empty", np.empty)
Tensor.new_full = new_full
Tensor.new_tensor = new_tensor
for _name in ("new_zeros", "new_ones", "new_empty", "new_full", "new_tensor"):
    _records.declare(Tensor.__dict__[_name], "Tensor", _name, kind="factory")
