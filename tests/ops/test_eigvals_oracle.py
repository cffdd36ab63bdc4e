"""Oracle tests of linalg.eigvals (ember/ops/eig.py): complex dtypes, batches, empty
matrices, the first-order gradient (LinalgEigBackward0) and PyTorch's errors."""

from __future__ import annotations

import pytest

from ..oracle import same

# distinct real eigenvalues (so the LAPACK order cannot differ) and a complex pair
A = [[2.0, 1.0, 0.0], [0.5, -1.0, 0.3], [0.0, 0.2, 4.0]]
ROT = [[0.0, -2.0], [2.0, 0.5]]


CASES = {
    "real": lambda T: T.linalg.eigvals(T.tensor(A)),
    "float64_batch": lambda T: T.linalg.eigvals(T.tensor([A, A], dtype=T.float64) * 2).shape,
    "complex": lambda T: T.linalg.eigvals(T.eye(2, dtype=T.complex64) * 3),
    "complex_pair": lambda T: T.linalg.eigvals(T.tensor(ROT, dtype=T.float64)).abs(),
    "empty": lambda T: T.linalg.eigvals(T.ones(0, 0)),
    "int": lambda T: T.linalg.eigvals(T.ones(3, 3, dtype=T.long)),
    "not_square": lambda T: T.linalg.eigvals(T.ones(3, 4)),
    "1d": lambda T: T.linalg.eigvals(T.ones(3)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_eigvals_oracle(name):
    same(CASES[name])


@pytest.mark.parametrize("data", [A, ROT])
def test_eigvals_grad(data):
    def run(T):
        a = T.tensor(data, dtype=T.float64, requires_grad=True)
        w = T.linalg.eigvals(a)
        (w.abs() * T.arange(1.0, w.shape[0] + 1, dtype=T.float64)).sum().backward()
        return w.abs(), w.grad_fn.name(), w.dtype, a.grad
    same(run)
