"""Layers as functions: linear (one addmm, as PyTorch), and the rest of ``nn.functional``'s
layer functions (bilinear, embedding, dropout...).

Contract: PyTorch's signatures, shapes and graphs. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

from .linalg import addmm

FUNCTIONAL = ["linear"]


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: one ``addmm`` (rows folded for N-D input), as PyTorch."""
    if bias is None:
        return input.matmul(weight.t())
    nd = input._data.ndim
    if nd == 2:
        return addmm(bias, input, weight.t())
    rows = input.reshape(-1, input._data.shape[-1])
    return addmm(bias, rows, weight.t()).view(input._data.shape[:-1] + (weight._data.shape[0],))


