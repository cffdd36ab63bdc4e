"""PyTorch's legacy typed constructors: ``FloatTensor``, ``LongTensor``, ... .

Contract: as PyTorch's. ``FloatTensor(2, 3)`` (or a ``Size``) is an uninitialised float32
tensor of that size, ``FloatTensor([1, 2])`` (a list, tuple or ndarray) copies the data into
float32, ``FloatTensor(t)`` aliases a float32 tensor and refuses another dtype,
``FloatTensor()`` is empty; only ``device=`` is accepted as a keyword. The classes are not
``Tensor`` subclasses: ``isinstance(t, FloatTensor)`` is True when ``t`` is a float32 tensor,
and ``Tensor.type(FloatTensor)`` converts.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import dtypes as _dt
from ._size import Size
from .tensor import Tensor, check_device

# PyTorch's C++ spelling of each dtype, as its TensorOptions error prints it
_CPP = {"Float": "float", "Double": "double", "Half": "c10::Half", "BFloat16": "c10::BFloat16",
        "Long": "long int", "Int": "int", "Short": "short int", "Char": "signed char",
        "Byte": "unsigned char", "Bool": "bool"}

_OVERLOADS = (" * (*, torch.device device = None)\n"
              "{note}"
              " * (torch.Storage storage)\n"
              " * (Tensor other)\n"
              " * (tuple of ints size, *, torch.device device = None)\n"
              " * (object data, *, torch.device device = None)\n")


def _type_name(x):
    if isinstance(x, _dt.dtype):
        return "torch.dtype"
    if isinstance(x, Size):
        return "torch.Size"
    if isinstance(x, Tensor):
        return "Tensor"
    return type(x).__name__


def _options(scalar_name):
    return (f"TensorOptions(dtype={_CPP.get(scalar_name, scalar_name)}, device=cpu, "
            "layout=Strided, requires_grad=false (default), pinned_memory=false (default), "
            "memory_format=(nullopt))")


class _LegacyTensorType(type):
    """The metaclass: calling a legacy class constructs, ``isinstance`` checks the dtype."""

    def __call__(cls, *args, **kwargs):
        bad = [k for k in kwargs if k != "device"]
        if bad:
            got = ", ".join([_type_name(a) for a in args]
                            + [f"{k}={_type_name(v)}" for k, v in kwargs.items()])
            note = ("      didn't match because some of the keywords were incorrect: "
                    f"{', '.join(bad)}\n")
            raise TypeError(f"new() received an invalid combination of arguments - got ({got}), "
                            f"but expected one of:\n{_OVERLOADS.format(note=note)}")
        check_device(kwargs.get("device"))
        dtype = cls.dtype
        from .creation import empty, tensor

        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            data = args[0]
            if isinstance(data, Size):
                return empty(*data, dtype=dtype)
            if isinstance(data, Tensor):
                if data.dtype != dtype:
                    raise TypeError(f"expected {_options(dtype.scalar_name)} (got "
                                    f"{_options(data.dtype.scalar_name)})")
                return data.detach()
            if isinstance(data, np.ndarray) or isinstance(data, (list, tuple)):
                return tensor(data, dtype=dtype)
            if isinstance(data, (str, bytes)):
                raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
            raise TypeError("new(): data must be a sequence (got "
                            f"{_qualified(type(data))})")
        for a in args:
            if not isinstance(a, numbers.Integral):
                raise TypeError("new(): data must be a sequence (got "
                                f"{_qualified(type(a))})")
        sizes = [int(a) for a in args] or [0]  # no arguments: an empty tensor
        for s in sizes:
            if s < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                                   f"{sizes}")
        return empty(*sizes, dtype=dtype)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _qualified(t):
    module = t.__module__
    return t.__name__ if module == "builtins" else f"{module}.{t.__name__}"


def _legacy(name, dtype):
    cls = _LegacyTensorType(name, (), {
        "dtype": dtype, "is_cuda": False, "is_sparse": False, "__module__": "ember",
        "__doc__": f"PyTorch's legacy constructor of {dtype} tensors (see ember._legacy)."})
    return cls


FloatTensor = _legacy("FloatTensor", _dt.float32)
DoubleTensor = _legacy("DoubleTensor", _dt.float64)
HalfTensor = _legacy("HalfTensor", _dt.float16)
BFloat16Tensor = _legacy("BFloat16Tensor", _dt.bfloat16)
LongTensor = _legacy("LongTensor", _dt.int64)
IntTensor = _legacy("IntTensor", _dt.int32)
ShortTensor = _legacy("ShortTensor", _dt.int16)
CharTensor = _legacy("CharTensor", _dt.int8)
ByteTensor = _legacy("ByteTensor", _dt.uint8)
BoolTensor = _legacy("BoolTensor", _dt.bool)

BY_NAME = {f"torch.{c.__name__}": c for c in (
    FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor, ShortTensor,
    CharTensor, ByteTensor, BoolTensor)}

__all__ = [name.split(".")[1] for name in BY_NAME]
