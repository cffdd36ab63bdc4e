"""Module's dtype and device moves: ``_apply`` and what is built on it (``to``, ``to_empty``,
``float``/``double``/``half``/``bfloat16``, ``type``, ``cpu``, ``cuda``) and the no-op
``share_memory``.

Contract: PyTorch's ``torch.nn.Module``: conversions change floating-point (and, for ``to``,
complex) parameters and buffers and return the module; a Parameter keeps its identity (optimizers
hold it) and only its data (and its grad's) is replaced; ``to`` accepts PyTorch's argument forms
and errors; devices are cpu, cuda (NOTE [devices] in tensor.py; the gradients move with their
parameters) and meta. The functions
here are ``Module``'s methods: module.py binds them in the class body and gives them the names
they had there (``Module.<name>``, module ``ember.nn.modules.module``).
"""

from __future__ import annotations

from ... import dtypes as _dt
from ...autograd.grad_mode import no_grad
from ...creation import empty_like
from ...tensor import Tensor, check_device
from ...tensor import device as _Device
from ..parameter import is_lazy


def _apply(self, fn, recurse=True):
    if recurse:
        for module in self.children():
            module._apply(fn)
    for param in self._parameters.values():
        if param is None:
            continue
        with no_grad():
            new = fn(param)
        # the Parameter object stays the same (optimizers hold it); its data changes
        param._data = new._data
        if param._grad is not None:
            with no_grad():
                param._grad._data = fn(param._grad)._data
    for key, buf in self._buffers.items():
        if buf is None:
            continue
        if is_lazy(buf):
            # a placeholder stays one (the lazy module materialises it on its first call),
            # on the new device and dtype
            buf._data = fn(buf)._data
        else:
            self._buffers[key] = fn(buf)
    return self


def to(self, *args, **kwargs):
    """Convert floating-point parameters and buffers to a dtype; devices: cpu, or meta
    (parameters keep their identity and lose their data, the ensembling recipe's
    stateless base model).

    Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` and the
    ``device=``/``dtype=``/``non_blocking=`` keywords, as PyTorch."""
    device = kwargs.get("device")
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, _dt.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, (str, _Device, int)) and not isinstance(a, bool):
            device = a
    if dtype is not None and not (dtype.is_floating_point or dtype.is_complex):
        raise TypeError("nn.Module.to only accepts floating point or complex dtypes, but "
                        f"got desired dtype={dtype}")
    to_meta = check_device(device)  # True for 'meta': shapes and dtypes, no data
    if device is not None and not to_meta and any(
            t.is_meta for t in (*self.parameters(), *self.buffers())):
        raise NotImplementedError(
            "Cannot copy out of meta tensor; no data! Please use torch.nn.Module.to_empty() "
            "instead of torch.nn.Module.to() when moving module from meta to a different "
            "device.")
    move = device is not None and not to_meta
    if dtype is None and not to_meta and not move:
        return self

    def convert(t):
        if to_meta:
            t = t.to("meta")
        elif move:
            t = t.to(device)
        if dtype is not None and (t.is_floating_point() or t.is_complex()):
            t = t.to(dtype)
        return t

    return self._apply(convert)


def to_empty(self, *, device=None, recurse=True):
    """Replace every parameter and buffer by an uninitialised tensor of the same shape, on
    ``device`` (None: where each one is)."""
    check_device(device)
    return self._apply(lambda t: empty_like(t, device=device), recurse=recurse)


def _cast_floats(self, dtype):
    return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)


# NOTE: the methods below are named as Module's (``float``, ``type``), so from here on in this
# file those names are these functions, not the builtins; code here needing the builtins must
# write ``builtins.float``/``builtins.type``.
def float(self):
    return self._cast_floats(_dt.float32)


def double(self):
    return self._cast_floats(_dt.float64)


def half(self):
    return self._cast_floats(_dt.float16)


def bfloat16(self):
    return self._cast_floats(_dt.bfloat16)


def cpu(self):
    return self._apply(lambda t: t.cpu())


def share_memory(self):
    # one process, NumPy memory: nothing to move
    return self


def cuda(self, device=None):
    return self._apply(lambda t: t.cuda(device))


def type(self, dst_type):
    return self._apply(lambda t: t.type(dst_type))
