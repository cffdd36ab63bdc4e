"""Identity, Linear and Bilinear.

LazyLinear infers ``in_features`` from its first input and then becomes a Linear.

Contract: PyTorch's constructor signatures, defaults, default initialisation (weights
kaiming_uniform_(a=sqrt(5)), biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))), attribute and
state_dict names, forward semantics and repr.
"""

from __future__ import annotations

import math

import ember

from .. import functional as F
from .. import init
from ..parameter import Parameter, UninitializedParameter
from .module import LazyModuleMixin, Module

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


def _register_bias(module, bias, size, dtype, device=None):
    """Give ``module`` a ``bias`` parameter of ``size`` on ``device`` (its values set by
    reset_parameters), or register a ``None`` bias when ``bias`` is False."""
    if bias:
        module.bias = Parameter(ember.empty(size, dtype=dtype, device=device))
    else:
        module.register_parameter("bias", None)


def _reset_kaiming_uniform(weight, bias):
    """Linear's and the convolutions' default initialisation, in place: ``weight`` by
    kaiming_uniform_(a=sqrt(5)), and ``bias`` (when not None) from U(-1/sqrt(fan_in),
    1/sqrt(fan_in))."""
    # a=sqrt(5) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's historical default
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x W^T + b`` with ``W`` of shape (out_features, in_features).

    >>> Linear(3, 2)(ember.ones(4, 3)).shape
    torch.Size([4, 2])
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(ember.empty((out_features, in_features), dtype=dtype,
                                            device=device))
        _register_bias(self, bias, out_features, dtype, device)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_kaiming_uniform(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """``y = x1^T A x2 + b`` with ``A`` of shape (out_features, in1_features, in2_features)."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(
            ember.empty((out_features, in1_features, in2_features), dtype=dtype, device=device))
        _register_bias(self, bias, out_features, dtype, device)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(LazyModuleMixin, Linear):
    """A Linear whose ``in_features`` is the last dimension of its first input.

    >>> m = LazyLinear(3); m(ember.ones(2, 5)).shape, type(m).__name__
    (torch.Size([2, 3]), 'Linear')
    """

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        # bias=False here: a tensor made now would be replaced at once
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if self.has_uninitialized_params():
            with ember.no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()


class NonDynamicallyQuantizableLinear(Linear):
    """Linear under another name: PyTorch's MultiheadAttention uses it for ``out_proj`` (and
    its repr shows the name), so it exists here too; not exported from ``ember.nn``."""
