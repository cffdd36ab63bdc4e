"""Tensor: one NumPy array plus autograd metadata. No math here: operators call the op table.

Contract:
- ``_data`` is the array (its dtype is the tensor's dtype; views share memory with their base).
- ``_requires_grad``, ``_grad_fn`` and ``_output_nr`` place the tensor in the graph; a leaf that
  requires grad ends its paths in ``_acc`` (its AccumulateGrad, created on first use).
- ``_vc`` is the version counter, a one-element list shared by a tensor, its views and its
  detached aliases; in-place ops bump it. Inference tensors have ``_vc = None``.
- ``_view`` is None, or a :class:`ViewInfo` when the tensor is an autograd view of ``base``:
  see NOTE [views and in-place] in ops/inplace.py.
- ``_grad`` is ``.grad``; ``_extra`` holds rarely used state (retain_grad, hooks, names).
- ``Tensor._make`` is the cheap constructor; ``wrap(array)`` the op call path's no-grad result
  (the ops import it from ops/_registry.py, with the graph's ``edge`` from autograd/graph.py).
"""

from __future__ import annotations

import warnings

import numpy as np

from . import dtypes as _dt
from ._meta import MetaArray
from ._size import Size
from .autograd.grad_mode import STATE

_FLOAT_OF_GRAD = (
    "Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
    "Consider using tensor.detach() first. (Triggered internally at "
    "/__w/pytorch/pytorch/torch/csrc/autograd/generated/python_variable_methods.cpp:822.)")

__all__ = ["Tensor", "ViewInfo", "device", "check_savable"]

_new = object.__new__

INFERENCE_SAVE_MESSAGE = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
    "`torch.inference_mode()`.")

NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If "
    "you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. "
    "See github.com/pytorch/pytorch/pull/30531 for more information.")


class device:
    """Where a tensor lives: ``cpu`` (NumPy arrays), ``cuda``/``cuda:N`` (CuPy arrays, NOTE
    [devices]) or ``meta`` (no data, NOTE [meta tensors] in _meta.py)."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):  # noqa: A002 - PyTorch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type  # (PyTorch: a bare index is the current accelerator)
        if ":" in type:
            type, _, idx = type.partition(":")
            index = int(idx)
        if type not in ("cpu", "cuda", "meta", "mps"):
            raise RuntimeError(
                "Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, "
                f"fpga, maia, xla, lazy, vulkan, mps, meta, hpu, mtia, privateuseone device "
                f"type at start of device string: {type}")
        self.type = type
        self.index = index

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")
META = device("meta")
_CUDA_DEVICES: dict = {}  # index -> device("cuda", index)
_DEFAULT_DEVICE = [None]  # set_default_device's: None (the CPU) or a cuda device

# NOTE [devices]: a tensor's device is its array's type: a NumPy array is on the CPU, a
# MetaArray on meta, any other array on the device its backend (ember/backend) says — a
# ``cupy.ndarray`` (or the device checker's CheckedArray, backend/checked.py) on ``cuda:N``.
# Nothing else records it, so views, ops and autograd keep it for free: an op computes with
# NumPy's API and NumPy hands device arrays to their library (NOTE [array namespaces]).
# Crossing devices is explicit: ``Tensor.to``/``cuda``/``cpu`` (recorded as ToCopyBackward0,
# so gradients cross back) and the ``device=`` of factories (``on_device``); an op given
# tensors of two devices raises PyTorch's "Expected all tensors to be on the same device"
# (``same_device_error``; the dispatcher diagnoses the library's refusal, NOTE [one call
# path] in _modes.py), except that a 0-d CPU tensor joins a CUDA op as PyTorch allows.


def check_device(dev):
    """Check a ``device=`` argument: True for meta (the caller makes a meta tensor, NOTE [meta
    tensors] in _meta.py); False for cpu and cuda (cuda data goes through ``on_device``, and
    here CUDA must be available); anything else gets a clear error."""
    if dev is None:
        return False
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "meta":
        return True
    if d.type == "cuda":
        cuda_index(d)
        return False
    if d.type != "cpu":
        raise RuntimeError(
            f"ember has no {d.type} backend: its devices are 'cpu' (NumPy), 'cuda' (CuPy) "
            "and 'meta'.")
    return False


def cuda_index(d) -> int:
    """The index of the CUDA device ``d`` (its current device when it names none); raises
    when CUDA is unavailable or the index is out of range."""
    from . import cuda

    if cuda._backend() is None:
        raise cuda.placement_error()
    return cuda._index(d)


def cuda_device(index) -> device:
    d = _CUDA_DEVICES.get(index)
    if d is None:
        d = _CUDA_DEVICES[index] = device("cuda", index)
    return d


def on_device(data, dev):
    """``data`` (a host array) placed on ``dev``: itself for None and cpu, a device copy for
    cuda (NOTE [devices]); meta is the caller's (``check_device``)."""
    if dev is None:
        return data
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cuda":
        return to_host(data) if d.type == "cpu" else data
    i = cuda_index(d)
    if _dt.is_bfloat16(data.dtype):
        raise no_bfloat16_on_cuda()
    from . import cuda

    return cuda._backend().to_device(data, i)


def no_bfloat16_on_cuda() -> TypeError:
    """CuPy has no bfloat16 arrays, so ember's CUDA tensors cannot be bfloat16."""
    return TypeError("ember: CuPy has no bfloat16 dtype, so a CUDA tensor cannot be bfloat16 "
                     "(PyTorch's can): keep bfloat16 tensors on the CPU, or use float16 on "
                     "CUDA (autocast('cuda') defaults to float16)")


def device_of(data) -> device:
    """The device of an array (NOTE [devices])."""
    t = type(data)
    if t is np.ndarray:
        return CPU
    if t is MetaArray:
        return META
    from . import backend

    b = backend.of(data)
    if b.device_type == "cpu":
        return CPU
    return cuda_device(b.index(data)) if b.device_type == "cuda" else device(b.device_type)


def meta_of(a) -> tuple:
    """A graph node's metadata of an output array ``a``: ``(shape, dtype)``, and the device
    when it is not the CPU (``ops/_registry.meta_zeros`` makes zeros from it)."""
    return (a.shape, a.dtype) if type(a) is np.ndarray else (a.shape, a.dtype, device_of(a))


def writeable(a) -> bool:
    """Whether an op may write into array ``a``: NumPy's flag (its broadcast views are
    read-only); a device library has no flag (CuPy's arrays are all writeable), so there no
    element may be shared, no zero stride over a dim of size > 1 (an ``expand``)."""
    if isinstance(a, np.ndarray):
        return a.flags.writeable
    return all(st or n <= 1 for st, n in zip(a.strides, a.shape))


def zeros_as(ref, shape=None, dtype=None, order="C"):
    """Zeros on the device of the array ``ref`` (its shape and dtype unless given). On the
    CPU it is ``np.zeros`` (calloc: pages are zeroed on first touch, and no Python-level
    dispatch), elsewhere ``np.zeros_like``, which NumPy hands to ``ref``'s library."""
    if type(ref) is np.ndarray:
        return np.zeros(ref.shape if shape is None else shape,
                        ref.dtype if dtype is None else dtype, order="F" if order == "F" else "C")
    return np.zeros_like(ref, shape=shape, dtype=dtype, order=order)


def to_host(data):
    """A NumPy array with ``data``'s values (``data`` itself when it is one)."""
    if isinstance(data, np.ndarray):
        return data
    from . import backend

    return backend.of(data).to_host(data)


def same_device_error(first, second) -> RuntimeError:
    return RuntimeError("Expected all tensors to be on the same device, but found at least two "
                        f"devices, {first} and {second}!")


class ViewInfo:
    """How an autograd view was made from its base: ``replay(base_array)`` rebuilds it.

    ``steps`` is a tuple of ``(fn, args)`` applied in order to the base array; ``version`` is
    the version counter value at which the view's ``grad_fn`` was last known to be current.
    """

    __slots__ = ("base", "steps", "version", "multi")

    def __init__(self, base, steps, version):
        self.base = base
        self.steps = steps
        self.version = version
        self.multi = None  # name of the op when it is one of several views (split, unbind)

    def replay(self, array):
        for fn, args in self.steps:
            array = fn(array, *args)
        return array


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory layout (``ember.contiguous_format``...): accepted wherever PyTorch takes one;
    ember's tensors are NumPy arrays, so layouts other than the array's own are not kept."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (memory_format, (self.name,))


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


class _Extra:
    """Rarely used per-tensor state, allocated on first use."""

    __slots__ = ("retains_grad", "hooks", "post_acc_hooks", "name", "is_param", "tangents",
                 "is_zero", "pinned")

    def __init__(self):
        self.tangents = None  # forward-mode AD: level -> tangent (autograd/forward_ad.py)
        self.is_zero = False  # a gradient known to be zero (NOTE [zero gradients], engine.py)
        self.retains_grad = False
        self.hooks = None
        self.post_acc_hooks = None
        self.name = None
        self.is_param = False
        self.pinned = False  # page-locked host memory (Tensor.pin_memory)


def check_savable(t):
    if t._vc is None:
        raise RuntimeError(INFERENCE_SAVE_MESSAGE)


def _no_complex_parts(t, part):
    if t._data.dtype.kind == "c":
        raise NotImplementedError(
            f"ember: Tensor.{part} of a complex tensor is not implemented yet (it is a view "
            "into the complex storage, which ember does not have)")


class Tensor:
    """A multi-dimensional array that records operations for automatic differentiation.

    >>> x = ember.tensor([1., 2.], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = ("_data", "_requires_grad", "_grad_fn", "_output_nr", "_vc", "_view", "_grad",
                 "_acc", "_extra", "__weakref__")

    # NumPy, as with PyTorch's tensors: no ``__array_ufunc__``, so ufuncs (``np.sin(t)``, and
    # ``t + ndarray`` through the array's reflected operator) run on ``__array__`` and wrap
    # their result with ``__array_wrap__``; the priority makes ``ndarray + t`` defer to the
    # tensor's operators first (NOTE [ndarray operands] in ops/operators.py).
    __array_priority__ = 1000

    def __init__(self, *args, **kwargs):
        # Legacy constructor, as torch.Tensor: Tensor(2, 3) is uninitialised float, Tensor(list)
        # copies data into the default dtype.
        from .creation import _legacy_tensor

        t = _legacy_tensor(*args, **kwargs)
        self._data = t._data
        self._requires_grad = False
        self._grad_fn = None
        self._output_nr = 0
        self._vc = [0]
        self._view = None
        self._grad = None
        self._acc = None
        self._extra = None

    @staticmethod
    def _make(data, requires_grad=False, grad_fn=None, vc=None):
        """Wrap an ndarray without copying: the constructor every op uses."""
        t = _new(Tensor)
        t._data = data
        t._requires_grad = requires_grad
        t._grad_fn = grad_fn
        t._output_nr = 0
        t._vc = [0] if vc is None else vc
        t._view = None
        t._grad = None
        t._acc = None
        t._extra = None
        return t

    # ---- metadata ---------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_np(self._data.dtype)

    @property
    def device(self) -> device:
        t = type(self._data)
        if t is np.ndarray:
            return CPU
        return META if t is MetaArray else device_of(self._data)

    def get_device(self) -> int:
        """The CUDA device index, or -1 on the CPU."""
        d = self.device
        return d.index if d.type == "cuda" else -1

    @property
    def is_meta(self) -> bool:
        return type(self._data) is MetaArray

    @property
    def is_cuda(self) -> bool:
        t = type(self._data)
        return t is not np.ndarray and t is not MetaArray and self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    @property
    def layout(self):
        return "torch.strided"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def stride(self, dim=None):
        item = self._data.itemsize
        strides = tuple(s // item for s in self._data.strides)
        return strides if dim is None else strides[_wrap_dim(dim, self._data.ndim)]

    def is_contiguous(self, memory_format=None) -> bool:
        return self._data.flags.c_contiguous

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f" or _dt.is_bfloat16(self._data.dtype)

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    # ---- real / imag: real dtypes as PyTorch (complex views come with complex autograd) ----
    @property
    def real(self):
        """The tensor itself for a real dtype (PyTorch returns ``self``, not a view)."""
        _no_complex_parts(self, "real")
        return self

    @real.setter
    def real(self, value):
        _no_complex_parts(self, "real")
        if not isinstance(value, (Tensor, int, float)):  # (bool is an int)
            from .ops._checks import type_name

            raise TypeError(f"can't assign a {type_name(value)} to a {self.type()}")
        self.copy_(value)

    @property
    def imag(self):
        _no_complex_parts(self, "imag")
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")

    @imag.setter
    def imag(self, value):
        self.imag  # noqa: B018 - raises PyTorch's error

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    def data_ptr(self) -> int:
        if not self._data.size:
            return 0
        if isinstance(self._data, np.ndarray):
            return self._data.__array_interface__["data"][0]
        from . import backend

        return backend.of(self._data).data_ptr(self._data)

    def is_inference(self) -> bool:
        return self._vc is None

    @property
    def _version(self) -> int:
        if self._vc is None:
            raise RuntimeError("Inference tensors do not track version counter.")
        return self._vc[0]

    def _is_view(self) -> bool:
        return self._view is not None

    @property
    def _base(self):
        return self._view.base if self._view is not None else None

    @property
    def name(self):
        return self._extra.name if self._extra is not None else None

    # ---- autograd flags ---------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        if self._view is not None and not self._requires_grad:
            # a view whose base was since changed in place by an op that requires grad
            from .ops._registry import view_requires_grad

            return view_requires_grad(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self._set_requires_grad(value, "setter")

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place (only on leaves) and return self."""
        self._set_requires_grad(requires_grad, "method")
        return self

    def _set_requires_grad(self, value, how):
        """``how`` is "setter", "method" or "factory": PyTorch words each error differently."""
        value = bool(value)
        if self._grad_fn is not None:
            if value and how == "method":
                return
            if value:
                raise RuntimeError("you can only change requires_grad flags of leaf variables.")
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if value and self._data.dtype.kind not in "fc" and not _dt.is_bfloat16(self._data.dtype):
            if how == "method":
                raise RuntimeError("only Tensors of floating point dtype can require gradients")
            raise RuntimeError(
                f"{'O' if how == 'factory' else 'o'}nly Tensors of floating point and complex "
                "dtype can require gradients")
        if value and self._vc is None and not STATE.inference:
            raise RuntimeError(
                "Setting requires_grad=True on inference tensor outside InferenceMode is not "
                "allowed.")
        self._requires_grad = value

    @property
    def is_leaf(self) -> bool:
        if self._view is not None:
            return self.grad_fn is None  # (a view whose base changed in place may raise)
        return self._grad_fn is None

    @property
    def grad_fn(self):
        if self._view is not None:
            from .ops.inplace import current_view_grad_fn

            return current_view_grad_fn(self)
        return self._grad_fn

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def grad(self):
        if self._grad_fn is not None and not (self._extra is not None and self._extra.retains_grad):
            warnings.warn(NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value._data.shape)}' to a "
                    f"tensor of size '{list(self._data.shape)}'. Please ensure that the gradient "
                    "and the tensor are the same size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype.cpp_name}' "
                    f"to a tensor with grad_dtype '{self.dtype.scalar_name}'. The gradient must "
                    "match the tensor's grad_dtype (defaults to the tensor's dtype). You can set "
                    "the tensor's grad_dtype attribute with a specific dtype, or None to allow "
                    "any dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor "
                    "and its gradient may break downstream systems that assume they match.")
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._extra is not None and self._extra.retains_grad

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor during backward (no-op on leaves)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self.retains_grad:
            return
        self._get_extra().retains_grad = True
        from .autograd.hooks import add_retain_grad

        add_retain_grad(self)

    def _get_extra(self) -> _Extra:
        if self._extra is None:
            self._extra = _Extra()
        return self._extra

    def register_hook(self, hook):
        """Register ``hook(grad) -> Tensor or None`` to run when this tensor's gradient is
        computed; returns a handle whose ``remove()`` unregisters it."""
        from .autograd.hooks import register_tensor_hook

        return register_tensor_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        from .autograd.hooks import register_post_accumulate_grad_hook

        return register_post_accumulate_grad_hook(self, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate the gradient of this tensor into the ``.grad`` of the graph's leaves."""
        from .autograd import backward  # (here: autograd imports this module, NOTE [import order])

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ---- detaching, data --------------------------------------------------------------------
    def detach(self):
        """A tensor sharing this one's data and version counter, outside any graph."""
        t = Tensor._make(self._data, False, None, self._vc)
        if self._vc is None:  # (a detached inference tensor is one)
            t._vc = None
        return t

    def detach_(self):
        """Detach in place: this tensor becomes a leaf that does not require grad."""
        if self._view is not None and self._grad_fn is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set "
                "as True, gradients are views of DDP buckets, and hence detach_() cannot be "
                "called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self._grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        self._view = None
        return self

    @property
    def data(self):
        """The same memory outside autograd, with its own version counter (as PyTorch's, so
        changes through ``.data`` are not detected by saved-tensor checks)."""
        return Tensor._make(self._data, False, None)

    @data.setter
    def data(self, value):
        self._data = value._data
        self._acc = None

    # ---- conversions ------------------------------------------------------------------------
    def numpy(self, *, force=False) -> np.ndarray:
        """The underlying array (shared memory). Refuses on a tensor that requires grad while
        grad mode is on (a custom Function's forward, under no_grad, may convert its inputs)."""
        if type(self._data) is not np.ndarray and (type(self._data) is MetaArray or not
                                                   isinstance(self._data, np.ndarray)):
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        if self._requires_grad and STATE.enabled and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead.")
        if _dt.is_bfloat16(self._data.dtype):
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad and STATE.enabled:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead.")
        a = self.numpy()
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __array_wrap__(self, array, context=None, return_scalar=False):
        """A NumPy ufunc's result on tensors, as a tensor sharing its memory (0-d too); as
        PyTorch's, a bool result becomes uint8."""
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        return Tensor._make(np.asarray(array))

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        v = self._data.reshape(()).item()
        if _dt.is_bfloat16(self._data.dtype):
            v = float(v)
        return v

    def tolist(self):
        if _dt.is_bfloat16(self._data.dtype):
            return self._data.astype(np.float32).tolist()
        return self._data.tolist()

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self):
        if type(self._data) is MetaArray:
            raise RuntimeError("Tensor.item() cannot be called on meta tensors")
        if self._data.size != 1:
            if self._data.size == 0:
                raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(()))

    def __float__(self):
        if self._requires_grad:
            # NOTE: PyTorch's once-per-process warning (float() only; int(), item() are quiet)
            from ._warn import warn_once

            warn_once(_FLOAT_OF_GRAD)
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self._data.reshape(()))

    def __hash__(self):
        return id(self)

    def __format__(self, spec):
        # as PyTorch: a 0-d tensor formats as its number (``f"{t}"`` is ``3.0``); any other
        # takes only the empty spec (``str(t)``), else object's TypeError naming Tensor
        if self._data.ndim == 0 and type(self._data) is not MetaArray:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self, *, tensor_contents=None):
        from ._printing import tensor_repr

        return tensor_repr(self, tensor_contents=tensor_contents)

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        if self._grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment.  If you were attempting to deepcopy a module, "
                "this may be because of a torch.nn.utils.weight_norm usage, see "
                "https://github.com/pytorch/pytorch/pull/103001")
        t = Tensor._make(self._data.copy(), self._requires_grad)
        if self._grad is not None:
            t._grad = Tensor._make(self._grad._data.copy())
        memo[id(self)] = t
        return t

    def cpu(self, memory_format=None):
        """This tensor on the CPU (itself when it is there; a recorded copy otherwise)."""
        if type(self._data) is np.ndarray:
            return self
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        """This tensor on CUDA device ``device`` (the current one by default)."""
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(cuda_device(cuda_index(device)), non_blocking=non_blocking)

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """Without arguments, PyTorch's legacy type name (``'torch.FloatTensor'``); with a
        dtype, a legacy class (``ember.LongTensor``) or its name, the tensor converted to it."""
        if dtype is None:
            from .autograd.graph import legacy_type_name

            return legacy_type_name(self._data)
        from ._legacy import BY_NAME

        if isinstance(dtype, str):
            if dtype not in BY_NAME:
                raise ValueError(f"invalid type: '{dtype}'")
            dtype = BY_NAME[dtype]
        if dtype is Tensor:  # the legacy default tensor type
            return self.to(_dt.get_default_dtype())
        return self.to(getattr(dtype, "dtype", dtype))

    def pin_memory(self, device=None):
        """A copy in page-locked host memory, for fast copies to CUDA (needs CUDA: PyTorch's
        error on a machine without an accelerator)."""
        if device is not None and (device if isinstance(device, str) else str(device)) == "cpu":
            raise RuntimeError("CPU device type not an accelerator.")
        from . import cuda

        if not cuda.is_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        if type(self._data) is not np.ndarray:
            raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be "
                               "pinned")
        if self.is_pinned():
            return self
        t = self.clone()
        t._get_extra().pinned = True
        return t

    def is_pinned(self, device=None):
        return self._extra is not None and self._extra.pinned


def _rebuild(data, requires_grad):
    return Tensor._make(data, requires_grad)


def _wrap_dim(dim, ndim):
    """A dimension index in ``range(ndim)`` (negative counts from the end); PyTorch's errors."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


def typename(obj) -> str:
    """PyTorch's ``torch.typename``: what error messages call an object's type
    (``torch.FloatTensor`` for a tensor, the qualified class name otherwise)."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = type(obj).__module__ or ""
        qualname = type(obj).__qualname__
    if module in ("", "builtins"):
        return qualname
    return module + "." + qualname


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


_ndarray = np.ndarray


def as_array(data):
    """``data`` as an array a tensor can hold: an array of any backend stays itself (NumPy's
    scalars and Python numbers become 0-d NumPy arrays)."""
    if isinstance(data, (np.ndarray, np.generic, int, float, complex, bool, list, tuple)):
        return np.asanyarray(data)
    from .backend import _backend_of

    return data if _backend_of(data) is not None else np.asanyarray(data)


def wrap(data) -> Tensor:
    """The no-grad result of an op: a tensor around ``data`` (an inference tensor in
    inference mode)."""
    if type(data) is not _ndarray:
        # NOTE: NumPy returns scalars from 0-d ufuncs and reductions; tensors hold arrays
        # (asanyarray: a meta tensor's MetaArray stays one, NOTE [meta tensors] in _meta.py;
        # a device array stays itself, NOTE [devices]).
        data = as_array(data)
    # NOTE: Tensor._make inlined: this is the hottest constructor call in ember.
    t = _new(Tensor)
    t._data = data
    t._requires_grad = False
    t._grad_fn = None
    t._output_nr = 0
    t._vc = None if STATE.inference else [0]
    t._view = None
    t._grad = None
    t._acc = None
    t._extra = None
    return t
