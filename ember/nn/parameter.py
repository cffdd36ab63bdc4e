"""``Parameter``: a Tensor that a Module registers as one of its parameters.

Contract: PyTorch's ``torch.nn.Parameter``: ``Parameter(data=None, requires_grad=True)`` aliases
``data`` (same array, same version counter), is a leaf, ``isinstance(p, Tensor)`` holds, ops on
it return plain Tensors, its repr is ``"Parameter containing:\\n" + repr(tensor)``, and deepcopy
and pickling give back a Parameter.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


class Parameter(Tensor):
    """A Tensor that is a module parameter (``requires_grad=True`` unless told otherwise).

    >>> p = Parameter(ember.zeros(2))
    >>> p.requires_grad
    True
    """

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = Tensor._make(np.empty((0,), dtype=np.float32))
        p = object.__new__(cls)
        p._data = data._data
        p._requires_grad = False
        p._grad_fn = None
        p._output_nr = 0
        # an alias of ``data``, as PyTorch's _make_subclass: in-place writes through either show
        p._vc = data._vc if data._vc is not None else [0]
        p._view = None
        p._grad = None
        p._acc = None
        p._extra = None
        p._set_requires_grad(requires_grad, "factory")
        return p

    def __init__(self, data=None, requires_grad=True):
        # Tensor.__init__ is the legacy constructor; everything was set in __new__
        pass

    def __repr__(self):
        plain = Tensor._make(self._data, self._requires_grad)
        return "Parameter containing:\n" + repr(plain)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(Tensor._make(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            p._grad = Tensor._make(self._grad._data.copy())
        memo[id(self)] = p
        return p

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self._requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(Tensor._make(data), requires_grad)


class Buffer(Tensor):
    """A Tensor that a Module registers as a buffer when assigned as an attribute.

    ``Buffer(data=None, *, persistent=True)`` aliases ``data`` detached (keeping its
    requires_grad); ``persistent=False`` keeps it out of ``state_dict``. It prints as a tensor.

    >>> m = ember.nn.Module(); m.stats = Buffer(ember.zeros(2))
    >>> [n for n, _ in m.named_buffers()]
    ['stats']
    """

    __slots__ = ("persistent",)

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = Tensor._make(np.empty((0,), dtype=np.float32))
        b = object.__new__(cls)
        b._data = data._data
        b._requires_grad = data._requires_grad
        b._grad_fn = None
        b._output_nr = 0
        b._vc = data._vc
        b._view = None
        b._grad = None
        b._acc = None
        b._extra = None
        b.persistent = persistent
        return b

    def __init__(self, data=None, *, persistent=True):
        pass

    def __repr__(self):
        return repr(Tensor._make(self._data, self._requires_grad))

    __str__ = __repr__


# ---- lazy (shape-inferred) parameters and buffers -----------------------------------------------

class UninitializedTensorMixin:
    """A placeholder without a shape until ``materialize(shape)`` turns it into its
    ``cls_to_become`` (Parameter or Tensor) in place."""

    __slots__ = ()

    def materialize(self, shape, device=None, dtype=None):
        """Give the tensor ``shape`` (uninitialised values) and its final class, on its own
        device (where ``.cuda()`` put the placeholder) unless ``device`` says otherwise."""
        from ..creation import empty

        dtype = self.dtype if dtype is None else dtype
        device = self.device if device is None else device
        self._data = empty(shape, dtype=dtype, device=device)._data
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes.")

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (type(self), (self._requires_grad,))


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape a lazy module infers from its first input."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        from ..creation import empty

        return Parameter.__new__(cls, empty(0, dtype=dtype, device=device), requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self._requires_grad, self.device, self.dtype)
        return memo[id(self)]


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape a lazy module infers from its first input."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        from ..creation import empty

        b = object.__new__(cls)
        b._data = empty(0, dtype=dtype, device=device)._data
        b._requires_grad = False
        b._grad_fn = None
        b._output_nr = 0
        b._vc = [0]
        b._view = None
        b._grad = None
        b._acc = None
        b._extra = None
        b._set_requires_grad(requires_grad, "factory")
        return b

    def __init__(self, requires_grad=False, device=None, dtype=None):
        pass

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self._requires_grad, self.device, self.dtype)
        return memo[id(self)]


def is_lazy(param):
    """Whether ``param`` is an UninitializedParameter or UninitializedBuffer."""
    return isinstance(param, UninitializedTensorMixin)
