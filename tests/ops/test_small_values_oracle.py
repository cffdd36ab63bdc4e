"""Oracle tests for small silent-value bugs: cat/stack given one tensor, cat's promotion over
skipped empty inputs, matmul with a non-tensor, unique with NaNs, BCE-with-logits dtypes,
masked_fill with a mask larger than self."""

from __future__ import annotations

from ..oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def _errors(calls):
    res = []
    for call in calls:
        try:
            res.append(call())
        except (TypeError, RuntimeError, ValueError) as e:
            res.append((type(e).__name__, str(e)))
    return res


def test_cat_and_stack_of_one_tensor_and_promotion_over_empty_inputs():
    def fn(T):
        return _errors([
            lambda: T.cat(T.ones(2, 2)),
            lambda: T.stack(T.ones(2, 2)),
            lambda: T.cat([T.tensor([1.0, 2.0]), T.tensor([], dtype=T.float64)]),
            lambda: T.cat([T.tensor([[1.0, 2.0]]), T.tensor([], dtype=T.float64)]),
            lambda: T.cat([T.tensor([[1, 2]]), T.tensor([])]),
            lambda: T.cat([T.tensor([], dtype=T.float64), T.tensor([1, 2])]),
        ])
    same(fn)


def test_matmul_with_a_non_tensor():
    def fn(T):
        x = T.ones(2)
        return _errors([
            lambda: T.matmul(x, [1.0, 2.0]),
            lambda: x.matmul([1.0, 2.0]),
            lambda: x.matmul(2),
            lambda: x @ [1.0, 2.0],
            lambda: T.matmul([1.0, 2.0], x),
        ])
    same(fn)
