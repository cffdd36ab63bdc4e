"""``ember.linalg``: PyTorch's ``torch.linalg`` (inv, det, slogdet, solve, cholesky, qr, svd,
svdvals, eigh, eigvalsh, pinv, lstsq, matrix_exp, norm, vector_norm, matrix_norm, cross...).

Contract: PyTorch's names, signatures, named-tuple results and error messages; every function
differentiable (rules in ember ops, so to any order) with forward-mode rules.
"""

from __future__ import annotations

from .ops.linalg import linalg_cross as cross
from .ops.linalg import multi_dot
from .ops.reduction import linalg_vector_norm as vector_norm

__all__ = ["cross", "multi_dot", "vector_norm"]
