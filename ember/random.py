"""Random numbers as PyTorch draws them on CPU: ``Generator``, ``manual_seed``, the state bytes,
the sampling factories (``rand``, ``randn``, ``randint``, ``randperm``, ``normal``, ``*_like``,
``bernoulli``, ``multinomial``) and the in-place samplers (``Tensor.uniform_``, ``normal_``,
``random_``, ``bernoulli_``, ``exponential_``, ``geometric_``, ``cauchy_``, ``log_normal_``).

Contract: PyTorch 2.x's CPU streams bit for bit. After ``manual_seed(s)`` every sampler gives
the values PyTorch gives and consumes the same words of the generator (MT19937, ``_mt19937``;
the transforms in ``_rng_kernels``), so mixed sequences stay in step; ``get_rng_state`` returns
PyTorch's 5056-byte uint8 tensor and ``set_rng_state`` accepts PyTorch's. Elements are filled in
memory order (a transposed tensor receives its values in storage order). The default generator
starts from an OS-entropy seed, as PyTorch's; ``Generator()`` from PyTorch's fixed default
(67280421310721). Where PyTorch's answer depends on its CPU build, ``_rng_kernels.capability``
says which one ember imitates. Floating factories give the default dtype; ``randint`` int64.

CUDA (NOTE [devices] in tensor.py): a factory with ``device="cuda"`` (or the default device
set there), a ``*_like`` of a CUDA tensor, an in-place sampler on a CUDA tensor, ``bernoulli``
and ``multinomial`` of one, and dropout/rrelu of CUDA input draw from that device's generator
(``ember.cuda.default_generator(index)``, an ember ``Generator`` with this same CPU engine) on
the host and copy the values over. They are reproducible (``manual_seed`` seeds every device's
generator too, as PyTorch's does) and follow the CPU stream of that generator, but they are not
the numbers PyTorch's CUDA generator (Philox) gives. An explicit ``generator=`` is used as
given; as in PyTorch, its device type must be the draw's (``Generator(device="cuda")`` for a
CUDA draw), else PyTorch's "Expected a 'cuda' device type for generator but found 'cpu'".
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from . import _records
from . import _rng_kernels as K
from . import dtypes as _dt
from ._meta import meta_array
from ._mt19937 import STATE_SIZE, Engine
from .creation import _check_pin, _check_size, _new, _size
from .tensor import (
    _DEFAULT_DEVICE,
    CPU,
    Tensor,
    check_device,
    cuda_device,
    cuda_index,
    device_of,
    on_device,
    to_host,
)
from .tensor import device as _device_cls

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "fork_rng", "rand", "randn", "randint", "randperm", "rand_like",
           "randn_like", "randint_like", "normal", "bernoulli", "multinomial",
           "default_generator"]

_DEFAULT_SEED = 67280421310721
_INT64_MIN = -(1 << 63)


def _entropy() -> int:
    """A non-deterministic 64-bit seed from the operating system."""
    return int.from_bytes(os.urandom(8), "little")


def _check_seed(seed) -> int:
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError("Overflow when unpacking long long")
    return seed


def _where(device):
    """The CUDA device a draw for ``device=device`` lands on, or None for the CPU (meta is the
    caller's, through ``check_device``); None means the default device."""
    if device is None:
        return _DEFAULT_DEVICE[0]
    d = device if isinstance(device, _device_cls) else _device_cls(device)
    return cuda_device(cuda_index(d)) if d.type == "cuda" else None


def _cuda_of(a):
    """The CUDA device array ``a`` is on, or None (the CPU, meta)."""
    if type(a) is np.ndarray:
        return None
    d = device_of(a)
    return d if d.type == "cuda" else None


class Generator:
    """A random-number generator with PyTorch's CPU engine, seeding and state format;
    ``device="cuda"`` makes one for CUDA draws (same engine: see the module docstring)."""

    def __init__(self, device="cpu"):
        check_device(device)
        # (a CUDA generator feeds that device's draws; the default device does not apply)
        self._device = (_where(device) if device is not None else None) or CPU
        self._eng = Engine(_DEFAULT_SEED)

    def manual_seed(self, seed):
        if isinstance(seed, float) or not hasattr(seed, "__index__"):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        self._eng.manual_seed(_check_seed(int(seed)))
        return self

    def seed(self):
        s = _entropy()
        self._eng.manual_seed(s)
        return s

    def initial_seed(self):
        return self._eng.seed

    def get_state(self):
        return _new(np.frombuffer(self._eng.state_bytes(), dtype=np.uint8).copy(), device=CPU)

    def set_state(self, new_state):
        if not isinstance(new_state, Tensor) or new_state.dtype is not _dt.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        blob = np.ascontiguousarray(new_state._data).reshape(-1).tobytes()
        if len(blob) != STATE_SIZE:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {STATE_SIZE} but "
                               f"found the input RNG state size to be {len(blob)}")
        self._eng.load_state_bytes(blob)
        return self

    @property
    def device(self):
        return self._device


default_generator = Generator()
default_generator._eng.manual_seed(_entropy())


def manual_seed(seed):
    """Seed the default generator and every CUDA device's (anything ``int()`` accepts);
    returns the default generator."""
    seed = _check_seed(int(seed))
    default_generator._eng.manual_seed(seed)
    _seed_devices(seed)
    return default_generator


def seed():
    """Seed the default generator (and every CUDA device's) from OS entropy; returns it."""
    s = default_generator.seed()
    _seed_devices(s)
    return s


def _seed_devices(seed):
    # (PyTorch seeds each CUDA generator with the CPU's seed. ember.cuda makes its generators
    # on first use from the default generator's seed, so only those made already need it:
    # no CUDA backend is loaded here)
    from . import cuda

    if cuda._STATE["generators"] is not None:
        cuda.manual_seed_all(seed)


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Restore the default generator's state (normal cache included) on exit, and those of
    the CUDA devices ``devices`` (every device when None; none without CUDA)."""
    if not enabled:
        yield
        return
    from . import cuda

    if devices is None:
        devices = range(cuda.device_count()) if device_type == "cuda" else ()
    devices = list(devices)
    state = get_rng_state()
    device_states = [cuda.get_rng_state(d) for d in devices]
    try:
        yield
    finally:
        set_rng_state(state)
        for d, s in zip(devices, device_states):
            cuda.set_rng_state(s, d)


def _eng(generator, dev=None):
    """The engine a draw for device ``dev`` (None: the CPU) takes its numbers from."""
    if generator is not None:
        want = "cpu" if dev is None else "cuda"
        have = generator.device.type
        if have != want:
            raise RuntimeError(f"Expected a '{want}' device type for generator but found "
                               f"'{have}'")
        return generator._eng
    if dev is None:
        return default_generator._eng
    from . import cuda

    return cuda.default_generator(dev.index)._eng


# ---- where values go: memory order ----
def _memory_perm(a):
    """Axes from slowest to fastest in memory (C order for a contiguous array), as PyTorch's
    TensorIterator orders them (and ``empty_like`` lays out a result): an insertion sort from
    fastest to slowest that swaps two axes only when both strides are nonzero and the
    earlier one's is larger (equal strides: the larger size goes later). A broadcast axis
    (stride 0) decides nothing, so ``bernoulli`` of an expanded tensor draws in C order."""
    n = a.ndim
    strides, shape = a.strides, a.shape
    perm = list(range(n - 1, -1, -1))  # fastest first

    def should_swap(d0, d1):
        s0, s1 = abs(strides[d0]), abs(strides[d1])
        if s0 == 0 or s1 == 0:
            return 0
        if s0 < s1:
            return -1
        if s0 > s1:
            return 1
        return 1 if shape[d0] > shape[d1] else 0

    for i in range(1, n):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    return perm[::-1]


def _logical(a, flat):
    """An array shaped like ``a`` whose element at each index is ``flat[k]``, k being that
    element's position in ``a``'s memory (PyTorch fills tensors in storage order)."""
    if a.flags.c_contiguous:
        return flat.reshape(a.shape)
    perm = _memory_perm(a)
    out = np.empty(a.shape, flat.dtype)
    out.transpose(perm)[...] = flat.reshape(tuple(a.shape[k] for k in perm))
    return out


_NODES = {}


def _node(name):
    node = _NODES.get(name)
    if node is None:
        from .ops._registry import node_class, zeros_of

        def vjp(ctx, g):
            return (zeros_of(g),)

        def jvp(ctx, dself):
            from .ops._jvp import out_zeros

            return out_zeros(ctx)

        node = _NODES[name] = node_class(name, vjp, jvp)
    return node


def _fill(self, flat, node_name):
    """Write ``flat`` (values in memory order, already in ``self``'s dtype) into ``self``."""
    from .autograd.grad_mode import STATE
    from .ops._registry import record, recording
    from .ops.inplace import _bump, _write, rebase

    data = _logical(self._data, flat)
    dev = _cuda_of(self._data)
    if dev is not None:
        data = on_device(data, dev)  # (drawn on the host: see the module docstring)
    if not (STATE.enabled and recording(self)):
        _write(self, data)
        _bump(self)
        return self
    return rebase(self, record(_node(node_name), data, (self,)))


def _check(self):
    """PyTorch's in-place checks, before anything is drawn."""
    from .ops.inplace import check_inplace

    check_inplace(self)


def _float_or_raise(self, kernel):
    dtype = self.dtype
    if not dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype.scalar_name}\'')
    return dtype.np


# ---- uniform ----
def _uniform_values(eng, n, lo, hi, np_dtype, dtype):
    if lo > hi:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={_num(lo)} > to={_num(hi)}")
    if dtype is not _dt.float64:
        fmax = float(_dt.finfo(dtype).max)
        if not -fmax <= lo <= fmax:
            raise RuntimeError(f"from is out of bounds for {dtype.cpp_name}")
        if not -fmax <= hi <= fmax:
            raise RuntimeError(f"to is out of bounds for {dtype.cpp_name}")
        if hi - lo > fmax:
            raise RuntimeError(
                f"uniform_ expects to-from <= std::numeric_limits<{dtype.scalar_name}>::max(), "
                f"but found to={_num(hi)} and from={_num(lo)} which result in to-from "
                f"to exceed the limit")
    return K.uniform(eng, n, float(lo), float(hi), np_dtype)


def _num(x):
    return int(x) if float(x).is_integer() else x


def uniform_(self, from_=0.0, to=1.0, *, generator=None, **kwargs):
    """Fill with U(from, to), PyTorch's stream."""
    _check(self)
    from_ = kwargs.pop("from", from_)
    np_dtype = _float_or_raise(self, "check_uniform_bounds")
    flat = _uniform_values(_eng(generator, _cuda_of(self._data)), self._data.size, from_, to,
                           np_dtype, self.dtype)
    return _fill(self, flat, "UniformBackward0")


# ---- normal ----
def _normal_values(eng, a, mean, std, np_dtype):
    """Values for ``a`` (an array: its size and contiguity pick PyTorch's path)."""
    n = a.size
    if n >= 16 and a.flags.c_contiguous:
        return K.normal_vector(eng, n, float(mean), float(std), np_dtype)
    return K.cast(K.normal_scalar(eng, n, float(mean), float(std)), np_dtype)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with N(mean, std**2), PyTorch's stream."""
    _check(self)
    np_dtype = _float_or_raise(self, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
    flat = _normal_values(_eng(generator, _cuda_of(self._data)), self._data, mean, std,
                          np_dtype)
    return _fill(self, flat, "NormalBackward0")


# ---- integers ----
_DIGITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}


def _int_bounds(dtype):
    if dtype is _dt.bool:
        return 0, 1
    if dtype.is_floating_point:
        top = 1 << _DIGITS[dtype.name]
        return -top, top
    info = np.iinfo(dtype.np)
    return int(info.min), int(info.max)


def _random_values(eng, n, dtype, args):
    """``random_(*args)`` values for ``n`` elements of ``dtype`` (int64 or float results)."""
    np_dtype = dtype.np
    if not args:
        return K.random_full(eng, n, np_dtype)
    if len(args) == 1:
        lo, hi = 0, args[0]
    else:
        lo, hi = args
    if hi is None:
        if lo == _INT64_MIN:  # the full 64-bit range: one signed 64-bit draw each
            return K.cast_int(eng.words64(n).view(np.int64), np_dtype)
        top = _int_bounds(dtype)[1]
        _check_from(lo, dtype)
        return K.cast_int(K.random_range(eng, n, lo, top - lo + 1), np_dtype)
    lo, hi = int(lo), int(hi)
    if lo >= hi:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={lo} "
                           f">= to={hi}")
    _check_from(lo, dtype)
    if not dtype.is_floating_point and hi - 1 > _int_bounds(dtype)[1]:
        raise RuntimeError(f"to - 1 is out of bounds for {dtype.cpp_name}")
    return K.cast_int(K.random_range(eng, n, lo, (hi - lo) % (1 << 64)), np_dtype)


def _check_from(lo, dtype):
    if not dtype.is_floating_point and not _int_bounds(dtype)[0] <= lo <= _int_bounds(dtype)[1]:
        raise RuntimeError(f"from is out of bounds for {dtype.cpp_name}")


def random_(self, *args, generator=None, **kwargs):
    """``random_()``, ``random_(to)``, ``random_(from, to)``, ``random_(from, None)``."""
    _check(self)
    if "from" in kwargs or "to" in kwargs:
        args = (kwargs.pop("from", 0), kwargs.pop("to", None))
    flat = _random_values(_eng(generator, _cuda_of(self._data)), self._data.size, self.dtype,
                          args)
    name = ("RandomBackward2", "RandomBackward1", "RandomBackward0")[len(args)]
    return _fill(self, flat, name)


# ---- Bernoulli and the continuous families ----
def _p_values(eng, a, p):
    """Bernoulli(p) draws for ``a``'s elements in memory order (bool, flat)."""
    if isinstance(p, Tensor):
        pa = np.broadcast_to(to_host(p._data), a.shape)
        pa = np.ascontiguousarray(pa.transpose(_memory_perm(a))).reshape(-1)
        if pa.dtype == np.float64:
            return K.u53(eng, a.size) < pa
        return K.u24(eng, a.size) < pa.astype(np.float32)
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return K.bernoulli_scalar(eng, a.size, float(p))


def bernoulli_(self, p=0.5, *, generator=None):
    _check(self)
    flat = _p_values(_eng(generator, _cuda_of(self._data)), self._data, p)
    name = "BernoulliBackward1" if isinstance(p, Tensor) else "BernoulliBackward2"
    return _fill(self, flat.astype(self._data.dtype), name)


def _continuous(self, kind):
    dtype = self.dtype
    if not dtype.is_floating_point:
        name = dtype.scalar_name if kind == "Exponential" else dtype.cpp_name
        raise RuntimeError(f"{kind} distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified {name}")
    return self._data.dtype


def exponential_(self, lambd=1.0, *, generator=None):
    _check(self)
    np_dtype = _continuous(self, "Exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={_num(lambd)}")
    flat = K.exponential(_eng(generator, _cuda_of(self._data)), self._data.size, float(lambd))
    return _fill(self, K.cast(flat, np_dtype), "ExponentialBackward0")


def geometric_(self, p, *, generator=None):
    _check(self)
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={_num(p)}")
    flat = K.geometric(_eng(generator, _cuda_of(self._data)), self._data.size, float(p))
    np_dtype = self._data.dtype
    if self.dtype.is_floating_point:
        flat = K.cast(flat, np_dtype)
    else:
        with np.errstate(invalid="ignore"):
            flat = K.cast_int(flat.astype(np.int64), np_dtype)
    return _fill(self, flat, "GeometricBackward0")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    _check(self)
    np_dtype = _continuous(self, "Cauchy")
    flat = K.cauchy(_eng(generator, _cuda_of(self._data)), self._data.size, float(median),
                    float(sigma))
    return _fill(self, K.cast(flat, np_dtype), "CauchyBackward0")


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    _check(self)
    np_dtype = _float_or_raise(self, "log_normal_cpu")
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={_num(std)}")
    flat = K.log_normal(_eng(generator, _cuda_of(self._data)), self._data.size, float(mean),
                        float(std))
    return _fill(self, K.cast(flat, np_dtype), "LogNormalBackward0")


# ---- factories ----
def _float_dtype(dtype, name):
    dtype = dtype or _dt.get_default_dtype()
    if not (dtype.is_floating_point or dtype.is_complex):
        raise NotImplementedError(
            f'"{name}" not implemented for \'{dtype.scalar_name}\'')
    return dtype


def _target(device, out):
    """The CUDA device a factory's values go to (``out``'s when given), or None (the CPU)."""
    return _where(device) if out is None else _cuda_of(out._data)


def _out(values, shape, out, requires_grad, dev=None):
    """The factory's result: ``values`` (host, drawn for ``dev``) shaped, placed on ``dev``
    (None: the CPU) and written into ``out`` or a new tensor."""
    data = values.reshape(shape)
    if out is not None:
        from .ops.inplace import _bump, _write

        out.resize_(shape) if tuple(out.shape) != shape else None
        _write(out, data if dev is None else on_device(data, dev))
        _bump(out)
        return out
    return _new(data, requires_grad, dev or CPU)


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    """Uniform samples from [0, 1)."""
    meta = check_device(device)
    _check_pin(pin_memory, meta)
    dtype = _float_dtype(dtype, "check_uniform_bounds")
    shape = _size(size)
    _check_size("rand", shape, meta)
    if meta:
        return _new(meta_array(shape, dtype.np), requires_grad)
    n = int(np.prod(shape, dtype=np.int64))
    dev = _target(device, out)
    return _out(K.uniform(_eng(generator, dev), n, 0.0, 1.0, dtype.np), shape, out,
                requires_grad, dev)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    """Standard normal samples."""
    meta = check_device(device)
    _check_pin(pin_memory, meta)
    dtype = _float_dtype(dtype, "normal_kernel_cpu")
    shape = _size(size)
    _check_size("randn", shape, meta)
    if meta:  # no draw: the generator's state stays as it was
        return _new(meta_array(shape, dtype.np), requires_grad)
    n = int(np.prod(shape, dtype=np.int64))
    dev = _target(device, out)
    eng = _eng(generator, dev)
    if n >= 16:
        values = K.normal_vector(eng, n, 0.0, 1.0, dtype.np)
    else:
        values = K.cast(K.normal_scalar(eng, n, 0.0, 1.0), dtype.np)
    return _out(values, shape, out, requires_grad, dev)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None,
            device=None, requires_grad=False, layout=None, pin_memory=False):
    """Integers uniform in [low, high) (int64 by default)."""
    _check_pin(pin_memory, check_device(device))
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing 1 required positional arguments: \"size\"")
    shape = _size((size,))
    _check_size("randint", shape)
    dtype = dtype or _dt.int64
    n = int(np.prod(shape, dtype=np.int64))
    dev = _target(device, out)
    values = _random_values(_eng(generator, dev), n, dtype, (int(low), int(high)))
    return _out(values, shape, out, requires_grad, dev)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    """A random permutation of ``0 .. n-1`` (PyTorch's shuffle)."""
    _check_pin(pin_memory, check_device(device))
    n = int(n)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    dtype = dtype or _dt.int64
    if not dtype.is_floating_point and dtype is not _dt.bool and n > 0 and \
            n - 1 > _int_bounds(dtype)[1]:
        cname = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t",
                 "int32": "int", "bool": "bool"}.get(dtype.name, dtype.cpp_name)
        raise RuntimeError(f"value cannot be converted to type {cname} without overflow")
    dev = _target(device, out)
    values = K.cast_int(K.randperm(_eng(generator, dev), n), dtype.np)
    return _out(values, (n,), out, requires_grad, dev)


def _like_device(input, device):
    """A ``*_like`` factory's device: ``device``, else ``input``'s (never the default)."""
    if device is not None:
        return device
    return CPU if type(input._data) is np.ndarray else input.device


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              pin_memory=False, memory_format=None, generator=None):
    return rand(input._data.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                generator=generator, pin_memory=pin_memory,
                device=_like_device(input, device))


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               pin_memory=False, memory_format=None, generator=None):
    return randn(input._data.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                 generator=generator, pin_memory=pin_memory,
                 device=_like_device(input, device))


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, pin_memory=False, memory_format=None, generator=None):
    return randint(low, high, input._data.shape, dtype=dtype or input.dtype,
                   requires_grad=requires_grad, generator=generator, pin_memory=pin_memory,
                   device=_like_device(input, device))


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad=False, pin_memory=False):
    """``normal(mean, std)`` with numbers or tensors (broadcast), or ``normal(m, s, size)``."""
    if pin_memory is not False and pin_memory is not True and pin_memory is not None:
        from .ops._checks import OVERLOADS, _overload_error

        args = (mean, std) if size is None else (mean, std, size)
        given = dict(generator=generator, out=out, dtype=dtype, layout=layout, device=device,
                     requires_grad=requires_grad, pin_memory=pin_memory)
        given = {k: v for k, v in given.items() if v is not None and v is not False}
        raise TypeError(_overload_error("normal", OVERLOADS["normal"][0], args, given))
    _check_pin(pin_memory, check_device(device))
    mt, st = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mt and not st:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
        dtype = dtype or _dt.get_default_dtype()
        shape = _size((size,))
        _check_size("normal", shape)
        dev = _target(device, out)
        z = _normal_values(_eng(generator, dev), np.empty(shape, np.uint8), mean, std,
                           dtype.np)
        return _out(z, shape, out, requires_grad, dev)
    if st and bool((std._data < 0).any()):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if mt and st:
        shape = np.broadcast_shapes(mean._data.shape, std._data.shape)
        ref = mean
    else:
        ref = mean if mt else std
        shape = ref._data.shape
    np_dtype = ref._data.dtype
    dev = _cuda_of(ref._data)  # (the draw goes where the tensors are)
    eng = _eng(generator, dev)
    if not mt or st:  # normal(float, std_t) and normal(mean_t, std_t): N(0, 1) * std + mean
        z = _new(_normal_values(eng, np.empty(shape, np.uint8), 0.0, 1.0, np_dtype)
                 .reshape(shape), device=dev or CPU)
        return z * std + mean
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
    z = _new(_normal_values(eng, np.empty(shape, np.uint8), 0.0, std, np_dtype).reshape(shape),
             device=dev or CPU)
    return z + mean


def bernoulli(input, p=None, *, generator=None, out=None):
    """1 with probability ``input`` (or ``p``), else 0, in ``input``'s dtype."""
    a = input._data
    dev = _cuda_of(a)
    flat = _p_values(_eng(generator, dev), a, input if p is None else p)
    return _new(_logical(a, flat.astype(a.dtype)), device=dev or CPU)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Category indices drawn from the rows of ``input`` (PyTorch's algorithms)."""
    probs = input._data
    if probs.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{input.dtype.scalar_name}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > probs.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    dev = _cuda_of(probs)
    if dev is not None:
        probs = to_host(probs)  # (drawn on the host: see the module docstring)
    rows = probs.reshape(-1, probs.shape[-1])
    wide = rows.astype(np.float64)
    if not np.isfinite(wide).all() or (wide < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (wide.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    eng = _eng(generator, dev)
    if replacement and num_samples > 1:
        acc = np.float64 if rows.dtype == np.float64 else np.float32
        out_rows = []
        for row in rows.astype(acc):
            cum = np.cumsum(row, dtype=acc)
            cum = cum / cum[-1]
            cum[-1] = 1
            u = K.u53(eng, num_samples)
            out_rows.append(np.searchsorted(cum.astype(np.float64), u, side="left"))
        data = np.array(out_rows, dtype=np.int64)
    else:
        q = K.cast(K.exponential(eng, rows.size, 1.0), rows.dtype).reshape(rows.shape)
        if rows.dtype in (np.float64, np.float32):
            score = rows / q
        else:
            score = (rows.astype(np.float32) / q.astype(np.float32)).astype(rows.dtype)
        data = np.array([K.topk_indices(r, num_samples) for r in score], dtype=np.int64)
    return _new(data.reshape(probs.shape[:-1] + (num_samples,)), device=dev or CPU)


def _bernoulli_method(self, p=None, *, generator=None):
    return bernoulli(self, p, generator=generator)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


def dropout_keep(shape_like, keep_p, generator=None):
    """PyTorch's dropout mask: ``bernoulli_(keep_p)`` over an array shaped and laid out like
    ``shape_like`` (bool, logical order), on ``shape_like``'s device."""
    dev = _cuda_of(shape_like)
    flat = K.bernoulli_scalar(_eng(generator, dev), shape_like.size, float(keep_p))
    keep = _logical(shape_like, flat)
    return keep if dev is None else on_device(keep, dev)


for _name, _fn in (("uniform_", uniform_), ("normal_", normal_), ("random_", random_),
                   ("bernoulli_", bernoulli_), ("exponential_", exponential_),
                   ("geometric_", geometric_), ("cauchy_", cauchy_),
                   ("log_normal_", log_normal_), ("bernoulli", _bernoulli_method),
                   ("multinomial", _multinomial_method)):
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _fn)
        # NOTE [op records] (ember/_records.py): published through their dispatchers, so vmap
        # applies its randomness rules to them too
        _records.declare(_fn, "Tensor", _name, kind="factory")


def rrelu_slopes(a, lower, upper, generator=None):
    """RReLU's training-mode slopes for array ``a``: one double U(lower, upper) draw for each
    element ``<= 0`` in memory order (1.0 elsewhere), as PyTorch's CPU kernel draws them: the
    bounds rounded to the op's math type (float32 below float64), ``u*(to-from) + from`` in
    double without a fused multiply-add (the kernel is built for the baseline CPU)."""
    if a.dtype != np.float64:
        lower, upper = np.float32(lower), np.float32(upper)
    lower, upper = float(lower), float(upper)
    dev = _cuda_of(a)
    if dev is not None:
        a = to_host(a)  # (drawn on the host: see the module docstring)
    order = a.transpose(_memory_perm(a)).reshape(-1)
    neg = order <= 0
    slopes = np.ones(order.size, np.float64)
    slopes[neg] = K.u53(_eng(generator, dev), int(neg.sum())) * (upper - lower) + lower
    slopes = _logical(a, slopes)
    return slopes if dev is None else on_device(slopes, dev)
