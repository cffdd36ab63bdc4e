"""``ember.linalg``: PyTorch's ``torch.linalg`` (inv, det, slogdet, solve, cholesky, qr, svd,
svdvals, eigh, eigvalsh, pinv, lstsq, matrix_exp, norm, vector_norm, matrix_norm, cross...).

Contract: PyTorch's names, signatures, named-tuple results and error messages; every function
differentiable (rules in ember ops, so to any order) with forward-mode rules.
"""

from __future__ import annotations

from .ops._registry import publish_module as _publish
from .ops.decomposition import _LinAlgError as LinAlgError  # noqa: F401 - public, not an op
from .ops.decomposition import linalg_cholesky as cholesky
from .ops.decomposition import linalg_cholesky_ex as cholesky_ex
from .ops.decomposition import linalg_det as det
from .ops.decomposition import linalg_inv as inv
from .ops.decomposition import linalg_inv_ex as inv_ex
from .ops.decomposition import linalg_matrix_power as matrix_power
from .ops.decomposition import linalg_qr as qr
from .ops.decomposition import linalg_slogdet as slogdet
from .ops.decomposition import linalg_solve as solve
from .ops.decomposition import linalg_solve_ex as solve_ex
from .ops.decomposition import linalg_tensorinv as tensorinv
from .ops.decomposition import linalg_tensorsolve as tensorsolve
from .ops.eig import linalg_eigvals as eigvals
from .ops.householder import linalg_householder_product as householder_product
from .ops.linalg import linalg_vander as vander
from .ops.linalg import matmul, multi_dot
from .ops.lu import linalg_lu as lu
from .ops.lu import linalg_lu_factor as lu_factor
from .ops.lu import linalg_lu_factor_ex as lu_factor_ex
from .ops.lu import linalg_lu_solve as lu_solve
from .ops.matrix import linalg_cross as cross
from .ops.matrix import linalg_diagonal as diagonal
from .ops.matrix import linalg_vecdot as vecdot
from .ops.reduction import linalg_vector_norm as vector_norm
from .ops.spectral import linalg_cond as cond
from .ops.spectral import linalg_eigh as eigh
from .ops.spectral import linalg_eigvalsh as eigvalsh
from .ops.spectral import linalg_lstsq as lstsq
from .ops.spectral import linalg_matrix_exp as matrix_exp
from .ops.spectral import linalg_matrix_norm as matrix_norm
from .ops.spectral import linalg_matrix_rank as matrix_rank
from .ops.spectral import linalg_norm as norm
from .ops.spectral import linalg_pinv as pinv
from .ops.spectral import linalg_svd as svd
from .ops.spectral import linalg_svdvals as svdvals
from .ops.triangular import linalg_solve_triangular as solve_triangular

# NOTE: LinAlgError is public (ember.linalg.LinAlgError) but not an op, so not in __all__.
__all__ = ["cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh", "eigvals",
           "eigvalsh",
           "householder_product", "inv", "inv_ex", "lstsq", "lu", "lu_factor", "lu_factor_ex",
           "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
           "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular",
           "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm"]


# NOTE: published checked (ops/_checks.py: a wrong-typed argument raises PyTorch's TypeError)
# and declared: their op records (NOTE [op records] in ember/_records.py).
_publish(globals(), __all__, "linalg")
