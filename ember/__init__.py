"""ember: PyTorch's autograd, rebuilt in pure Python on NumPy.

Use it as ``import ember as torch``: tensors record a graph as operations run; ``backward()``
and ``ember.autograd.grad`` compute gradients of any order.

>>> import ember as torch
>>> x = torch.tensor([1., 2.], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad
tensor([2., 4.])
"""

from __future__ import annotations

# ember's own version; under install_as_torch() the PyTorch version ember implements
# (``torch.__version__``, ember/version.py)
__version__ = _EMBER_VERSION = "0.1.0"

import sys as _sys
import warnings as _warnings
from types import FunctionType as _FunctionType

# NOTE: PyTorch computes log(0) = -inf, 0/0 = nan, exp(1000) = inf silently; NumPy warns
# (RuntimeWarning: divide by zero / invalid value / overflow). The warnings raised inside
# ember's own modules are ignored — one filter, no per-op cost; NumPy warnings from the
# user's own code are untouched.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ember(\.|$)")

from . import _malloc

_malloc.tune()  # NOTE [why] in _malloc.py: freed buffers are reused instead of re-faulted

from . import dtypes as _dtypes
from ._printing import set_printoptions
from ._size import Size, broadcast_shapes
from .dtypes import (bfloat16, bool, cdouble, cfloat, complex64, complex128, double, dtype,
                     finfo, float, float16, float32, float64, get_default_dtype, half, iinfo,
                     int, int8, int16, int32, int64, long, promote_types, set_default_dtype,
                     short, uint8, uint16, uint32, uint64)
from . import autograd  # before .tensor: NOTE [import order] in autograd/__init__.py
from .tensor import (Tensor, channels_last, channels_last_3d, contiguous_format, device,
                     is_tensor, memory_format, preserve_format)
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                                 is_inference_mode_enabled, no_grad, set_grad_enabled)
from . import ops as _ops
from . import _records
from . import return_types
from .creation import (arange, as_tensor, asarray, empty, empty_like, eye, from_numpy, full,
                       full_like, linspace, logspace, meshgrid, ones, ones_like, range,
                       scalar_tensor, tensor, zeros, zeros_like)
from .random import (Generator, bernoulli, default_generator, get_rng_state, initial_seed,
                     manual_seed, multinomial, normal, rand, rand_like, randint, randint_like,
                     randn, randn_like, randperm, seed, set_rng_state)
from . import cuda, linalg, special  # noqa: E402
from .autograd.anomaly_mode import (is_anomaly_check_nan_enabled,  # noqa: E402
                                    is_anomaly_enabled)
from . import _threads  # noqa: E402
from ._threads import (get_num_interop_threads, get_num_threads,  # noqa: E402
                       set_num_interop_threads, set_num_threads)
from ._flags import (are_deterministic_algorithms_enabled,  # noqa: E402
                     get_deterministic_debug_mode, get_float32_matmul_precision,
                     is_deterministic_algorithms_warn_only_enabled,
                     set_deterministic_debug_mode, set_float32_matmul_precision,
                     use_deterministic_algorithms)
from ._legacy import (BFloat16Tensor, BoolTensor, ByteTensor, CharTensor,  # noqa: E402
                      DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor)
from .amp.autocast_mode import (autocast, autocast_decrement_nesting,  # noqa: E402
                                autocast_increment_nesting, clear_autocast_cache,
                                get_autocast_cpu_dtype, get_autocast_dtype,
                                get_autocast_gpu_dtype, get_autocast_ipu_dtype,
                                get_autocast_xla_dtype, is_autocast_cache_enabled,
                                is_autocast_cpu_enabled, is_autocast_enabled,
                                is_autocast_ipu_enabled, is_autocast_xla_enabled,
                                set_autocast_cache_enabled, set_autocast_cpu_dtype,
                                set_autocast_cpu_enabled, set_autocast_dtype,
                                set_autocast_enabled, set_autocast_gpu_dtype,
                                set_autocast_ipu_dtype, set_autocast_ipu_enabled,
                                set_autocast_xla_dtype, set_autocast_xla_enabled)

_threads.apply_default()  # NOTE [default BLAS threads] in _threads.py

# NOTE [op records] (_records.py): the ops' namespace is what their records declare
globals().update(_records.namespace("torch"))
from .ops._registry import publish_module as _publish_module  # noqa: E402

# the creation and random functions are published checked like the ops (ops/_checks.py): a
# wrong-typed size or input raises PyTorch's TypeError
_publish_module(globals(), ("arange", "as_tensor", "empty", "empty_like", "eye", "full",
                            "full_like", "linspace", "logspace", "ones", "ones_like", "zeros",
                            "zeros_like", "rand", "rand_like", "randint", "randint_like",
                            "randn", "randn_like", "randperm", "scalar_tensor", "meshgrid"),
                "torch", kind="factory")
_publish_module(globals(), ("tensor", "asarray", "from_numpy", "range"), "torch", checked=False,
                kind="factory")
_publish_module(globals(), [n for n in ("normal", "bernoulli", "multinomial", "poisson")
                            if n in globals() and n not in _records.namespace("torch")], "torch",
                checked=False, kind="factory")
_publish_module(vars(_sys.modules["ember.random"]), [
    n for n in _sys.modules["ember.random"].__all__
    if isinstance(vars(_sys.modules["ember.random"]).get(n), _FunctionType) and n not in (
        "get_rng_state", "set_rng_state", "manual_seed", "seed", "initial_seed", "fork_rng")],
    "random", checked=False, kind="factory")
# NOTE [one call path] (_modes.py): every published op reaches the active modes
_records.install("torch", _sys.modules[__name__])
_records.install("Tensor", Tensor, is_class=True)
_records.install("linalg", linalg)
_records.install("special", special)
_records.install("random", _sys.modules["ember.random"])

# NOTE: the training-side subpackages load on first use (PEP 562): together they are a sixth of
# ``import ember``, and a script that only differentiates never touches them.
_LAZY = {"nn": "nn", "optim": "optim", "utils": "utils", "func": "func",
         "serialization": "serialization", "backends": "backends", "accelerator": "accelerator",
         "testing": "testing", "onnx": "onnx", "amp": "amp", "version": "version",
         "_utils": "_utils", "profiler": "profiler", "compiler": "compiler",
         "_dynamo": "_dynamo", "distributed": "distributed",
         "distributions": "distributions"}


def __getattr__(name):
    if name == "vmap":  # torch.vmap, torch.func's vmap (ember/func.py loads on first use too)
        from ._vmap import vmap

        globals()["vmap"] = vmap
        return vmap
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'ember' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | {"vmap"})


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor",  # noqa: A001
            mode=None, options=None, disable=False):
    """``torch.compile``: trace a function or module once per signature and replay it as
    straight NumPy (``ember.compiler``; docs/compile.md)."""
    from .compiler import compile as _compile

    return _compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                    options=options, disable=disable)


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Save ``obj`` (tensors, state dicts, optimizer state) to ``f``, atomically: see
    ``ember.serialization.save``."""
    from .serialization import save as _save

    return _save(obj, f, pickle_module, pickle_protocol, _use_new_zipfile_serialization,
                 _disable_byteorder_record)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load what ``save`` wrote: see ``ember.serialization.load``."""
    from .serialization import load as _load

    return _load(f, map_location, pickle_module, weights_only=weights_only, mmap=mmap,
                 **pickle_load_args)


def install_as_torch():
    """Make ``import torch`` and every ``import torch.X`` give ember's modules (the same
    objects): see ``ember/_torch_alias.py``. ``ember run script.py`` does this for a script."""
    from ._torch_alias import install_as_torch as _install

    _install()


def result_type(tensor1, tensor2):
    """The dtype PyTorch's promotion gives for an op on the two operands."""
    return _dtypes.result_type(tensor1, tensor2)


def can_cast(from_, to):
    """Whether a cast from ``from_`` to ``to`` keeps the category (PyTorch's rule)."""
    return from_._category <= to._category


def numel(input):
    return input.numel()


def is_floating_point(input):
    return input.is_floating_point()


def is_complex(input):
    return input.is_complex()


def detach(input):
    return input.detach()


def set_default_device(device_):
    """Where factories put tensors when no ``device=`` is given (None or "cpu": the CPU)."""
    from .tensor import _DEFAULT_DEVICE, check_device, cuda_device, cuda_index
    from .tensor import device as _device

    if device_ is None:
        _DEFAULT_DEVICE[0] = None
        return
    if check_device(device_):
        raise NotImplementedError("ember: set_default_device('meta') is not supported; pass "
                                  "device='meta' to each factory")
    d = device_ if isinstance(device_, _device) else _device(device_)
    _DEFAULT_DEVICE[0] = cuda_device(cuda_index(d)) if d.type == "cuda" else None


def get_default_device():
    from .tensor import CPU, _DEFAULT_DEVICE

    return _DEFAULT_DEVICE[0] or CPU


def is_nonzero(input):
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins_bool(input.item())


builtins_bool = __builtins__["bool"] if isinstance(__builtins__, dict) else __builtins__.bool

strided = "torch.strided"
