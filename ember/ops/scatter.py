"""Gather/scatter family: gather, scatter, scatter_add, scatter_reduce, index_select,
index_add, index_copy, index_fill, masked_scatter, masked_select, take, take_along_dim, nonzero.

Contract: PyTorch's signatures, dtypes, node names and error messages (index out of bounds,
index dtype); rules in ember ops (twice differentiable) with forward-mode rules.
"""

from __future__ import annotations
