"""Matrix functions and decompositions behind ``ember.linalg``: inv, det, slogdet, solve,
cholesky, qr, svd, svdvals, eigh, eigvalsh, pinv, lstsq, matrix_exp, matrix_norm.

Contract: PyTorch's signatures, named-tuple results, batching and error messages; rules in
ember ops (twice differentiable) with forward-mode rules.
"""

from __future__ import annotations
