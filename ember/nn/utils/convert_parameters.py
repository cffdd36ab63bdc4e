"""Flatten parameters into one vector and back.

Contract: PyTorch's ``parameters_to_vector`` (a differentiable concatenation of the flattened
parameters) and ``vector_to_parameters`` (replaces each parameter's data by its slice of the
vector), including the TypeError for a non-tensor vector.
"""

from __future__ import annotations

import ember
from ember.tensor import Tensor

from ..modules.module import typename

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """One 1-D tensor holding every parameter, flattened, in order.

    >>> parameters_to_vector([ember.ones(2, 2), ember.zeros(1)]).shape
    torch.Size([5])
    """
    return ember.cat([p.view(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into ``parameters`` (by replacing their data)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {typename(vec)}")
    pointer = 0
    for param in parameters:
        n = param.numel()
        param.data = vec[pointer:pointer + n].view_as(param).data
        pointer += n
