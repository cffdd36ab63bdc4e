"""``ember.linalg``: PyTorch's ``torch.linalg`` (inv, det, slogdet, solve, cholesky, qr, svd,
svdvals, eigh, eigvalsh, pinv, lstsq, matrix_exp, norm, vector_norm, matrix_norm, cross...).

Contract: PyTorch's names, signatures, named-tuple results and error messages; every function
differentiable (rules in ember ops, so to any order) with forward-mode rules.
"""

from __future__ import annotations

from .ops.decomposition import _LinAlgError as LinAlgError
from .ops.decomposition import linalg_cholesky as cholesky
from .ops.decomposition import linalg_det as det
from .ops.decomposition import linalg_eigh as eigh
from .ops.decomposition import linalg_eigvalsh as eigvalsh
from .ops.decomposition import linalg_inv as inv
from .ops.decomposition import linalg_lstsq as lstsq
from .ops.decomposition import linalg_matrix_exp as matrix_exp
from .ops.decomposition import linalg_matrix_norm as matrix_norm
from .ops.decomposition import linalg_norm as norm
from .ops.decomposition import linalg_pinv as pinv
from .ops.decomposition import linalg_qr as qr
from .ops.decomposition import linalg_slogdet as slogdet
from .ops.decomposition import linalg_solve as solve
from .ops.decomposition import linalg_svd as svd
from .ops.decomposition import linalg_svdvals as svdvals
from .ops.linalg import linalg_cross as cross
from .ops.linalg import multi_dot
from .ops.reduction import linalg_vector_norm as vector_norm

__all__ = ["LinAlgError", "cholesky", "cross", "det", "eigh", "eigvalsh", "inv", "lstsq",
           "matrix_exp", "matrix_norm", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve",
           "svd", "svdvals", "vector_norm"]
