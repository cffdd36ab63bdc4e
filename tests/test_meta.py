"""``device='meta'`` tensors (NOTE [meta tensors] in ember/_meta.py): factories, ``to('meta')``,
shape/dtype propagation through elementwise ops, reductions, matmul, views and F.linear,
repr, and PyTorch's errors on reading values — each compared with PyTorch by ``same``."""

from __future__ import annotations

import pytest

from .oracle import same


def _m(T, *shape, dtype=None):
    return T.empty(*shape, device="meta", dtype=dtype)


CASES = {
    "factories": lambda T: [repr(f(2, 3, device="meta")) for f in (T.empty, T.zeros, T.ones,
                                                                   T.randn)] + [
        repr(T.tensor([1.0, 2.0], device="meta")), repr(T.tensor(1, device="meta")),
        repr(T.full((2,), 3.0, device="meta")), repr(T.zeros(2, dtype=T.float64, device="meta")),
        repr(T.zeros(0, device="meta")), repr(T.zeros_like(_m(T, 2))),
        repr(T.ones_like(T.ones(3), device="meta"))],
    "device": lambda T: [str(_m(T, 2).device), repr(_m(T, 2).device), _m(T, 2).is_meta,
                         T.ones(2).is_meta, str(T.ones(2, 3).to("meta").device),
                         repr(T.ones(2, 3).to("meta", T.float64))],
    "elementwise": lambda T: [repr(x) for x in (
        _m(T, 2, 1) + _m(T, 3), _m(T, 2, 3) * 2, _m(T, 3).exp(), _m(T, 3, dtype=T.int64) / 2,
        _m(T, 2, 3) > 0, T.where(_m(T, 3) > 0, _m(T, 3), 0.0), -_m(T, 3, dtype=T.int32))],
    "reductions": lambda T: [repr(x) for x in (
        _m(T, 2, 3).sum(), _m(T, 2, 3).sum(1), _m(T, 2, 3).mean(0, keepdim=True),
        _m(T, 2, 3, dtype=T.int64).sum(1), _m(T, 4, 5).softmax(-1))],
    "matmul": lambda T: [repr(x) for x in (
        _m(T, 2, 3) @ _m(T, 3, 4), T.matmul(_m(T, 5, 2, 3), _m(T, 3)),
        T.nn.functional.linear(_m(T, 2, 3), _m(T, 5, 3), _m(T, 5)))],
    "views": lambda T: [repr(x) for x in (
        _m(T, 2, 3).view(3, 2).t(), _m(T, 2, 3).reshape(-1), _m(T, 2, 3)[1],
        _m(T, 2, 3).unsqueeze(0).expand(4, 2, 3), _m(T, 2, 3).permute(1, 0),
        T.cat([_m(T, 2, 3), _m(T, 1, 3)]))],
    "grad_fn": lambda T: repr(T.ones(2, 3, device="meta", requires_grad=True) * 2),
    "item": lambda T: _m(T, 1).item(),
    "item_many": lambda T: _m(T, 2, 3).item(),
    "float": lambda T: float(_m(T, 1).sum()),
    "bool": lambda T: bool(_m(T, 1) > 0),
    "numpy": lambda T: _m(T, 2).numpy(),
    "tolist": lambda T: _m(T, 2).tolist(),
}


@pytest.mark.parametrize("name", list(CASES))
def test_meta(name):
    same(CASES[name])


@pytest.mark.parametrize("move", ["cpu", "to_cpu", "to_meta", "uniform_", "copy_"])
def test_moving_or_filling_a_meta_tensor(move):
    # a meta tensor has no values to move to the CPU (PyTorch's NotImplementedError); filling
    # one in place does nothing
    def fn(m):
        t = m.empty(2, 3, device="meta")
        return {"cpu": lambda: t.cpu(), "to_cpu": lambda: t.to("cpu"),
                "to_meta": lambda: t.to("meta"), "uniform_": lambda: t.uniform_(),
                "copy_": lambda: t.copy_(m.ones(2, 3, device="meta"))}[move]().shape
    same(fn)
