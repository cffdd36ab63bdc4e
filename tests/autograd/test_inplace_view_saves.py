"""Oracle tests for what nodes save: ``ldexp`` saves ``other`` and its result (not its input,
which may then change in place), and a node of an in-place op on a view that saved its output
hands it back as a view of the base's CopySlices, so a double backward runs through the base
(and the node is not run twice, or after it was freed)."""

from __future__ import annotations

from ..oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def test_ldexp_input_modified_in_place_afterwards():
    def fn(T):
        res = []
        for e_grad in (False, True):
            x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
            e = T.tensor([1.0, 2.0, 3.0], requires_grad=e_grad)
            y = x * 1
            z = T.ldexp(y, e)
            y.add_(1)
            z.sum().backward()
            res += [z, x.grad, e.grad]
        # the result is saved when other needs a gradient: changing it then is an error
        x = T.tensor([1.0, 2.0], requires_grad=True)
        e = T.tensor([1.0, 2.0], requires_grad=True)
        z = T.ldexp(x * 1, e)
        z.mul_(2)
        try:
            z.sum().backward()
        except RuntimeError as err:
            res.append(str(err)[:80])
        return res
    same(fn)


def _two_writes(T, x):
    y = x * 1
    y[1:].mul_(x[:-1] ** 2)
    y[:2].exp_()
    return y


def _more_writes(T, x):
    y = _two_writes(T, x)
    v = y.view(2, 2)
    v[0].tanh_()
    v.t()[1].sigmoid_()
    return y


def test_double_backward_through_inplace_ops_on_views():
    def fn(T):
        res = []
        for f, values in ((_two_writes, [1.0, 2.0, 3.0]), (_more_writes, [0.1, 0.2, -0.3, 0.4])):
            x = T.tensor(values, requires_grad=True, dtype=T.float64)
            y = f(T, x)
            g, = T.autograd.grad((y * y).sum(), x, create_graph=True)
            g.sum().backward()
            h = T.autograd.functional.hessian(lambda a, f=f: (f(T, a) ** 2).sum(), x.detach())
            res += [y, g, x.grad, h]
        return res
    same(fn)


def test_take_input_modified_in_place_afterwards():
    # take saves its input (for its shape only), so changing it in place fails backward, as
    # PyTorch (found by tests/fuzz)
    def fn(T):
        x = T.tensor([[-1.0, 0.5]], dtype=T.float64, requires_grad=True)
        v = x * 2
        t = T.take(v, T.tensor([0, 0, 1]))
        v[0].pow_(2)
        t.sum().backward()
        return x.grad
    same(fn)
