"""Oracle tests for what nodes save: ``ldexp`` saves ``other`` and its result (not its input,
which may then change in place), and a node of an in-place op on a view that saved its output
hands it back as a view of the base's CopySlices, so a double backward runs through the base
(and the node is not run twice, or after it was freed)."""

from __future__ import annotations

import warnings

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


def _backward_error(out):
    """The message of the error ``out.sum().backward()`` raises, or None."""
    try:
        out.sum().backward()
    except RuntimeError as err:
        return str(err)
    return None


def test_pooling_saves_its_input():
    # PyTorch's pooling nodes save their input (the unsqueezed one for 1-D: a view, named by
    # its regenerated node, AsStrided), and max pooling its indices too (found by tests/fuzz)
    def fn(T):
        F = T.nn.functional
        res = []
        pools = [lambda v: F.max_pool1d(v, 2), lambda v: F.avg_pool1d(v, 2, stride=1, padding=1),
                 lambda v: F.adaptive_avg_pool1d(v, 2), lambda v: F.adaptive_max_pool1d(v, 2),
                 lambda v: F.lp_pool1d(v, 2, 2),
                 lambda v: F.max_pool2d(v.unsqueeze(0), 1),
                 lambda v: F.avg_pool2d(v.unsqueeze(0), 1),
                 lambda v: F.adaptive_avg_pool2d(v.unsqueeze(0), (1, 2)),
                 lambda v: F.adaptive_max_pool2d(v.unsqueeze(0), 2),
                 lambda v: F.max_pool3d(v.unsqueeze(0).unsqueeze(0), 1),
                 lambda v: F.avg_pool3d(v.unsqueeze(0).unsqueeze(0), 1),
                 lambda v: F.adaptive_avg_pool3d(v.unsqueeze(0).unsqueeze(0), (1, 1, 2)),
                 lambda v: F.adaptive_max_pool3d(v.unsqueeze(0).unsqueeze(0), 2)]
        for pool in pools:
            x = T.tensor([[[0.5, -1.0, 2.0]]], requires_grad=True)
            v = T.roll(x, 1, 1)
            out = pool(v)
            v.tanh_()
            res.append(_backward_error(out))
        # the returned indices are saved: changing them in place fails backward
        x = T.tensor([[[0.5, -1.0, 2.0, 1.0]]], requires_grad=True)
        out, idx = F.max_pool1d(x, 2, return_indices=True)
        idx.add_(0)
        res.append(_backward_error(out))
        # unchanged, the gradients are as before
        x = T.tensor([[[0.5, -1.0, 2.0]]], requires_grad=True)
        F.avg_pool1d(x * 2, 2, stride=1, padding=1).sum().backward()
        res.append(x.grad)
        return res
    same(fn)


def test_avg_pool_input_modified_through_a_reshape():
    def fn(T):
        x2 = T.tensor([[[0.5, -1.0], [2.0, 0.25]]], requires_grad=True)
        x3 = T.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
        v2 = T.maximum(x2, T.zeros(1, 2, 2)) @ x3
        out = T.nn.functional.avg_pool1d(v2, 2, stride=1, padding=1)
        v2.reshape(-1).mul_(T.arange(6.0))
        return _backward_error(out)
    same(fn)


def test_regression_losses_save_input_and_target_as_given():
    # mse and smooth_l1 save their operands as given, not their promoted copies (a float32
    # input with a float64 0-d target) (found by tests/fuzz)
    def fn(T):
        F = T.nn.functional
        res = []
        for loss in (F.mse_loss, F.smooth_l1_loss, F.huber_loss, F.l1_loss):
            for which in (0, 1):
                x = T.tensor([[0.5]], requires_grad=True)
                t = T.tensor(0.25, dtype=T.float64, requires_grad=True)
                v = (x * 1).diagonal()
                out = loss(v, t) if which == 0 else loss(t.expand(1), v)
                v.tanh_()
                res.append(_backward_error(out))
            x = T.tensor([0.5, 3.0], requires_grad=True)
            t = T.tensor(0.25, dtype=T.float64, requires_grad=True)
            # (huber's backward rejects the mixed dtypes, as PyTorch's)
            res += [_backward_error(loss(x, t.expand(2))), x.grad, t.grad]
        return res
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same(fn)
