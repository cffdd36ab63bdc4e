"""``ember.autograd.Variable``: PyTorch's pre-0.4 wrapper, which now just makes a tensor.

Contract: as PyTorch's: ``Variable(t, requires_grad=False)`` is a new leaf sharing ``t``'s data
(its graph is not kept), ``Variable()`` is an empty tensor, anything but a tensor raises
TypeError, ``volatile=`` warns that it has no effect; ``isinstance(t, Variable)`` holds for
every tensor.
"""

from __future__ import annotations

import warnings


class _VariableMeta(type):
    def __call__(cls, data=None, requires_grad=False, volatile=False):
        from ..creation import empty
        from ..tensor import Tensor

        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "torch.no_grad():` instead.", UserWarning, stacklevel=2)
        if data is None:
            data = empty(0)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out

    def __instancecheck__(cls, obj):
        from ..tensor import Tensor

        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(data, requires_grad=False)``: a tensor (see the module's contract)."""
