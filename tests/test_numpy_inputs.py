"""NumPy values meeting ember as they meet PyTorch, and indexing with Python sequences.

- An ndarray (or a NumPy scalar where PyTorch refuses one) passed where an op takes a Tensor
  raises PyTorch's TypeError naming the op, the argument and ``numpy.ndarray``; the sweep runs
  one through every public op's tensor arguments (tests/test_bad_input.py's machinery).
- Operators between tensors and ndarrays, NumPy ufuncs and functions on tensors
  (``np.sin(t)``, ``np.asarray(t)``) give what PyTorch gives: NumPy's dispatch decides which
  side runs, so the results are tensors, ndarrays or errors exactly as with PyTorch.
- Keys made of ranges, lists of bools, tuples inside lists, ndarrays and 0-d tensors index
  (get and set, with gradients) as PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

from .oracle import same

# ---- indexing with sequences ------------------------------------------------------------------

KEYS = {
    "range": lambda T: range(2),
    "range_step": lambda T: (range(0, 3, 2), 1),
    "range_empty": lambda T: range(0),
    "two_ranges": lambda T: (range(1, 3), range(2)),
    "range_and_slice": lambda T: (slice(None), range(3, 0, -1)),
    "list_with_range": lambda T: [range(2)],
    "list_of_tuples": lambda T: [(0, 1), (1, 2)],
    "list_of_bools": lambda T: [True, False, True],
    "ndarray_ints": lambda T: np.array([0, 2]),
    "ndarray_bools": lambda T: np.array([True, False, True]),
    "ndarray_2d_bools": lambda T: np.arange(12).reshape(3, 4) % 3 == 0,
    "numpy_int": lambda T: np.int64(1),
    "list_of_numpy_ints": lambda T: [np.int64(0), np.int64(2)],
    "tensor_0d": lambda T: T.tensor(1),
    "tensors_0d": lambda T: (T.tensor(1), T.tensor(2)),
    "bool_0d": lambda T: T.tensor(True),
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_get(name):
    def fn(T):
        x = T.arange(12.).reshape(3, 4).requires_grad_()
        y = x[KEYS[name](T)]
        y.sum().backward()
        return y, x.grad
    same(fn)


# (``w[T.tensor(True)] = v`` records IndexPutBackward0 where PyTorch records CopySlices: open)
@pytest.mark.parametrize("name", sorted(set(KEYS) - {"bool_0d"}))
def test_set(name):
    def fn(T):
        x = T.arange(12.).reshape(3, 4)
        x[KEYS[name](T)] = -1.
        w = T.zeros(3, 4, requires_grad=True).clone()
        v = T.tensor(5., requires_grad=True)
        w[KEYS[name](T)] = v
        w.sum().backward()
        return x, w, v.grad
    same(fn)
