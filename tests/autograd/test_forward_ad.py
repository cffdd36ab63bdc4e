"""Oracle tests for forward-mode AD (``autograd.forward_ad``): dual tensors through ops, views,
no_grad, in-place ops and indexed assignment, forward-over-reverse Hessian-vector products,
level semantics, repr and errors."""

from __future__ import annotations

import importlib

import pytest

from ..oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def _fw(T):
    return importlib.import_module(T.__name__ + ".autograd.forward_ad")


def _pair(T):
    x = T.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=T.float64)
    t = T.tensor([[1.0, 0.5, -2.0], [0.0, 1.0, 3.0]], dtype=T.float64)
    return x, t


OPS = {
    "unary": lambda T, d: (d.sin() * d.exp()).tanh(),
    "binary_broadcast": lambda T, d: d * T.tensor([1.0, 2.0, 3.0], dtype=T.float64) / (d + 3),
    "pow_sqrt": lambda T, d: (d ** 2 + 1).sqrt() ** 1.5,
    "reductions": lambda T, d: (d.sum(0), d.mean(1), d.amax(1), (d * d).sum()),
    "max_dim": lambda T, d: d.max(1).values,
    "matmul": lambda T, d: d @ d.t(),
    "views": lambda T, d: (d.t().reshape(6)[1:4], d.unsqueeze(0).expand(2, 2, 3).sum(0)),
    "indexing": lambda T, d: (d[1], d[:, [0, 2]], d[d > 0]),
    "cat_stack": lambda T, d: (T.cat([d, d * 2], 1), T.stack([d, d.exp()])),
    "softmax": lambda T, d: (T.nn.functional.softmax(d, 1), T.nn.functional.log_softmax(d, 0)),
    "logsumexp": lambda T, d: d.logsumexp(1),
    "clamp_where": lambda T, d: (d.clamp(-0.9, 1.8), T.where(d > 0, d, d * d)),
    "relu_sigmoid": lambda T, d: T.relu(d) + T.sigmoid(d),
    "cross_entropy": lambda T, d: T.nn.functional.cross_entropy(d, T.tensor([2, 0])),
    # the .T / .mT properties (found by tests/fuzz: they lost the tangent)
    "transpose_properties": lambda T, d: (d.mT, d.T, d @ d.mT),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_tangents_through_ops(name):
    def fn(T):
        fw = _fw(T)
        x, t = _pair(T)
        with fw.dual_level():
            out = OPS[name](T, fw.make_dual(x, t))
            outs = out if isinstance(out, tuple) else (out,)
            return [tuple(fw.unpack_dual(o)) for o in outs]
    # PyTorch warns about its own jit internals the first time some forward-AD paths run
    same(fn, warnings_too=False)


def test_make_and_unpack_and_repr():
    def fn(T):
        fw = _fw(T)
        x = T.tensor([1.0, 2.0])
        t = T.tensor([1.0, 0.5])
        with fw.dual_level() as level:
            d = fw.make_dual(x, t)
            return (level, repr(d), d.requires_grad, tuple(fw.unpack_dual(x)),
                    type(fw.unpack_dual(d)).__name__, fw.unpack_dual(d.detach()).tangent)
    same(fn)


def test_tangents_cleared_when_level_exits():
    def fn(T):
        fw = _fw(T)
        with fw.dual_level():
            d = fw.make_dual(T.tensor([1.0, 2.0]), T.tensor([1.0, 0.5]))
            y = d * 3
        return fw.unpack_dual(d).tangent, fw.unpack_dual(y).tangent, repr(y)
    same(fn)


def test_errors():
    def fn(T):
        fw = _fw(T)
        x = T.tensor([1.0, 2.0])
        res = []
        for call in (lambda: fw.make_dual(x, T.ones(2)),):
            try:
                call()
            except RuntimeError as e:
                res.append(str(e))
        with fw.dual_level():
            for call in (lambda: fw.make_dual(x, T.ones(3)),
                         lambda: fw.make_dual(T.tensor([1, 2]), T.tensor([1, 2]))):
                try:
                    call()
                except (RuntimeError, ValueError) as e:
                    res.append(f"{type(e).__name__}: {e}")
            try:
                with fw.dual_level():
                    pass
            except RuntimeError as e:
                res.append(str(e))
        return res
    same(fn)


def test_no_grad_inplace_and_setitem():
    def fn(T):
        fw = _fw(T)
        x, t = _pair(T)
        with fw.dual_level():
            d = fw.make_dual(x, t)
            with T.no_grad():
                a = fw.unpack_dual(d.exp()).tangent
            z = T.zeros(2, 3, dtype=T.float64)
            z.add_(d)
            q = d * 2
            q.mul_(d)
            w = T.zeros(3, 3, dtype=T.float64)
            w[1:] = d
            c = T.zeros(2, 3, dtype=T.float64)
            c.copy_(d)
            return (a, fw.unpack_dual(z).tangent, fw.unpack_dual(q).tangent,
                    fw.unpack_dual(w).tangent, fw.unpack_dual(c).tangent)
    same(fn)


def test_dual_of_tensor_requiring_grad_keeps_backward_working():
    def fn(T):
        fw = _fw(T)
        x, t = _pair(T)
        x.requires_grad_()
        with fw.dual_level():
            d = fw.make_dual(x, t)
            y = (d.sin() * d).sum()
            tangent = fw.unpack_dual(y).tangent
            y.backward()
        return d.grad_fn.name(), tangent.detach(), x.grad
    same(fn)


@pytest.mark.parametrize("create_graph", [False, True])
def test_forward_over_reverse_hessian_vector_product(create_graph):
    def fn(T):
        fw = _fw(T)
        x, v = _pair(T)
        x.requires_grad_()
        with fw.dual_level():
            d = fw.make_dual(x, v)
            f = (d.sin() * d).sum() + (d ** 3).prod() * 0.1 + d.exp().logsumexp(1).sum()
            (g,) = T.autograd.grad(f, d, create_graph=create_graph)
            return g.detach(), fw.unpack_dual(g).tangent.detach()
    same(fn)


EMPTY_OPS = {
    # NOTE [empty fibers]: the tangent of a mean over nothing (a 'mean' loss, logsumexp, std) is
    # NaN in PyTorch; sums and var stay 0 (found by tests/fuzz)
    "mse": lambda T, F, d: (F.mse_loss(d, d * 0), F.mse_loss(d, d * 0, reduction="sum")),
    "smooth_l1_huber": lambda T, F, d: (F.smooth_l1_loss(d, d * 2), F.huber_loss(d * 2, d)),
    "soft_margin": lambda T, F, d: F.soft_margin_loss(d, d.detach().sign()),
    "bce": lambda T, F, d: (F.binary_cross_entropy(d.sigmoid(), d.detach() * 0),
                            F.binary_cross_entropy_with_logits(d, d.detach() * 0)),
    "nll": lambda T, F, d: F.cross_entropy(d.reshape(0, 1) if d.ndim == 1 else d.T,
                                           T.zeros(0, dtype=T.long)),
    "logsumexp": lambda T, F, d: (T.logsumexp(d, 0), d.sum(0), d.amax(0) if d.ndim > 1 else d),
    "std_var": lambda T, F, d: (d.std(0), d.var(0), T.std_mean(d, 0), T.var_mean(d, 0)),
}


@pytest.mark.parametrize("shape", [(0,), (0, 2)])
@pytest.mark.parametrize("name", sorted(EMPTY_OPS))
def test_tangents_over_empty_inputs(name, shape):
    def fn(T):
        fw = _fw(T)
        x = T.zeros(shape, dtype=T.float64)
        with fw.dual_level():
            out = EMPTY_OPS[name](T, T.nn.functional, fw.make_dual(x, T.ones_like(x)))
            outs = [o for r in (out if isinstance(out, tuple) else (out,))
                    for o in (r if isinstance(r, tuple) else (r,))]
            return [tuple(fw.unpack_dual(o)) for o in outs]
    same(fn, warnings_too=False)


ALIASED_INPLACE = {
    # NOTE [aliased in-place operands]: PyTorch reads an operand that shares memory with self
    # after the op (found by tests/fuzz: v.flatten().addcmul_(v, v))
    "addcmul_self": lambda z: z.addcmul_(z, z),
    "addcmul_view": lambda z: z.flatten().addcmul_(z, z.view(-1)),
    "mul_self": lambda z: z.mul_(z),
    "mul_view": lambda z: z.view(-1).mul_(z),
    "lerp_weight": lambda z: z.lerp_(z.view(-1) * 0 + 1, z.view(-1)),
    "add_view": lambda z: z.view(-1).add_(z, alpha=0.5),
    "sub_self": lambda z: z.sub_(z, alpha=0.5),
}


@pytest.mark.parametrize("name", sorted(ALIASED_INPLACE))
def test_inplace_with_an_operand_aliasing_self(name):
    def fn(T):
        fw = _fw(T)
        x = T.tensor([1.47, 0.5], dtype=T.float64)
        with fw.dual_level():
            z = fw.make_dual(x, T.tensor([1.0, 0.3], dtype=T.float64)) * 1
            out = ALIASED_INPLACE[name](z)
            return tuple(fw.unpack_dual(z)), tuple(fw.unpack_dual(out))
    same(fn, warnings_too=False)


def test_nansum_tangent_is_masked_at_nan_inputs():
    # PyTorch masks the tangent where the input is NaN: a NaN tangent there adds 0 (found by
    # tests/fuzz: nansum of var_mean of one element)
    def fn(T):
        fw = _fw(T)
        x = T.tensor([-0.5, 2.0, 0.25], dtype=T.float64)
        with fw.dual_level():
            d = fw.make_dual(x, T.tensor([1.0, -1.0, 0.5], dtype=T.float64))
            outs = (T.var_mean(d[:1], -1)[0].nansum(-1), d.log().nansum(), T.nansum(d.sqrt(), 0))
            return [tuple(fw.unpack_dual(o)) for o in outs]
    same(fn, warnings_too=False)


@pytest.mark.parametrize("reduce", ["prod", "sum", "amax"])
def test_scatter_reduce_and_index_reduce_tangents(reduce):
    # PyTorch's forward AD gives scatter_reduce 'prod' no tangent and index_reduce none at all
    # (NotImplementedError) (found by tests/fuzz)
    def fn(T):
        fw = _fw(T)
        x, t = _pair(T)
        with fw.dual_level():
            d = fw.make_dual(x, t)
            out = T.scatter_reduce(d, 0, T.tensor([[1, 0, 1]]), d[:1].exp(), reduce)
            got = [tuple(fw.unpack_dual(out)), tuple(fw.unpack_dual(out * d))]
            try:
                d.index_reduce(0, T.tensor([1]), d[:1] * 2, reduce if reduce != "sum" else "mean")
            except NotImplementedError as e:
                got.append(str(e))
            return got
    same(fn, warnings_too=False)


def test_in_place_through_a_view_of_a_matrix_exp():
    # matrix_exp's tangent was a slice of a block matrix: flatten() of it copied, so an
    # in-place op through v.flatten() changed the value but not the tangent (found by
    # tests/fuzz)
    def fn(T):
        fw = _fw(T)
        x = T.tensor([[[-0.79, -0.789], [-0.775, -0.78]]], dtype=T.float64)
        with fw.dual_level():
            v = T.linalg.matrix_exp(fw.make_dual(x, T.ones_like(x)) * 0.3)
            v.flatten().neg_()
            got = tuple(fw.unpack_dual(v))

        def f(a):
            w = T.linalg.matrix_exp(a * 0.3)
            w.flatten().neg_()
            return w
        return got, T.func.jvp(f, (x,), (T.ones_like(x),))
    same(fn, warnings_too=False)


ALIASED_TANGENT_OPS = {
    # NOTE [aliased tangents]: PyTorch's formula for these is self_t itself, so an in-place op
    # on the result changes the input's tangent too (found by tests/fuzz)
    "frac": lambda T, y: T.frac(y),
    "fmod_number": lambda T, y: T.fmod(y, 0.7),
    "remainder_bool": lambda T, y: T.remainder(y, True),
    "fmod_tensor": lambda T, y: T.fmod(y, T.full_like(y, 0.7)),
    "add_number": lambda T, y: y + 1,
}


@pytest.mark.parametrize("name", sorted(ALIASED_TANGENT_OPS))
def test_in_place_on_a_result_whose_tangent_aliases_the_input(name):
    def fn(T):
        fw = _fw(T)
        with fw.dual_level():
            d = fw.make_dual(T.tensor([1.47, -0.5], dtype=T.float64),
                             T.tensor([1.0, 0.3], dtype=T.float64))
            y = d * 1
            v = ALIASED_TANGENT_OPS[name](T, y)
            v.view(-1).mul_(2)
            return tuple(fw.unpack_dual(y)), tuple(fw.unpack_dual(v))
    same(fn, warnings_too=False)


def test_views_taken_before_their_base_got_a_tangent():
    # x.view(-1) taken before x.mul_(dual): the view's tangent is that view of the base's
    # (found by tests/fuzz: ember's view had none)
    def fn(T):
        fw = _fw(T)
        with fw.dual_level():
            x1 = T.tensor([0.9375, 0.5, 0.25, 1.0], dtype=T.float64)
            x2 = fw.make_dual(T.tensor([0.7712, 1.5, -1.0, 2.0], dtype=T.float64),
                              T.tensor([1.0, 2.0, 3.0, 4.0], dtype=T.float64))
            v2, v3, v4 = x1.view(-1), x1[1:3], x1.view(2, 2).t()
            x1.mul_(x2)
            got = [tuple(fw.unpack_dual(v2)), tuple(fw.unpack_dual(v4 * 2))]
            v3.mul_(3)
            return got + [tuple(fw.unpack_dual(x1)), tuple(fw.unpack_dual(v3))]
    same(fn, warnings_too=False)


def test_in_place_on_a_view_gives_its_base_a_tangent():
    # x.view(-1).mul_(dual) with x plain: x gets a zero tangent with the view's part written
    # into it, as PyTorch (fuzz seed 2026 #11356: ember's x had none)
    def fn(T):
        fw = _fw(T)
        with fw.dual_level():
            d = fw.make_dual(T.tensor([-1.25, 2.0], dtype=T.float64),
                             T.tensor([1.0, 10.0], dtype=T.float64))
            x, y = T.tensor([1.5, 2.0], dtype=T.float64), T.ones(2, 3, dtype=T.float64)
            x.view(-1).mul_(d)
            y[1, 1:].mul_(d)
            z = T.ones(2, 2, dtype=T.float64)
            z.t()[0].add_(d)
            return [tuple(fw.unpack_dual(t)) for t in (x, y, z)]
    same(fn, warnings_too=False)


@pytest.mark.parametrize("view", ["whole", "slice", "t", "diagonal", "flat"])
def test_frac_keeps_the_tangent_alias_only_with_the_same_layout(view):
    # PyTorch's frac tangent is self_t itself only where it has the output's layout (sizes,
    # strides, whole memory from its start); a diagonal or slice's is copied, so an in-place op
    # on the result leaves the input's tangent alone (fuzz seed 2026 #9548)
    pick = {"whole": lambda a: a, "slice": lambda a: a[:1], "t": lambda a: a.t(),
            "diagonal": lambda a: a.diagonal(), "flat": lambda a: a.view(-1)}[view]

    def fn(T):
        def f(x):
            w = T.frac(pick(x))
            w.tanh_()
            return x, w
        x = T.tensor([[1.38, -0.77, 2.5], [0.3, 1.7, -2.2]], dtype=T.float64)
        t = T.tensor([[1.0, 10.0, 3.0], [4.0, 5.0, 6.0]], dtype=T.float64)
        fw = _fw(T)
        with fw.dual_level():
            got = [fw.unpack_dual(o).tangent for o in f(fw.make_dual(x.clone(), t.clone()))]
        return T.func.jvp(f, (x,), (t,)), got
    same(fn, warnings_too=False)
