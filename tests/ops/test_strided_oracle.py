"""Oracle tests of as_strided / as_strided_ / storage_offset / type_as (ember/ops/strided.py):
views of the storage in elements, offsets of views, gradients (overlaps add up, an input that
overlaps itself divides), and PyTorch's errors."""

from __future__ import annotations

import pytest

from ..oracle import same


def _x(T, **kw):
    return T.arange(12, dtype=T.float64, **kw).reshape(3, 4)


CASES = {
    "values": lambda T: [T.as_strided(_x(T), (2, 2), (1, 2)), _x(T).as_strided((3,), (5,), 1),
                         _x(T)[1:].as_strided((2,), (1,)), _x(T).t().as_strided((2,), (1,)),
                         _x(T)[:, 1].as_strided((2, 2), (0, 1)),
                         T.as_strided(_x(T), (0, 2), (1, 2), 49)],
    "offsets": lambda T: [_x(T).storage_offset(), _x(T)[1].storage_offset(),
                          _x(T)[1:, 2:].storage_offset(),
                          _x(T).as_strided((2,), (1,), 3).storage_offset()],
    "shares_memory": lambda T: (lambda x: (x.as_strided((2,), (2,), 1).mul_(0), x)[1])(_x(T)),
    "writes_through": lambda T: (lambda x: (x[1].as_strided((2,), (4,)).fill_(-1.0), x)[1])(
        _x(T)),
    "inplace": lambda T: (lambda x: (x.as_strided_((2, 2), (1, 3), 1), x.shape, x.stride(),
                                     x.storage_offset()))(_x(T)),
    "len": lambda T: T.as_strided(_x(T), (2,), (1, 2)),
    "neg_stride": lambda T: T.as_strided(_x(T), (2, 2), (-1, 2)),
    "neg_offset": lambda T: T.as_strided(_x(T), (-2, 2), (1, 2), -1),
    "neg_size": lambda T: T.as_strided(_x(T), (-2, 2), (1, 2)),
    "bounds": lambda T: T.as_strided(_x(T), (2, 2), (1, 2), 20),
    "offset_float": lambda T: T.as_strided(_x(T), (2, 2), (1, 2), 0.5),
    "type_as": lambda T: [_x(T).type_as(T.ones(1, dtype=T.int32)),
                          T.arange(3).type_as(_x(T)), _x(T).type_as(T.ones(1))],
    "type_as_scalar": lambda T: _x(T).type_as(1),
}


@pytest.mark.parametrize("name", list(CASES))
def test_strided_oracle(name):
    same(CASES[name])


def _grad(fn):
    def run(T):
        x = T.arange(1.0, 13.0, dtype=T.float64).reshape(3, 4).requires_grad_()
        out = fn(T, x)
        w = T.arange(out.numel(), dtype=T.float64).reshape(out.shape) + 1
        (out * w).sum().backward()
        return out, x.grad
    return run


@pytest.mark.parametrize("fn", [
    lambda T, x: T.as_strided(x, (2, 2), (1, 2)),
    lambda T, x: x.as_strided((3, 2), (1, 1), 2),  # overlapping windows
    lambda T, x: x.t().as_strided((3, 2), (4, 1)),  # a transposed input
    lambda T, x: x[0].expand(2, 4).as_strided((3,), (1,)),  # an input overlapping itself
    lambda T, x: x[1:].as_strided((2,), (1,)),
    lambda T, x: (x * 1).as_strided_((2, 3), (3, 1), 1),
    lambda T, x: x.type_as(T.ones(1)),
], ids=["basic", "overlap", "transposed", "expanded", "offset_view", "inplace", "type_as"])
def test_strided_grads(fn):
    same(_grad(fn))
