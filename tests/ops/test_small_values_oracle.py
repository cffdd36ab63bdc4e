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


def test_unique_keeps_each_nan():
    def fn(T):
        x = T.tensor([float("nan"), 1.0, float("nan"), 1.0, float("nan"), 0.0])
        return (T.unique(x), T.unique(x, return_inverse=True, return_counts=True),
                T.unique(x, sorted=False, return_counts=True),
                x.unique(return_inverse=True))
    same(fn)


def test_bce_with_logits_takes_the_targets_dtype():
    def fn(T):
        F = T.nn.functional
        res = []
        for xd, td in ((T.float32, T.float64), (T.float64, T.float32)):
            x = T.tensor([0.5, -1.0], dtype=xd, requires_grad=True)
            t = T.tensor([1.0, 0.0], dtype=td)
            loss = F.binary_cross_entropy_with_logits(x, t)
            loss.backward()
            res += [loss, x.grad, F.binary_cross_entropy_with_logits(x, t, reduction="none"),
                    F.binary_cross_entropy_with_logits(x, t, weight=T.ones(2, dtype=T.float64))]
        return res
    same(fn)
