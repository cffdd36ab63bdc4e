"""Oracle tests for ``ember.func.vmap`` against ``torch.func.vmap``: one group per family of
batching rules (values and shapes), ``in_dims`` / ``out_dims`` variants and their errors,
nesting, per-sample gradients with ``vmap(grad(loss))``, randomness, the no-rule error, and
that a batched op runs once on the whole batch (no per-sample loop).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember

from .oracle import same


def data(*shape):
    """Fixed data per shape, so both libraries get the same values within a test."""
    seed = int(np.prod(shape)) * 31 + len(shape)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


X = data(4, 3)
Y = -0.5 * data(4, 3) + 0.1
W = data(3)
M = data(4, 3, 5)
S = data(3, 5)


def T_(T, a):  # noqa: N802 - reads as a constructor
    return T.tensor(a)


def vm(T):
    return T.func.vmap


# ---- elementwise -----------------------------------------------------------------------------

@pytest.mark.parametrize("f", [
    lambda T, a, b: a + b, lambda T, a, b: a * 2 - b / 3, lambda T, a, b: T.sin(a) * b.exp(),
    lambda T, a, b: T.maximum(a, b), lambda T, a, b: (a > b).float(), lambda T, a, b: a ** 2,
    lambda T, a, b: T.where(a > 0, a, b), lambda T, a, b: a.clamp(min=-0.5, max=0.5),
    lambda T, a, b: a.masked_fill(b > 0, 0.0), lambda T, a, b: T.nn.functional.gelu(a) + b.relu(),
    lambda T, a, b: T.sigmoid(a).tanh(), lambda T, a, b: -a.abs(),
    lambda T, a, b: a.clone().contiguous().detach(),
])
def test_elementwise(f):
    same(lambda T: vm(T)(lambda a, b: f(T, a, b))(T_(T, X), T_(T, Y)))


def test_broadcast_with_unbatched_and_wider_operand():
    # the unbatched operand has more logical dims than the batched one: dims align right
    same(lambda T: vm(T)(lambda a, b: a + b, in_dims=(0, None))(T_(T, X), T_(T, data(2, 3))))
    same(lambda T: vm(T)(lambda a, b: a * b, in_dims=(None, 0))(T_(T, S[0]), T_(T, M)))
    # a broadcasting error names the dim as PyTorch's batching rule sees it
    same(lambda T: vm(T)(lambda a, b: a * b, in_dims=(None, 0))(T_(T, W), T_(T, M)))


def test_inplace_on_batched_and_error_on_unbatched_self():
    def ok(T):
        def f(a, b):
            c = a.clone()
            c.add_(b)
            c *= 2
            return c
        return vm(T)(f)(T_(T, X), T_(T, Y))
    same(ok)

    def bad(T):
        return vm(T)(lambda a, b: a.add_(b), in_dims=(None, 0))(T_(T, W).clone(), T_(T, Y))
    same(bad)


# ---- reductions and dim ops -------------------------------------------------------------------

@pytest.mark.parametrize("f", [
    lambda a: a.sum(), lambda a: a.sum(0), lambda a: a.sum(-1, keepdim=True),
    lambda a: a.mean((0, 1)), lambda a: a.amax(-1), lambda a: a.max(),
    lambda a: a.max(1).values, lambda a: a.argmax(), lambda a: a.argmin(dim=0),
    lambda a: a.prod(), lambda a: a.std(1), lambda a: a.var(), lambda a: a.logsumexp(-1),
    lambda a: a.cumsum(0), lambda a: a.softmax(-1), lambda a: a.log_softmax(dim=1),
    lambda a: a.norm(), lambda a: a.sort(-1).values, lambda a: a.topk(2).indices,
    lambda a: (a > 0).any(), lambda a: (a > 0).all(1), lambda a: a.aminmax(dim=0),
    lambda a: a.cummax(1), lambda a: a.max(-1), lambda a: a.min(0, keepdim=True),
    lambda a: a.median(), lambda a: a.sum(dim=(-1, 0)), lambda a: a.var(0, correction=0),
    lambda a: a.count_nonzero(), lambda a: a.kthvalue(2), lambda a: a.argsort(0),
    lambda a: a.nansum(), lambda a: a.amin((0, 1)), lambda a: a.norm(dim=1),
    lambda a: a.sum(0).sum(), lambda a: a.cumprod(-1), lambda a: a.logcumsumexp(0),
])
def test_reductions(f):
    same(lambda T: vm(T)(f)(T_(T, M)))


def test_reduction_dim_errors_use_logical_rank():
    same(lambda T: vm(T)(lambda a: a.sum(2))(T_(T, M[..., 0])))


# ---- matmul family ---------------------------------------------------------------------------

@pytest.mark.parametrize("f,dims,args", [
    (lambda T, a, b: a @ b, (0, None), (M, S.T.copy())),
    (lambda T, a, b: a @ b, (0, 0), (M, data(4, 5, 2))),
    (lambda T, a, b: a @ b, (0, None), (X, S)),
    (lambda T, a, b: a @ b, (None, 0), (S.T.copy(), X)),
    (lambda T, a, b: T.matmul(a, b), (0, 0), (X, Y)),
    (lambda T, a, b: T.mm(a, b), (0, None), (M, S.T.copy())),
    (lambda T, a, b: T.mv(a, b), (0, 0), (M, data(4, 5))),
    (lambda T, a, b: T.dot(a, b), (0, None), (X, W)),
    (lambda T, a, b: T.outer(a, b), (0, 0), (X, Y)),
    (lambda T, a, b: T.bmm(a, b), (0, None), (data(4, 2, 3, 5), data(2, 5, 2))),
    (lambda T, a, b: a @ b, (0, None), (data(4, 2, 3, 5), data(5,))),
])
def test_matmul_family(f, dims, args):
    same(lambda T: vm(T)(lambda a, b: f(T, a, b), in_dims=dims)(*(T_(T, x) for x in args)))


def test_linear_with_batched_and_unbatched_weight():
    b = data(5)
    same(lambda T: vm(T)(T.nn.functional.linear, in_dims=(0, None, None))(
        T_(T, X), T_(T, S.T.copy()), T_(T, b)))
    same(lambda T: vm(T)(T.nn.functional.linear, in_dims=(None, 0, 0))(
        T_(T, W), T_(T, data(4, 5, 3)), T_(T, data(4, 5))))


# ---- shape ops and indexing ----------------------------------------------------------------

@pytest.mark.parametrize("f", [
    lambda a: a.view(15), lambda a: a.reshape(5, -1), lambda a: a.permute(1, 0),
    lambda a: a.transpose(0, 1), lambda a: a.t(), lambda a: a.T, lambda a: a.mT,
    lambda a: a.unsqueeze(0), lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(1).squeeze(),
    lambda a: a[None].expand(2, 3, 5), lambda a: a.flatten(), lambda a: a.movedim(0, 1),
    lambda a: a[1], lambda a: a[:, 1:3], lambda a: a[..., 0], lambda a: a[[0, 2]],
    lambda a: a.narrow(1, 1, 2), lambda a: a.select(0, 2), lambda a: a.flip(0),
    lambda a: a.roll(1), lambda a: a.unflatten(1, (5, 1)), lambda a: a.split(2, dim=1),
    lambda a: a.chunk(3), lambda a: a.unbind(1), lambda a: a.view_as(a.T.T),
    lambda a: a.reshape_as(a.flatten()), lambda a: a[0].expand_as(a),
])
def test_shape_ops(f):
    same(lambda T: vm(T)(f)(T_(T, M)))


@pytest.mark.parametrize("meta", [
    lambda a: list(a.shape), lambda a: [a.size(-1), a.size(0)], lambda a: list(a.size()),
    lambda a: [a.dim(), a.ndim, a.numel(), len(a)],
])
def test_metadata_is_logical(meta):
    same(lambda T: vm(T)(lambda a: a.sum() * 0 + sum(meta(a)))(T_(T, M)))


def test_shape_ops_report_logical_shape():
    got = ember.func.vmap(lambda a: ember.zeros(a.shape) + a.dim())(ember.tensor(M))
    assert got.shape == (4, 3, 5) and float(got[0, 0, 0]) == 2.0


def test_cat_stack_gather_index_select():
    idx = np.array([[0, 2], [1, 1], [2, 0]])
    same(lambda T: vm(T)(lambda a, b: T.cat([a, b], 1), in_dims=(0, None))(
        T_(T, M), T_(T, S)))
    same(lambda T: vm(T)(lambda a, b: T.stack([a, b], -1))(T_(T, X), T_(T, Y)))
    same(lambda T: vm(T)(lambda a, i: a.gather(1, i), in_dims=(0, None))(
        T_(T, M), T.tensor(idx)))
    same(lambda T: vm(T)(lambda a: a.index_select(1, T.tensor([4, 0])))(T_(T, M)))


def test_batched_index_tensors():
    idx = np.array([[0, 2], [1, 1], [2, 0], [0, 0]])
    same(lambda T: vm(T)(lambda a, i: a[i])(T_(T, M), T.tensor(idx)))
    same(lambda T: vm(T)(lambda a, i: a[i, :])(T_(T, M), T.tensor(idx[:, 0])))
    same(lambda T: vm(T)(lambda i: T_(T, S)[i])(T.tensor(idx)))
    same(lambda T: vm(T)(lambda a, i: a.index_select(1, i))(T_(T, M), T.tensor(idx)))
    same(lambda T: vm(T)(vm(T)(lambda a, i: a[i]), in_dims=(None, 0))(
        T_(T, M), T.tensor(idx[None].repeat(2, 0))))


@pytest.mark.parametrize("f,dims", [
    (lambda T, a, b: a.scatter(1, T.tensor([[0, 1], [2, 0], [1, 1]]), b[:, :2]), (0, 0)),
    (lambda T, a, b: a.scatter_add(0, T.tensor([[0, 1, 2, 0, 1]]), b[:1]), (0, 0)),
    (lambda T, a, b: a.index_add(1, T.tensor([0, 4]), b[:, :2]), (0, 0)),
    (lambda T, a, b: a.index_fill(0, T.tensor([1]), -1.0), (0, 0)),
    (lambda T, a, b: T.addmm(b[:, :1] * 0 + 1, a, b.mT), (0, 0)),
    (lambda T, a, b: T.addmm(a[:, :3], a, b.mT, beta=0.5, alpha=2), (0, 0)),
    (lambda T, a, b: T.addmv(a[:, 0], a, b[0], beta=2), (0, 0)),
    (lambda T, a, b: T.addr(a, a[:, 0], b[0]), (0, 0)),
    (lambda T, a, b: a.diagonal(), (0, 0)),
    (lambda T, a, b: a.diagonal(1, -1, 0), (2, None)),
    (lambda T, a, b: T.trace(a), (0, None)),
    (lambda T, a, b: T.broadcast_tensors(a, b[0]), (None, 0)),
])
def test_scatter_index_addmm_diagonal(f, dims):
    same(lambda T: vm(T)(lambda a, b: f(T, a, b), in_dims=dims)(T_(T, M), T_(T, data(4, 3, 5))),
         rtol=1e-5, atol=1e-5)


def test_setitem():
    def fn(T):
        def f(a, v):
            c = a.clone()
            c[1] = v
            c[0, 0] = 7.0
            return c
        return vm(T)(f)(T_(T, M), T_(T, data(4, 5)))
    same(fn)


# ---- nn.functional -------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_per_sample(reduction):
    logits = data(4, 6, 5)
    target = np.array([[0, 1, 2, 3, 4, 1], [1, 1, 1, 0, 0, 0], [4, 3, 2, 1, 0, 2],
                       [2, 2, 2, 2, 2, 2]])
    weight = np.abs(data(5)) + 0.1

    def fn(T):
        return vm(T)(lambda x, t: T.nn.functional.cross_entropy(
            x, t, weight=T_(T, weight), reduction=reduction, ignore_index=2))(
            T_(T, logits), T.tensor(target))
    same(fn)
    same(lambda T: vm(T)(lambda x, t: T.nn.functional.cross_entropy(x, t))(
        T_(T, X), T.tensor([0, 2, 1, 1])))


def test_pointwise_losses_and_norms():
    same(lambda T: vm(T)(lambda a, b: T.nn.functional.mse_loss(a, b))(T_(T, M), T_(T, M * 2)))
    same(lambda T: vm(T)(lambda a, b: T.nn.functional.l1_loss(a, b, reduction="sum"))(
        T_(T, X), T_(T, Y)))
    same(lambda T: vm(T)(lambda a: T.nn.functional.layer_norm(a, (5,)))(T_(T, M)))
    same(lambda T: vm(T)(lambda a: T.nn.functional.embedding(a, T_(T, S)))(
        T.tensor([[0, 1], [2, 2], [1, 0], [0, 0]])))


def test_more_losses():
    logits, target = data(4, 6, 5), np.abs(data(4, 6, 5))
    same(lambda T: vm(T)(lambda x, t: T.nn.functional.cross_entropy(x, t.softmax(-1)))(
        T_(T, logits), T_(T, target)))
    same(lambda T: vm(T)(lambda x, t: T.nn.functional.nll_loss(x.log_softmax(-1), t))(
        T_(T, logits), T.tensor(np.arange(24).reshape(4, 6) % 5)))
    same(lambda T: vm(T)(lambda x, t: T.nn.functional.binary_cross_entropy_with_logits(
        x, t, pos_weight=T_(T, np.abs(W) + 0.5)))(T_(T, X), T_(T, np.abs(Y) / 2)))
    same(lambda T: vm(T)(lambda x, t: T.nn.functional.smooth_l1_loss(x, t, beta=0.5))(
        T_(T, M), T_(T, M / 3)))


def test_conv_pool_and_norm_fold_the_batch():
    img, ker = data(3, 2, 2, 6, 6), data(4, 2, 3, 3)
    same(lambda T: vm(T)(T.nn.functional.conv2d, in_dims=(0, None))(T_(T, img), T_(T, ker)))
    same(lambda T: vm(T)(lambda x: T.nn.functional.conv2d(x, T_(T, ker), padding=1))(
        T_(T, img[:, 0])), rtol=1e-4, atol=1e-5)
    same(lambda T: vm(T)(lambda x: T.nn.functional.max_pool2d(x, 2))(T_(T, img)))
    same(lambda T: vm(T)(lambda x: T.nn.functional.avg_pool1d(x, 3))(T_(T, M)))
    same(lambda T: vm(T)(lambda x: T.nn.functional.group_norm(x, 2))(T_(T, img)),
         rtol=1e-4, atol=1e-5)
    same(lambda T: vm(T)(lambda x: T.nn.functional.pad(x, (1, 2), value=3.0))(T_(T, M)))
    same(lambda T: vm(T)(lambda x: T.nn.functional.conv2d(x, T_(T, ker)))(T_(T, M)))


@pytest.mark.parametrize("f,dims", [
    (lambda T, a, b: T.einsum("i,ij->j", a[:, 0], b), (0, 0)),
    (lambda T, a, b: T.einsum("ij,ij", b, b), (0, 0)),
    (lambda T, a, b: T.einsum("...j->...", b), (None, 2)),
    (lambda T, a, b: T.einsum("ij,kj->ik", a[0, :, :2], b[:, :2]), (None, 1)),
    (lambda T, a, b: T.einsum("bij,bjk->bik", [b[None], b.mT[None]]), (None, 0)),
    (lambda T, a, b: b.repeat(2, 1, 3), (None, 0)),
    (lambda T, a, b: b.tile((2,)), (None, 0)),
    (lambda T, a, b: T.nn.functional.cosine_similarity(a, b[:, :5], dim=0), (0, 0)),
    # NOTE: not broadcasting along dim: ember's cosine_similarity differs from PyTorch's there
    (lambda T, a, b: T.nn.functional.cosine_similarity(b, b[0] + 1, dim=-1), (None, 0)),
    (lambda T, a, b: T.nn.functional.glu(b, 0), (None, 1)),
    (lambda T, a, b: T.nn.functional.pairwise_distance(b, a[0, :, :1]), (None, 0)),
])
def test_einsum_repeat_and_paired_ops(f, dims):
    same(lambda T: vm(T)(lambda a, b: f(T, a, b), in_dims=dims)(T_(T, M), T_(T, data(4, 3, 6))),
         rtol=1e-5, atol=1e-5)


def test_attention_and_linalg():
    q, kv = data(4, 2, 5, 3), data(4, 2, 6, 3)
    same(lambda T: vm(T)(T.nn.functional.scaled_dot_product_attention, in_dims=(0, 0, None))(
        T_(T, q), T_(T, kv), T_(T, kv[0])), rtol=1e-4, atol=1e-5)
    a = data(4, 3, 3) + 3 * np.eye(3, dtype=np.float32)
    same(lambda T: vm(T)(T.linalg.inv)(T_(T, a)), rtol=1e-4, atol=1e-5)
    same(lambda T: vm(T)(T.linalg.det)(T_(T, a)), rtol=1e-4, atol=1e-5)
    same(lambda T: vm(T)(T.linalg.solve, in_dims=(0, None))(T_(T, a), T_(T, W)),
         rtol=1e-4, atol=1e-5)


def test_vmap_of_a_module_and_backward_through_vmap():
    def module(T):
        model = T.nn.Linear(3, 2)
        with T.no_grad():
            model.weight.copy_(T_(T, data(2, 3)))
            model.bias.copy_(T_(T, data(2)))
        out = vm(T)(model)(T_(T, X))
        out.pow(2).sum().backward()
        return out.detach(), model.weight.grad, model.bias.grad
    same(module, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["jacfwd", "jvp", "jvp_tangents", "vjp", "vjp_cotangents",
                                  "jacrev", "hessian"])
def test_vmap_of_the_other_transforms(case):
    def fn(T):
        F, x = T.func, T_(T, X)
        f = lambda b: b.sin() * b.sum()  # noqa: E731
        return {
            "jacfwd": lambda: F.vmap(F.jacfwd(f))(x),
            "jvp": lambda: F.vmap(lambda a: F.jvp(f, (a,), (T.ones(3),))[1])(x),
            "jvp_tangents": lambda: F.vmap(lambda t: F.jvp(f, (x[0],), (t,))[1])(x),
            "vjp": lambda: F.vmap(lambda a: F.vjp(f, a)[1](T.ones(3))[0])(x),
            "vjp_cotangents": lambda: F.vmap(lambda c: F.vjp(f, x[0])[1](c)[0])(x),
            "jacrev": lambda: F.vmap(F.jacrev(f))(x),
            "hessian": lambda: F.vmap(F.hessian(lambda a: (a ** 3).sum()))(x),
        }[case]()
    # warnings_too=False: PyTorch warns about its own torch.jit use on first forward-mode call
    same(fn, rtol=1e-4, atol=1e-5, warnings_too=False)


def test_vmap_of_jacrev_and_of_hessian_free_grad_grad():
    f = lambda T: lambda x: (x.sin() * x.sum()).tanh()  # noqa: E731
    same(lambda T: vm(T)(T.func.jacrev(f(T)))(T_(T, X)), rtol=1e-4, atol=1e-5)
    g = lambda T: lambda x: (x ** 3).sum()  # noqa: E731
    same(lambda T: vm(T)(T.func.grad(lambda x: T.func.grad(g(T))(x).sum()))(T_(T, X)),
         rtol=1e-4, atol=1e-5)


# ---- in_dims / out_dims ------------------------------------------------------------------------

@pytest.mark.parametrize("in_dims,out_dims", [
    (1, 0), (-1, 1), (0, -1), ((0, None), 0), ((2, 2), 2), (2, (1,)), ((1, None), 0),
])
def test_in_dims_out_dims(in_dims, out_dims):
    same(lambda T: vm(T)(lambda a, b: a * b + 1, in_dims=in_dims, out_dims=out_dims)(
        T_(T, M), T_(T, data(4, 3, 5))))


def test_nested_structures_and_multiple_outputs():
    def fn(T):
        def f(pair, d):
            a, b = pair
            return a + d["x"], (a * b).sum()
        return vm(T)(f, in_dims=((0, 1), {"x": None}), out_dims=(1, 0))(
            (T_(T, X), T_(T, X.T.copy())), {"x": T_(T, W)})
    same(fn)


def test_unbatched_output_is_expanded_and_out_dims_none():
    same(lambda T: vm(T)(lambda a: T.ones(2))(T_(T, X)))
    same(lambda T: vm(T)(lambda a, b: (a * 2, b), in_dims=(0, None), out_dims=(0, None))(
        T_(T, X), 3))
    same(lambda T: vm(T)(lambda a, b: (a * 2, b), in_dims=(0, None), out_dims=(0, None))(
        T_(T, X), T_(T, W)))


@pytest.mark.parametrize("call", [
    lambda T: vm(T)(lambda a: a, in_dims=2)(T.tensor(X)),
    lambda T: vm(T)(lambda a, b: a, in_dims=(0,))(T.tensor(X), T.tensor(X)),
    lambda T: vm(T)(lambda a, b: a + b)(T.tensor(X), T.tensor(M)),
    lambda T: vm(T)(lambda a: a, in_dims=None)(T.tensor(X)),
    lambda T: vm(T)(lambda a: a, in_dims=0)(3.0),
    lambda T: vm(T)(lambda a: a, in_dims=[0])(T.tensor(X)),
    lambda T: vm(T)(lambda: 1)(),
    lambda T: vm(T)(lambda a: 3)(T.tensor(X)),
    lambda T: vm(T)(lambda a: a, out_dims=None)(T.tensor(X)),
    lambda T: vm(T)(lambda a: a, out_dims=(0, 1))(T.tensor(X)),
    lambda T: vm(T)(lambda a: a, chunk_size=0),
    lambda T: vm(T)(lambda a: a, randomness="sometimes"),
    lambda T: vm(T)(lambda a: a.item())(T.tensor(X)),
    lambda T: vm(T)(lambda a: bool(a.sum() > 0))(T.tensor(X)),
    lambda T: vm(T)(lambda a: float(a.sum()))(T.tensor(X)),
    lambda T: vm(T)(lambda a: int(a.sum()))(T.tensor(X)),
    lambda T: vm(T)(lambda a: a.tolist())(T.tensor(X)),
    lambda T: vm(T)(lambda a: a.data * 2)(T.tensor(X)),
    lambda T: vm(T)(lambda a: [r for r in a.sum(0)])(T.tensor(X)),
    lambda T: vm(T)(lambda a: T.stack([r * 2 for r in a]))(T.tensor(M)),
    lambda T: vm(T)(lambda a: a + T.randn(3))(T.tensor(X)),
    lambda T: vm(T)(lambda a: T.nn.functional.dropout(a))(T.tensor(X)),
])
def test_errors(call):
    same(call)


def test_chunk_size_and_dropout_off_in_eval():
    same(lambda T: vm(T)(lambda a: a.sum(0), in_dims=1, chunk_size=2)(T_(T, M)))
    same(lambda T: vm(T)(lambda a: T.nn.functional.dropout(a, training=False))(T_(T, X)))


def test_randomness_same_and_different():
    x = ember.tensor(X)
    same_rand = ember.func.vmap(lambda a: a * 0 + ember.randn(3), randomness="same")(x)
    assert ember.equal(same_rand[0], same_rand[1])
    diff = ember.func.vmap(lambda a: ember.nn.functional.dropout(a + 10, 0.5),
                           randomness="different")(ember.ones(64, 50))
    assert not ember.equal(diff[0] == 0, diff[1] == 0)
    rows = ember.ones(8, 50) * ember.arange(1., 9.)[:, None]
    same_mask = ember.func.vmap(lambda a: ember.nn.functional.dropout(a, 0.5),
                                randomness="same")(rows)
    assert ember.equal(same_mask[0] == 0, same_mask[5] == 0)
    assert ember.allclose(same_mask[3], same_mask[0] * 4)
    like = ember.func.vmap(lambda a: ember.randn_like(a), randomness="same")(ember.ones(3, 4))
    assert like.shape == (3, 4) and ember.equal(like[0], like[2])
    for draw in (lambda a: a * 0 + ember.randn(5), lambda a: a * 0 + ember.rand((5,)),
                 lambda a: a * 0 + ember.randint(0, 1000, (5,))):
        rows = ember.func.vmap(draw, randomness="different")(ember.ones(3, 5))
        assert rows.shape == (3, 5) and not ember.equal(rows[0], rows[1])


# ---- nesting and gradients -----------------------------------------------------------------

def test_nested_vmap():
    same(lambda T: vm(T)(vm(T)(lambda a, b: (a * b).sum()), in_dims=(0, None))(
        T_(T, M), T_(T, data(3, 5))))
    same(lambda T: vm(T)(vm(T)(T.dot, in_dims=(0, None)), in_dims=(None, 0))(
        T_(T, X), T_(T, data(2, 3))))
    same(lambda T: vm(T)(vm(T)(lambda a: a @ a.T, in_dims=1), in_dims=2)(T_(T, M)))


def _mlp_loss(F):
    def loss(w1, b1, w2, b2, x, y):
        h = F.linear(x, w1, b1).tanh()
        return F.cross_entropy(F.linear(h, w2, b2), y)
    return loss


PARAMS = (data(6, 3), data(6), data(4, 6), data(4))
XS = data(5, 3)
YS = np.array([0, 3, 1, 2, 3])


def test_per_sample_gradients_match_torch():
    def fn(T):
        params = tuple(T_(T, p) for p in PARAMS)
        return vm(T)(T.func.grad(_mlp_loss(T.nn.functional), argnums=(0, 1, 2, 3)),
                     in_dims=(None,) * 4 + (0, 0))(*params, T_(T, XS), T.tensor(YS))
    same(fn, rtol=1e-4, atol=1e-5)


def test_per_sample_gradients_match_a_loop():
    params = tuple(ember.tensor(p) for p in PARAMS)
    loss = _mlp_loss(ember.nn.functional)
    dloss = ember.func.grad(loss, argnums=(0, 1, 2, 3))
    got = ember.func.vmap(dloss, in_dims=(None,) * 4 + (0, 0))(
        *params, ember.tensor(XS), ember.tensor(YS))
    for i in range(len(XS)):
        ref = dloss(*params, ember.tensor(XS[i]), ember.tensor(YS[i]))
        for g, r in zip(got, ref):
            np.testing.assert_allclose(g[i].numpy(), r.numpy(), rtol=1e-5, atol=1e-6)


def test_per_sample_gradients_of_a_cnn_match_torch():
    def fn(T):
        F = T.nn.functional

        def loss(w1, b1, w2, b2, x, y):
            h = F.conv2d(x[None], w1, b1, padding=1).relu()
            h = F.max_pool2d(h, 2).flatten(1)
            return F.cross_entropy(F.linear(h, w2, b2), y[None])

        params = [T_(T, p) for p in (data(3, 2, 3, 3), data(3), data(4, 12), data(4))]
        dloss = T.func.grad(loss, argnums=(0, 1, 2, 3))
        return vm(T)(dloss, in_dims=(None,) * 4 + (0, 0))(
            *params, T_(T, data(5, 2, 4, 4)), T.tensor([0, 1, 2, 3, 1]))
    same(fn, rtol=1e-4, atol=1e-5)


def test_conv_with_batched_weights_and_eval_batch_norm():
    same(lambda T: vm(T)(lambda x, w, b: T.nn.functional.conv1d(x, w, b, stride=2, groups=2))(
        T_(T, data(3, 2, 4, 7)), T_(T, data(3, 6, 2, 3)), T_(T, data(3, 6))), rtol=1e-4,
        atol=1e-5)
    same(lambda T: vm(T)(lambda w: T.nn.functional.conv2d(T_(T, data(2, 5, 5)), w))(
        T_(T, data(3, 4, 2, 2, 2))), rtol=1e-4, atol=1e-5)

    def bn(T):
        mean, var = T.tensor(data(2)), T.tensor(np.abs(data(2)) + 0.5)
        return vm(T)(lambda x: T.nn.functional.batch_norm(x, mean, var, training=False))(
            T_(T, data(3, 4, 2, 5)))
    same(bn, rtol=1e-4, atol=1e-5)
    # batch statistics are each sample's own (tests/test_vmap_records.py checks the refusal
    # of running statistics updated with batched values)
    same(lambda T: vm(T)(lambda x: T.nn.functional.batch_norm(x, None, None, training=True))(
        T_(T, data(3, 4, 2, 5))), rtol=1e-4, atol=1e-5)


def test_per_sample_gradients_of_embedding_and_norms_match_torch():
    def fn(T):
        F = T.nn.functional

        def loss(emb, ln_w, ln_b, gn_w, gn_b, idx, y):
            h = F.layer_norm(F.embedding(idx, emb), (4,), ln_w, ln_b)  # (3, 4)
            h = F.group_norm(h.T[None], 2, gn_w, gn_b)  # (1, 4, 3)
            return ((h.sum(-1) - y) ** 2).mean()

        params = [T_(T, p) for p in (data(6, 4), data(4), data(4) / 2, data(4) + 1,
                                     data(4) - 1)]
        dloss = T.func.grad(loss, argnums=(0, 1, 2, 3, 4))
        return vm(T)(dloss, in_dims=(None,) * 5 + (0, 0))(
            *params, T.tensor([[0, 1, 5], [2, 2, 3], [4, 0, 0]]), T_(T, data(3, 4)))
    same(fn, rtol=1e-4, atol=1e-5)


def test_grad_of_batched_input_and_grad_of_vmap():
    same(lambda T: vm(T)(T.func.grad(lambda a: (a.sin() * a).sum()))(T_(T, M)))

    def outer(T):
        x = T.tensor(X, requires_grad=True)
        out = vm(T)(lambda a: (a ** 2).sum())(x).sum()
        (g,) = T.autograd.grad(out, x)
        return g
    same(outer)


# ---- the no-rule error and no per-sample loop ----------------------------------------------

def test_op_without_rule_runs_per_sample():
    # PyTorch's fallback: an op with no batching rule runs once per sample
    a, b = ember.tensor(data(2, 3, 3)), ember.tensor(data(2, 3, 3))
    got = ember.func.vmap(ember.linalg.lstsq)(a, b)
    for i in range(2):
        want = ember.linalg.lstsq(a[i], b[i])
        assert np.allclose(got.solution[i].numpy(), want.solution.numpy())
    w = ember.tensor(data(3, 2))
    got = ember.func.vmap(lambda v: ember.cartesian_prod(v, v))(w)
    assert np.allclose(got.numpy(), np.stack([ember.cartesian_prod(v, v).numpy() for v in w]))


def test_one_call_per_batched_op(monkeypatch):
    from ember._modes import OpKey, dispatcher

    calls = []
    # (the ops' implementations under their dispatchers: NOTE [one call path] in _modes.py)
    orig_sin, orig_mm = ember.sin.__wrapped__, ember.Tensor.matmul.__wrapped__

    def counting_sin(x):
        calls.append(("sin", tuple(x._data.shape)))
        return orig_sin(x)

    def counting_matmul(a, b):
        calls.append(("matmul", tuple(a._data.shape)))
        return orig_mm(a, b)

    from ember._records import RECORDS

    monkeypatch.setattr(ember, "sin",
                        dispatcher(OpKey("torch", "sin", RECORDS["sin"]), counting_sin))
    monkeypatch.setattr(ember.Tensor, "matmul",
                        dispatcher(OpKey("Tensor", "matmul", RECORDS["matmul"]), counting_matmul))
    out = ember.func.vmap(lambda a, b: ember.sin(a).matmul(b), in_dims=(0, None))(
        ember.tensor(data(7, 3)), ember.tensor(S))
    assert out.shape == (7, 5)
    assert [c for c in calls if c[0] == "sin"] == [("sin", (7, 3))]
    assert len([c for c in calls if c[0] == "matmul"]) == 1


def test_ops_restored_after_vmap():
    before = (ember.sin, ember.Tensor.__add__, ember.Tensor.shape, ember.nn.functional.linear)
    ember.func.vmap(lambda a: ember.sin(a) + 1)(ember.tensor(X))
    with pytest.raises(ValueError):
        ember.func.vmap(lambda a: a, in_dims=5)(ember.tensor(X))
    with pytest.raises(RuntimeError):
        ember.func.vmap(lambda a: a.item())(ember.tensor(X))
    after = (ember.sin, ember.Tensor.__add__, ember.Tensor.shape, ember.nn.functional.linear)
    assert all(a is b for a, b in zip(before, after))


# ---- property: vmap equals a loop over the samples ------------------------------------------

OPS_FOR_PROPERTY = [
    lambda a: a.exp() - a * 2, lambda a: a.sum(-1), lambda a: a.mean(0, keepdim=True),
    lambda a: a.softmax(-1), lambda a: a.flatten(), lambda a: a.unsqueeze(0).transpose(0, -1),
    lambda a: a.amax(), lambda a: a.cumsum(-1), lambda a: a.flip(-1)[..., :2],
    lambda a: ember.cat([a, a * 2], -1), lambda a: ember.stack([a, a], 0).sum(0),
    lambda a: (a @ a.mT) if a.dim() >= 2 else a @ a,
]


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       op=st.sampled_from(range(len(OPS_FOR_PROPERTY))), data_=st.data())
def test_property_vmap_equals_loop(shape, op, data_):
    in_dim = data_.draw(st.integers(-len(shape), len(shape) - 1))
    out_dim = data_.draw(st.sampled_from([0, -1]))
    f = OPS_FOR_PROPERTY[op]
    x = ember.tensor(np.random.default_rng(len(shape) + op).standard_normal(shape)
                     .astype(np.float32))
    try:
        want = ember.stack([f(s) for s in x.unbind(in_dim)], out_dim)
    except (RuntimeError, IndexError) as exc:  # an op a sample can't take: vmap refuses too
        with pytest.raises(type(exc)):
            ember.func.vmap(f, in_dims=in_dim, out_dims=out_dim)(x)
        return
    got = ember.func.vmap(f, in_dims=in_dim, out_dims=out_dim)(x)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_per_sample_gradients_take_one_backward_pass(monkeypatch):
    calls = []
    orig = ember.autograd.grad

    def counting_grad(outputs, inputs, *args, **kwargs):
        calls.append(tuple(o._data.shape for o in (
            outputs if isinstance(outputs, (tuple, list)) else (outputs,))))
        return orig(outputs, inputs, *args, **kwargs)

    monkeypatch.setattr(ember.autograd, "grad", counting_grad)
    params = [ember.tensor(p) for p in PARAMS]
    dloss = ember.func.grad(_mlp_loss(ember.nn.functional), argnums=(0, 1, 2, 3))
    grads = ember.func.vmap(dloss, in_dims=(None,) * 4 + (0, 0))(
        *params, ember.tensor(XS), ember.tensor(YS))
    assert [g.shape for g in grads] == [(5, *p.shape) for p in params]
    # one backward over the whole batch: the output it differentiates holds all 5 losses
    assert calls == [((5,),)]


@pytest.mark.parametrize("f", [
    lambda T, a: T.nn.functional.softmax(a, 0), lambda T, a: T.nn.functional.normalize(a),
    lambda T, a: T.nn.functional.normalize(a, dim=-1, p=1.0),
    lambda T, a: T.nn.functional.one_hot((a > 0).long().sum(0), 4),
    lambda T, a: T.special.expit(a), lambda T, a: T.where(a > 0, a, 0.0),
    lambda T, a: T.nn.functional.leaky_relu(a, 0.2), lambda T, a: T.nn.functional.softplus(a, 2),
    lambda T, a: T.nn.functional.log_softmax(a, dim=-1).exp(),
])
def test_functional_spellings(f):
    same(lambda T: vm(T)(lambda a: f(T, a))(T_(T, M)))


def test_docstring_example():
    out = ember.func.vmap(ember.dot)(ember.ones(3, 2), ember.ones(3, 2))
    assert out.tolist() == [2.0, 2.0, 2.0]


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=2, max_size=4),
       op=st.sampled_from(range(len(OPS_FOR_PROPERTY))), data_=st.data())
def test_property_nested_vmap_equals_nested_loops(shape, op, data_):
    outer = data_.draw(st.integers(0, len(shape) - 1))
    inner = data_.draw(st.integers(-(len(shape) - 1), len(shape) - 2))
    f = OPS_FOR_PROPERTY[op]
    x = ember.tensor(np.random.default_rng(len(shape) * 7 + op).standard_normal(shape)
                     .astype(np.float32))
    try:
        want = ember.stack([ember.stack([f(t) for t in s.unbind(inner)])
                            for s in x.unbind(outer)])
    except (RuntimeError, IndexError) as exc:
        with pytest.raises(type(exc)):
            ember.func.vmap(ember.func.vmap(f, in_dims=inner), in_dims=outer)(x)
        return
    got = ember.func.vmap(ember.func.vmap(f, in_dims=inner), in_dims=outer)(x)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=3), data_=st.data())
def test_property_binary_broadcast_equals_loop(shape, data_):
    # y's logical shape: a suffix of x's with some dims set to 1, or x's with dims in front
    cut = data_.draw(st.integers(0, len(shape)))
    yshape = [1 if data_.draw(st.booleans()) else s for s in shape[cut:]]
    if data_.draw(st.booleans()):
        xs, ys = list(shape), yshape
    else:
        xs, ys = yshape, list(shape)
    dims = data_.draw(st.sampled_from([(0, 0), (0, None), (None, 0)]))
    op = data_.draw(st.sampled_from([lambda a, b: a + b, lambda a, b: a * b - b,
                                     lambda a, b: ember.maximum(a, b),
                                     lambda a, b: ember.where(a > b, a, b * 2)]))
    rng = np.random.default_rng(len(shape))
    x = ember.tensor(rng.standard_normal(([3] if dims[0] == 0 else []) + xs).astype(np.float32))
    y = ember.tensor(rng.standard_normal(([3] if dims[1] == 0 else []) + ys).astype(np.float32))
    got = ember.func.vmap(op, in_dims=dims)(x, y)
    want = ember.stack([op(x[i] if dims[0] == 0 else x, y[i] if dims[1] == 0 else y)
                        for i in range(3)])
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(na=st.integers(1, 3), nb=st.integers(1, 3), data_=st.data())
def test_property_matmul_equals_loop(na, nb, data_):
    n, m, p = 2, 3, 4
    lead = [2] * (max(na, nb) - 2) if max(na, nb) > 2 else []
    ashape = [n] if na == 1 else lead[len(lead) - (na - 2):] + [m, n] if na > 2 else [m, n]
    bshape = [n] if nb == 1 else lead[len(lead) - (nb - 2):] + [n, p] if nb > 2 else [n, p]
    dims = data_.draw(st.sampled_from([(0, 0), (0, None), (None, 0)]))
    rng = np.random.default_rng(na * 3 + nb)
    a = ember.tensor(rng.standard_normal(([5] if dims[0] == 0 else []) + ashape)
                     .astype(np.float32))
    b = ember.tensor(rng.standard_normal(([5] if dims[1] == 0 else []) + bshape)
                     .astype(np.float32))
    got = ember.func.vmap(ember.matmul, in_dims=dims)(a, b)
    want = ember.stack([ember.matmul(a[i] if dims[0] == 0 else a, b[i] if dims[1] == 0 else b)
                        for i in range(5)])
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_vmap_through_conv_and_pool_modules():
    # nn.Conv*/pooling modules call F's op at call time, so vmap's batching rules apply to
    # them as to F.conv2d (the per-sample-gradients recipe runs a CNN through functional_call).
    def fn(T):
        T.manual_seed(0)
        model = T.nn.Sequential(T.nn.Conv2d(1, 2, 3), T.nn.ReLU(), T.nn.MaxPool2d(2),
                                T.nn.AdaptiveAvgPool2d(1), T.nn.Flatten(),
                                T.nn.Linear(2, 1))
        params = {k: v.detach() for k, v in model.named_parameters()}
        x = T.randn(3, 1, 6, 6)

        def loss(p, s):
            return T.func.functional_call(model, p, (s.unsqueeze(0),)).pow(2).sum()

        return T.func.vmap(T.func.grad(loss), in_dims=(None, 0))(params, x)
    same(fn)


@pytest.mark.parametrize("randomness", ["error", "different", "same"])
@pytest.mark.parametrize("sampler", ["uniform_", "normal_", "bernoulli_", "exponential_"])
def test_in_place_samplers_follow_randomness(sampler, randomness):
    # Tensor.uniform_ & co. reach vmap through their dispatchers (their op records): 'error'
    # refuses them, 'different' draws per sample and 'same' once, with PyTorch's numbers
    def f(m):
        m.manual_seed(0)
        x = m.zeros(3, 2, dtype=m.float64)
        return m.func.vmap(lambda v: getattr(v.clone(), sampler)(), randomness=randomness)(x)
    same(f)
