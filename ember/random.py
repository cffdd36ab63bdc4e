"""Random numbers: a ``Generator`` on NumPy's PCG64, ``manual_seed`` and the sampling
factories (``rand``, ``randn``, ``randint``, ``randperm``, ``normal``, ``*_like``, ``bernoulli``).

Contract: seeding makes ember's own stream reproducible; values need not (and do not) match
PyTorch's stream. Floating factories give the default dtype; ``randint`` gives int64.
"""

from __future__ import annotations

import os

import numpy as np

from . import dtypes as _dt
from ._meta import meta_array
from .creation import _check_size, _new, _size
from .tensor import Tensor, check_device

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "rand", "randn", "randint", "randperm", "rand_like", "randn_like",
           "randint_like", "normal", "bernoulli", "multinomial", "default_generator"]


def _entropy() -> int:
    """A non-deterministic 63-bit seed from the operating system."""
    return int.from_bytes(os.urandom(8), "little") % (2 ** 63)


class Generator:
    """A source of random numbers (NumPy's PCG64) with PyTorch's seeding API."""

    def __init__(self, device="cpu"):
        check_device(device)
        self._seed = _entropy()
        self._gen = None

    @property
    def _rng(self):
        """NumPy's generator, made on first use: ``numpy.random`` costs ~9 ms, a tenth of
        ``import ember``, and many programs never draw a random number."""
        gen = self._gen
        if gen is None:
            gen = self._gen = np.random.Generator(np.random.PCG64(self._seed))
        return gen

    def manual_seed(self, seed):
        seed = int(seed)
        if not -0x8000_0000_0000_0000 <= seed <= 0xFFFF_FFFF_FFFF_FFFF:
            raise RuntimeError("Overflow when unpacking long")
        self._seed = seed % (2 ** 64)
        self._gen = None
        return self

    def seed(self):
        self.manual_seed(_entropy())
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from .creation import tensor

        state = self._rng.bit_generator.state
        blob = repr((state["state"]["state"], state["state"]["inc"], state["has_uint32"],
                     state["uinteger"]))
        return tensor(np.frombuffer(blob.encode(), dtype=np.uint8).copy())

    def set_state(self, new_state):
        import ast

        s, inc, has, uint = ast.literal_eval(bytes(new_state._data.tolist()).decode())
        self._rng.bit_generator.state = {"bit_generator": "PCG64",
                                         "state": {"state": s, "inc": inc},
                                         "has_uint32": has, "uinteger": uint}
        return self

    @property
    def device(self):
        from .tensor import CPU

        return CPU


default_generator = Generator()
default_generator.manual_seed(67280421310721)


def manual_seed(seed):
    """Seed the default generator; returns it."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def _rng(generator):
    return (generator or default_generator)._rng


def _float_dtype(dtype, name):
    dtype = dtype or _dt.get_default_dtype()
    if not (dtype.is_floating_point or dtype.is_complex):
        raise NotImplementedError(
            f'"{name}" not implemented for \'{dtype.scalar_name}\'')
    return dtype


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """Uniform samples from [0, 1)."""
    check_device(device)
    dtype = _float_dtype(dtype, "check_uniform_bounds")
    shape = _size(size)
    _check_size("rand", shape)
    data = _rng(generator).random(shape, dtype=np.float64).astype(dtype.np)
    return _new(data, requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """Standard normal samples."""
    meta = check_device(device)
    dtype = _float_dtype(dtype, "normal_kernel_cpu")
    shape = _size(size)
    _check_size("randn", shape)
    if meta:  # no draw: the generator's state stays as it was
        return _new(meta_array(shape, dtype.np), requires_grad)
    data = _rng(generator).standard_normal(shape).astype(dtype.np)
    return _new(data, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, layout=None):
    """Integers uniform in [low, high) (int64 by default)."""
    check_device(device)
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing 1 required positional arguments: \"size\"")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    shape = _size((size,))
    data = _rng(generator).integers(low, high, shape, dtype=np.int64)
    return _new(data.astype((dtype or _dt.int64).np), requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    check_device(device)
    return _new(_rng(generator).permutation(int(n)).astype((dtype or _dt.int64).np),
                requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return rand(input._data.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return randn(input._data.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    return randint(low, high, input._data.shape, dtype=dtype or input.dtype,
                   requires_grad=requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Normal samples with ``mean`` and ``std`` (numbers or tensors, broadcast)."""
    check_device(device)
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if size is None:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    else:
        shape = _size((size,))
    ref = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    dtype = dtype or (ref.dtype if ref is not None else _dt.get_default_dtype())
    data = (m + s * _rng(generator).standard_normal(shape)).astype(dtype.np)
    return _new(np.asarray(data), requires_grad)


def bernoulli(input, p=None, *, generator=None):
    """1 with probability ``input`` (or ``p``), else 0, in ``input``'s dtype."""
    prob = input._data if p is None else p
    data = (_rng(generator).random(input._data.shape) < prob).astype(input._data.dtype)
    return _new(data)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    probs = input._data.astype(np.float64)
    rows = probs.reshape(-1, probs.shape[-1])
    out = []
    for row in rows:
        p = row / row.sum()
        out.append(_rng(generator).choice(len(p), size=num_samples, replace=replacement, p=p))
    data = np.asarray(out, dtype=np.int64).reshape(probs.shape[:-1] + (num_samples,))
    return _new(data)
