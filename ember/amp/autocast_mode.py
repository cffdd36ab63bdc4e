"""``autocast``: mixed precision as PyTorch 2.13's; see ``ember.amp`` for the contract.

NOTE [autocast as a mode]: PyTorch applies autocast at the aten dispatcher: each listed op has
an autocast kernel that casts its floating arguments and calls the op with autocast excluded, so
the ops it is made of are not cast again; an unlisted op falls through. Here autocast is a
``Mode`` (ember/_modes.py, NOTE [one call path]) that is active while some device type's
autocast is enabled in the thread (none active: no cost). Its wrapper of a published op, given
the policy of the op for the device type of its tensor arguments (``_policy.lookup``), casts
through ``Tensor.to`` (so autograd records ``ToCopyBackward0``, and the gradient of a float32
leaf is float32) and runs the op with the thread's ``busy`` flag set: the published ops an
ember op calls inside itself are its implementation, not the user's calls, and are not cast
(PyTorch's exclusion). Ember's own internal names (space "internal") and the factories and
data-moving methods are left alone, as are calls with ``out=`` (PyTorch lists the functional
overloads only).

The state (enabled flag and dtype per device type, the cache flag, the nesting depth) is
thread-local, as PyTorch's. The cast cache (PyTorch's: the autocast-dtype copy of a float32
leaf that requires grad, reused for each use of the weight in the region) lives until the
outermost autocast region exits.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
import weakref

from .. import _modes
from .. import dtypes as _dt
from . import _policy

__all__ = ["autocast", "custom_fwd", "custom_bwd", "is_autocast_available",
           "is_autocast_enabled", "set_autocast_enabled", "get_autocast_dtype",
           "set_autocast_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
           "clear_autocast_cache", "autocast_increment_nesting", "autocast_decrement_nesting",
           "get_autocast_cpu_dtype", "get_autocast_gpu_dtype", "get_autocast_ipu_dtype",
           "get_autocast_xla_dtype", "is_autocast_cpu_enabled", "is_autocast_ipu_enabled",
           "is_autocast_xla_enabled", "set_autocast_cpu_dtype", "set_autocast_gpu_dtype",
           "set_autocast_ipu_dtype", "set_autocast_xla_dtype", "set_autocast_cpu_enabled",
           "set_autocast_ipu_enabled", "set_autocast_xla_enabled", "replay_state"]

# PyTorch's device type names (its device-string error lists them), the default autocast
# dtype of those that have one, and those that have autocast (hip has a dtype, not autocast)
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                 "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")
_DEFAULT_DTYPE = {"cpu": _dt.bfloat16, "cuda": _dt.float16, "hip": _dt.float16,
                  "xla": _dt.bfloat16, "xpu": _dt.float16, "mps": _dt.float16,
                  "hpu": _dt.bfloat16, "ipu": _dt.float16, "mtia": _dt.float16,
                  "maia": _dt.bfloat16, "privateuseone": _dt.float16}
_AUTOCAST_TYPES = ("cpu", "cuda", "xpu", "ipu", "hpu", "xla", "privateuseone", "mps", "mtia",
                   "maia")
_SUPPORTED = (_dt.bfloat16, _dt.float16)
# the floating dtypes autocast may cast (float64 is never cast: PyTorch's is_eligible)
_CASTABLE = (_dt.float32, _dt.float16, _dt.bfloat16)


class _State(threading.local):
    def __init__(self):
        self.enabled = {}  # device type -> bool
        self.dtype = dict(_DEFAULT_DTYPE)
        self.cache_enabled = True
        self.nesting = 0
        self.busy = False  # inside an op run by the mode: its inner ops are not cast
        self.entered = False  # whether the mode is on this thread's stack


_STATE = _State()


def _device_type(device_type, what="device_type"):
    """The device type named by ``device_type`` ("cuda:0" -> "cuda"), PyTorch's errors."""
    if not isinstance(device_type, str):
        raise TypeError(f"{what}(): argument 'device_type' (position 1) must be str, not "
                        f"{type(device_type).__name__}")
    kind = device_type.split(":", 1)[0]
    if kind not in _DEVICE_TYPES:
        raise RuntimeError(
            f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device "
            f"string: {device_type}")
    return kind


def _autocast_type(device_type, what):
    kind = _device_type(device_type, what)
    if kind not in _AUTOCAST_TYPES:
        raise RuntimeError("unknown device type for autocast in "
                           "get_autocast_dispatch_key_from_device_type")
    return kind


def _check_bool(value, what, position=2):
    if not isinstance(value, bool):
        raise TypeError(f"{what}(): argument 'enabled' (position {position}) must be bool, not "
                        f"{type(value).__name__}")


def _check_dtype(value, what):
    if not isinstance(value, _dt.dtype):
        raise TypeError(f"{what}(): argument 'dtype' (position 2) must be torch.dtype, not "
                        f"{type(value).__name__}")


# ---- the state -----------------------------------------------------------------------------

def is_autocast_available(device_type: str) -> bool:
    """Whether autocast exists for ``device_type``."""
    return _device_type(device_type, "_is_autocast_available") in _AUTOCAST_TYPES


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` in this thread (no argument: CUDA)."""
    kind = "cuda" if device_type is None else _autocast_type(device_type,
                                                               "is_autocast_enabled")
    return _STATE.enabled.get(kind, False)


def set_autocast_enabled(device_type, enabled=None) -> None:
    """Turn autocast on or off for ``device_type`` (one boolean argument: CUDA)."""
    if enabled is None:
        _check_bool(device_type, "set_autocast_enabled", 1)
        device_type, enabled = "cuda", device_type
    else:
        _check_bool(enabled, "set_autocast_enabled")
    _STATE.enabled[_autocast_type(device_type, "set_autocast_enabled")] = enabled
    _sync()


def get_autocast_dtype(device_type: str):
    """The dtype ``device_type``'s autocast casts to (bfloat16 on CPU, float16 on CUDA)."""
    dtype = _STATE.dtype.get(_device_type(device_type, "get_autocast_dtype"))
    if dtype is None:  # (PyTorch's Undefined scalar type)
        raise RuntimeError("unsupported scalarType")
    return dtype


def set_autocast_dtype(device_type: str, dtype) -> None:
    _check_dtype(dtype, "set_autocast_dtype")
    _STATE.dtype[_device_type(device_type, "set_autocast_dtype")] = dtype


def is_autocast_cache_enabled() -> bool:
    return _STATE.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    _check_bool(enabled, "set_autocast_cache_enabled", 1)
    _STATE.cache_enabled = enabled


def autocast_increment_nesting() -> int:
    _STATE.nesting += 1
    return _STATE.nesting


def autocast_decrement_nesting() -> int:
    _STATE.nesting -= 1
    return _STATE.nesting


_CACHE: dict = {}  # id(float32 leaf) -> (weak reference to it, its autocast-dtype copy)
_CACHE_LOCK = threading.Lock()


def clear_autocast_cache() -> None:
    """Drop the cached autocast-dtype copies of weights (done when the outermost region
    exits)."""
    with _CACHE_LOCK:
        _CACHE.clear()


# ---- PyTorch's deprecated per-device spellings -----------------------------------------------

def _deprecated(old, new):
    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.",
                  DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return is_autocast_enabled("cpu")


def is_autocast_ipu_enabled() -> bool:
    _deprecated("is_autocast_ipu_enabled()", "is_autocast_enabled('ipu')")
    return is_autocast_enabled("ipu")


def is_autocast_xla_enabled() -> bool:
    _deprecated("is_autocast_xla_enabled()", "is_autocast_enabled('xla')")
    return is_autocast_enabled("xla")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    _check_bool(enabled, "set_autocast_cpu_enabled", 1)
    set_autocast_enabled("cpu", enabled)


def set_autocast_ipu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_ipu_enabled(enabled)", "set_autocast_enabled('ipu', enabled)")
    _check_bool(enabled, "set_autocast_ipu_enabled", 1)
    set_autocast_enabled("ipu", enabled)


def set_autocast_xla_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_xla_enabled(enabled)", "set_autocast_enabled('xla', enabled)")
    _check_bool(enabled, "set_autocast_xla_enabled", 1)
    set_autocast_enabled("xla", enabled)


def get_autocast_cpu_dtype():
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def get_autocast_gpu_dtype():
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def get_autocast_ipu_dtype():
    _deprecated("get_autocast_ipu_dtype()", "get_autocast_dtype('ipu')")
    return get_autocast_dtype("ipu")


def get_autocast_xla_dtype():
    _deprecated("get_autocast_xla_dtype()", "get_autocast_dtype('xla')")
    return get_autocast_dtype("xla")


def set_autocast_cpu_dtype(dtype) -> None:
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def set_autocast_gpu_dtype(dtype) -> None:
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


def set_autocast_ipu_dtype(dtype) -> None:
    _deprecated("set_autocast_ipu_dtype(dtype)", "set_autocast_dtype('ipu', dtype)")
    set_autocast_dtype("ipu", dtype)


def set_autocast_xla_dtype(dtype) -> None:
    _deprecated("set_autocast_xla_dtype(dtype)", "set_autocast_dtype('xla', dtype)")
    set_autocast_dtype("xla", dtype)


# ---- the context manager ---------------------------------------------------------------------

def _cuda_available():
    from .. import cuda

    return cuda.is_available()


def _cuda_bf16():
    from .. import cuda

    return cuda.is_bf16_supported()


class autocast:
    """Run a region (or a decorated function) under automatic mixed precision: the listed
    ops cast their floating arguments to ``dtype`` (matmuls, convolutions) or to float32
    (losses, reductions, linear algebra) as PyTorch's autocast."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self.device = device_type
        if not is_autocast_available(device_type):
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}'")
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None \
            else cache_enabled
        if enabled:
            if device_type == "cuda":
                if not _cuda_available():
                    warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                                  "autocast.", UserWarning, stacklevel=2)
                    enabled = False
                elif self.fast_dtype is _dt.bfloat16 and not _cuda_bf16():
                    raise RuntimeError("Current CUDA Device does not support bfloat16. Please "
                                       "switch dtype to float16.")
            elif self.fast_dtype not in _SUPPORTED:
                name = device_type.upper()
                warnings.warn(
                    f"In {name} autocast, but the target dtype is not supported. Disabling "
                    f"autocast.\n{name} Autocast only supports dtypes of torch.bfloat16, "
                    "torch.float16 currently.", UserWarning, stacklevel=2)
                enabled = False
        self._enabled = enabled

    def __enter__(self):
        self.prev_cache_enabled = is_autocast_cache_enabled()
        self.prev = is_autocast_enabled(self.device)
        self.prev_fastdtype = get_autocast_dtype(self.device)
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type, exc, tb):
        if autocast_decrement_nesting() == 0:
            clear_autocast_cache()
        set_autocast_enabled(self.device, self.prev)
        set_autocast_dtype(self.device, self.prev_fastdtype)
        set_autocast_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                "Did you mean to use autocast as a context manager? For example:\n"
                "    with torch.autocast(device_type=...):\n"
                "        output = model(input)")

        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return decorate_autocast


def replay_state():
    """The thread's autocast state now (CPU and CUDA: enabled, dtype, cache flag), as a
    callable giving a context manager that re-enters it: what ``utils.checkpoint`` runs its
    recomputation under, as PyTorch's (a region recomputed in backward, outside the autocast
    region, must cast as its forward did)."""
    kwargs = {kind: {"enabled": is_autocast_enabled(kind), "dtype": get_autocast_dtype(kind),
                     "cache_enabled": is_autocast_cache_enabled()} for kind in ("cuda", "cpu")}

    def enter():
        stack = contextlib.ExitStack()
        for kind, options in kwargs.items():
            stack.enter_context(autocast(kind, **options))
        return stack

    return enter


# ---- custom Functions ------------------------------------------------------------------------

def _cast(value, device_type, dtype):
    """``value`` with its floating tensors of ``device_type`` (not float64) cast to ``dtype``,
    through tuples, lists and dicts."""
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        eligible = value.is_floating_point() and value.device.type == device_type and \
            value.dtype is not _dt.float64
        return value.to(dtype) if eligible else value
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, dict):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, device_type, dtype) for v in value)
    return value


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorate a custom Function's ``forward``: with ``cast_inputs``, inside an autocast
    region of ``device_type`` its floating tensor arguments are cast to that dtype and it runs
    with autocast off; without, it runs under the region's autocast state."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            ctx._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        on = is_autocast_enabled(device_type)
        ctx._fwd_used_autocast = False
        if not on:
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return fwd(*_cast(args, device_type, cast_inputs),
                       **_cast(kwargs, device_type, cast_inputs))

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorate a custom Function's ``backward``: it runs under the autocast state its
    ``forward`` ran under."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type=device_type, enabled=ctx._fwd_used_autocast,
                      dtype=ctx._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd


# ---- the mode ------------------------------------------------------------------------------

def _sync():
    """Enter the mode when some device type's autocast is on in this thread, leave it when
    none is (NOTE [autocast as a mode])."""
    st = _STATE
    want = any(st.enabled.values())
    if want and not st.entered:
        _modes.enter(_MODE)
        st.entered = True
    elif not want and st.entered:
        _modes.exit(_MODE)
        st.entered = False


def _tensor_device(args, kwargs):
    """The device type autocast keys an op on: CUDA if any tensor argument is on CUDA (its
    dispatch key wins in PyTorch), else the first tensor's; None without tensors."""
    from ..tensor import Tensor

    found = None
    for value in (*args, *kwargs.values()):
        items = value if isinstance(value, (list, tuple)) else (value,)
        for v in items:
            if isinstance(v, Tensor):
                kind = v.device.type
                if kind == "cuda":
                    return kind
                if found is None:
                    found = kind
    return found


def _eligible(v, device_type):
    from ..tensor import Tensor

    return isinstance(v, Tensor) and v.dtype in _CASTABLE and v.device.type == device_type


def _cached_cast(v, dtype, device_type):
    """``v.to(dtype)``; a float32 leaf weight's copy to the autocast dtype is cached for the
    region (as PyTorch's: every use of the weight shares one cast)."""
    if v.dtype is dtype:
        return v
    st = _STATE
    if dtype is st.dtype.get(device_type) and v.dtype is _dt.float32 and v.requires_grad and \
            v.is_leaf and not v._is_view() and st.cache_enabled:
        with _CACHE_LOCK:
            got = _CACHE.get(id(v))
            if got is not None and got[0]() is v:
                return got[1]
        out = v.to(dtype)
        with _CACHE_LOCK:
            _CACHE[id(v)] = (weakref.ref(v), out)
        return out
    return v.to(dtype)


def _cast_all(value, dtype, device_type):
    if _eligible(value, device_type):
        return _cached_cast(value, dtype, device_type)
    if isinstance(value, (list, tuple)) and any(_eligible(v, device_type) for v in value):
        cast = [_cached_cast(v, dtype, device_type) if _eligible(v, device_type) else v
                for v in value]
        return cast if isinstance(value, list) else tuple(cast)
    return value


def _promote_type(args, kwargs, device_type):
    """PyTorch's autocast promotion: float32 if any eligible argument is float32, else the
    autocast dtype; float64 arguments are ignored; another half type is an error."""
    low = _STATE.dtype[device_type]
    current = low
    for value in (*args, *kwargs.values()):
        for v in (value if isinstance(value, (list, tuple)) else (value,)):
            if not _eligible(v, device_type):
                continue
            if current is _dt.float32 or v.dtype is _dt.float32:
                current = _dt.float32
            elif v.dtype is not low:
                raise RuntimeError("Unexpected floating ScalarType in "
                                   "at::autocast::prioritize")
    return current


def _has_dtype(args, kwargs):
    return kwargs.get("dtype") is not None or any(isinstance(a, _dt.dtype) for a in args)


def _run(policy, device_type, fn, args, kwargs):
    """Call ``fn`` under ``policy`` (ember/amp/_policy.py) for ``device_type``."""
    if callable(policy):
        policy = policy(args, kwargs)
        if policy is None:
            return fn(*args, **kwargs)
    if policy == _policy.LOWER or policy == _policy.FP32 or policy == _policy.PROMOTE:
        if policy == _policy.LOWER:
            to = _STATE.dtype[device_type]
        elif policy == _policy.FP32:
            to = _dt.float32
        else:
            to = _promote_type(args, kwargs, device_type)
        args = [_cast_all(a, to, device_type) for a in args]
        kwargs = {k: _cast_all(v, to, device_type) for k, v in kwargs.items()}
        return fn(*args, **kwargs)
    if policy == _policy.LOWER_INNER:
        # bilinear: PyTorch's kernel multiplies the inputs and weight with an autocast bmm into
        # a result of the first input's dtype, then adds the bias as it is
        names = ("input1", "input2", "weight", "bias")
        values = [_policy._arg(args, kwargs, i, n) for i, n in enumerate(names)]
        low = _STATE.dtype[device_type]
        out = fn(*(_cast_all(v, low, device_type) for v in values[:3]))
        first = values[0]
        if _eligible(first, device_type) and _eligible(out, device_type) and \
                out.dtype is not first.dtype:
            out = out.to(first.dtype)
        return out if values[3] is None else out + values[3]
    if policy == _policy.FP32_OPT_DTYPE:
        first = args[0] if args else next(iter(kwargs.values()), None)
        if _eligible(first, device_type) and not _has_dtype(args, kwargs):
            kwargs = {**kwargs, "dtype": _dt.float32}
        return fn(*args, **kwargs)
    if policy == _policy.LOWER_OUT or policy == _policy.FP32_LOWER_OUT:
        if policy == _policy.FP32_LOWER_OUT:
            args = [_cast_all(a, _dt.float32, device_type) for a in args]
            kwargs = {k: _cast_all(v, _dt.float32, device_type) for k, v in kwargs.items()}
        out = fn(*args, **kwargs)
        return out.to(_STATE.dtype[device_type]) if _eligible(out, device_type) else out
    if policy == _policy.BANNED:
        raise RuntimeError(_policy.BANNED_BCE)
    raise AssertionError(f"unknown autocast policy {policy!r}")


def lstm_layer_arguments(x, h, c, weights):
    """An LSTM layer's input, states and weights (``(w_ih, w_hh, b_ih, b_hh, w_hr)``), cast
    to the autocast dtype when CPU autocast is on: PyTorch runs an LSTM layer without
    projection on the CPU as ``aten::mkldnn_rnn_layer``, in its lower-precision list, so the
    whole layer (outputs and final states) is in the autocast dtype."""
    st = _STATE
    if st.busy or not st.enabled.get("cpu") or not _eligible(x, "cpu"):
        return x, h, c, weights
    low = st.dtype["cpu"]
    x, h, c = (_cast_all(v, low, "cpu") for v in (x, h, c))
    return x, h, c, tuple(_cast_all(v, low, "cpu") for v in weights)


_WRAPPED: dict = {}  # (key, implementation) -> its autocast wrapper


def _wrap(key, fn):
    policies = {}
    for kind in ("cpu", "cuda"):
        policy = _policy.lookup(kind, key.space, key.name)
        if policy is not None:
            policies[kind] = policy
    state = _STATE

    def autocast_op(*args, **kwargs):
        if state.busy:
            return fn(*args, **kwargs)
        state.busy = True
        try:
            if policies and kwargs.get("out") is None:
                kind = _tensor_device(args, kwargs)
                policy = policies.get(kind)
                if policy is not None and state.enabled.get(kind):
                    return _run(policy, kind, fn, args, kwargs)
            return fn(*args, **kwargs)
        finally:
            state.busy = False

    functools.update_wrapper(autocast_op, fn)
    return autocast_op


class _AutocastMode(_modes.Mode):
    """Casts the arguments of the published ops as PyTorch's autocast (NOTE [autocast as a
    mode]); thread-local, as PyTorch's autocast state."""

    thread_local = True

    def wrap(self, key, fn):
        rec = key.record
        if rec is None or rec.kind != "op" or key.space in ("internal", "random"):
            return fn
        got = _WRAPPED.get((key, fn))
        if got is None:
            got = _WRAPPED[(key, fn)] = _wrap(key, fn)
        return got


_MODE = _AutocastMode()
