"""Oracle tests of ``ember.nn.utils``: clip_grad_norm_ (every norm type, missing grads,
non-finite norms, empty generators), clip_grad_value_, parameters_to_vector and
vector_to_parameters, against PyTorch."""

from __future__ import annotations

import pytest

from ..oracle import same


def _params_with_grads(T):
    a = T.nn.Parameter(T.tensor([[1.0, -2.0], [3.0, 0.5]]))
    b = T.nn.Parameter(T.tensor([4.0, -1.0, 2.0]))
    c = T.nn.Parameter(T.tensor([1.0]))  # no grad: skipped
    a.grad = T.tensor([[0.5, -3.0], [2.0, 1.0]])
    b.grad = T.tensor([-4.0, 0.25, 1.5])
    return [a, b, c]


@pytest.mark.parametrize("norm_type", [2, 2.0, 1, 0.5, 3, float("inf"), "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm(norm_type, max_norm):
    def fn(T):
        ps = _params_with_grads(T)
        total = T.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
        return total, [p.grad for p in ps]
    same(fn)


def test_clip_grad_norm_single_tensor_generator_and_no_grads():
    def fn(T):
        ps = _params_with_grads(T)
        t1 = T.nn.utils.clip_grad_norm_(ps[0], 1.0)
        t2 = T.nn.utils.clip_grad_norm_((p for p in ps), 1.0, foreach=None)
        t3 = T.nn.utils.clip_grad_norm_([ps[2]], 1.0)
        return t1, t2, t3, ps[0].grad
    same(fn)


def test_clip_grad_norm_empty_generator_warns():
    same(lambda T: T.nn.utils.clip_grad_norm_((p for p in []), 1.0))


def test_clip_grad_norm_nonfinite():
    def fn(T, error):
        p = T.nn.Parameter(T.ones(2))
        p.grad = T.tensor([float("inf"), 1.0])
        total = T.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=error)
        return total, p.grad
    same(lambda T: fn(T, False))
    same(lambda T: fn(T, True))


def test_clip_grad_norm_double_grads_and_model():
    def fn(T):
        m = T.nn.Linear(3, 2).double()
        with T.no_grad():
            m.weight.copy_(T.arange(6.0).reshape(2, 3))
            m.bias.fill_(0.5)
        m(T.ones(4, 3, dtype=T.float64)).pow(2).sum().backward()
        total = T.nn.utils.clip_grad_norm_(m.parameters(), 2.0)
        return total, m.weight.grad, m.bias.grad
    same(fn)


@pytest.mark.parametrize("clip", [0.6, 2, 10.0])
def test_clip_grad_value(clip):
    def fn(T):
        ps = _params_with_grads(T)
        r = T.nn.utils.clip_grad_value_(ps, clip)
        T.nn.utils.clip_grad_value_(ps[1], clip / 2)
        return r, [p.grad for p in ps]
    same(fn)


def test_parameters_to_vector_and_back():
    def fn(T):
        m = T.nn.Sequential(T.nn.Linear(2, 3), T.nn.Linear(3, 1))
        with T.no_grad():
            for i, p in enumerate(m.parameters()):
                p.copy_(T.arange(p.numel(), dtype=p.dtype).reshape(p.shape) + 10 * i)
        vec = T.nn.utils.parameters_to_vector(m.parameters())
        vec.sum().backward()
        grads = [p.grad for p in m.parameters()]
        T.nn.utils.vector_to_parameters(T.arange(vec.numel(), dtype=T.float32) * -1,
                                        m.parameters())
        return (vec.shape, vec.detach(), grads, [p.detach() for p in m.parameters()],
                [isinstance(p, T.nn.Parameter) for p in m.parameters()],
                m(T.ones(1, 2)).detach())
    same(fn)


def test_vector_to_parameters_type_error():
    same(lambda T: T.nn.utils.vector_to_parameters([1.0, 2.0], [T.nn.Parameter(T.ones(2))]))
