"""bfloat16 as PyTorch computes it on CPU (NOTE [bfloat16 products] in ember/ops/linalg.py).

Products (mm, matmul, einsum, conv, LSTM...) keep bfloat16, accumulating in float32 and
rounding once. CI rule: on CPUs with AVX-512 BF16 PyTorch's oneDNN kernels round otherwise, so
GEMMs and reductions are compared within bfloat16's tolerance (``oracle.same`` has a floor of
two bfloat16 ulps), never bitwise.
"""

import numpy as np
import pytest

from tests.oracle import same

pytest.importorskip("ml_dtypes")

RNG = np.random.default_rng(13)
A = RNG.standard_normal((6, 40)).astype(np.float32)
B = RNG.standard_normal((40, 5)).astype(np.float32)
C = RNG.standard_normal((3, 6, 40)).astype(np.float32)
D = RNG.standard_normal((3, 40, 5)).astype(np.float32)
V = RNG.standard_normal(40).astype(np.float32)
X1 = RNG.standard_normal((2, 3, 17)).astype(np.float32)
W1 = RNG.standard_normal((4, 3, 3)).astype(np.float32)
X2 = RNG.standard_normal((2, 3, 7, 7)).astype(np.float32)
W2 = RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)
G2 = RNG.standard_normal((2, 4, 7, 7)).astype(np.float32)
HALF = ["bfloat16", "float16"]


def t(m, a, dtype, grad=False):
    x = m.tensor(a).to(getattr(m, dtype))
    return x.requires_grad_() if grad else x


def grads(m, fn, dtype, *arrays):
    """``fn`` of the arrays as leaves that require grad, its result's backward (of ones), and
    the leaves' gradients."""
    leaves = [t(m, a, dtype, True) for a in arrays]
    out = fn(*leaves)
    out.backward(m.ones_like(out))
    return [out] + [x.grad for x in leaves]


PRODUCTS = {
    "mm": lambda m, x, y: m.mm(x, y),
    "matmul": lambda m, x, y: x @ y,
    "linear": lambda m, x, y: m.nn.functional.linear(x, y.t()),
    "einsum": lambda m, x, y: m.einsum("ij,jk->ik", x, y),
    "tensordot": lambda m, x, y: m.tensordot(x, y, 1),
    "addmm": lambda m, x, y: m.addmm(y[0], x, y, beta=0.5, alpha=2),
    "multi_dot": lambda m, x, y: m.linalg.multi_dot([x, y]),
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", PRODUCTS)
def test_matrix_products_keep_the_half_dtype(name, dtype):
    op = PRODUCTS[name]
    same(lambda m: op(m, t(m, A, dtype), t(m, B, dtype)))
    same(lambda m: grads(m, lambda x, y: op(m, x, y), dtype, A, B))


BATCHED = {
    "bmm": lambda m, x, y: m.bmm(x, y),
    "matmul": lambda m, x, y: x @ y,
    "einsum": lambda m, x, y: m.einsum("bij,bjk->bik", x, y),
    "baddbmm": lambda m, x, y: m.baddbmm(y[:, 0, :1], x, y, alpha=0.5),
    "addbmm": lambda m, x, y: m.addbmm(y[0, :1], x, y),
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", BATCHED)
def test_batched_products_keep_the_half_dtype(name, dtype):
    op = BATCHED[name]
    same(lambda m: op(m, t(m, C, dtype), t(m, D, dtype)))
    same(lambda m: grads(m, lambda x, y: op(m, x, y), dtype, C, D))


@pytest.mark.parametrize("dtype", HALF)
def test_vector_products_keep_the_half_dtype(dtype):
    same(lambda m: m.mv(t(m, A, dtype), t(m, V, dtype)))
    same(lambda m: t(m, A, dtype) @ t(m, V, dtype))
    same(lambda m: t(m, C, dtype) @ t(m, V, dtype))
    same(lambda m: m.dot(t(m, V, dtype), t(m, V, dtype)))
    same(lambda m: m.inner(t(m, A, dtype), t(m, A, dtype)))
    same(lambda m: m.addmv(t(m, A[:, 0], dtype), t(m, A, dtype), t(m, V, dtype)))
    same(lambda m: grads(m, lambda x, v: m.mv(x, v), dtype, A, V))
    same(lambda m: m.linalg.vecdot(t(m, A, dtype, True), t(m, A, dtype)))
    same(lambda m: grads(m, lambda x: m.linalg.vecdot(x, x), dtype, A))


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, float("inf")])
def test_matrix_norm_in_half(dtype, ord):  # noqa: A002 - PyTorch's argument name
    same(lambda m: m.linalg.matrix_norm(t(m, A, dtype, True), ord=ord))


def test_bfloat16_products_round_once():
    """Without AVX-512 BF16, PyTorch's result is the float32 product rounded once: ember's is
    the same but where the two BLAS libraries' float32 sums round differently near a bfloat16
    rounding boundary (a check of the method; CI compares GEMMs within tolerance)."""
    import torch

    import ember

    if "avx512_bf16" in open("/proc/cpuinfo").read():
        pytest.skip("PyTorch's oneDNN bfloat16 kernels round otherwise here")
    a, b = (RNG.standard_normal(s).astype(np.float32) for s in ((64, 300), (300, 32)))
    mine, ref = ((m.tensor(a).bfloat16() @ m.tensor(b).bfloat16()).float().numpy()
                 for m in (ember, torch))
    assert (mine != ref).mean() < 0.01
    np.testing.assert_allclose(mine, ref, rtol=2 ** -7)


CONV = {
    "conv1d": (lambda m, x, w, b: m.nn.functional.conv1d(x, w, b, stride=2), X1, W1),
    "conv1d_pad": (lambda m, x, w, b: m.nn.functional.conv1d(x, w, b, padding=1), X1, W1),
    "conv2d": (lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, padding=1), X2, W2),
    "conv2d_s2": (lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, stride=2), X2, W2),
    "conv_transpose1d": (lambda m, x, w, b: m.nn.functional.conv_transpose1d(
        x, w.transpose(0, 1), b[:3], stride=2), RNG.standard_normal((2, 4, 9)), W1),
    "conv_transpose2d": (lambda m, x, w, b: m.nn.functional.conv_transpose2d(
        x, w.transpose(0, 1), b[:3]), RNG.standard_normal((2, 4, 5, 5)), W2),
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", CONV)
def test_convolutions_keep_the_half_dtype(name, dtype):
    op, x, w = CONV[name]
    bias = RNG.standard_normal(4).astype(np.float32)
    same(lambda m: op(m, t(m, x, dtype), t(m, w, dtype), t(m, bias, dtype)))
    # (the weight gradient sums over every output position: with native bfloat16 dot products
    # (AVX-512 BF16) PyTorch's partial sums round otherwise, a few ulps of small entries)
    same(lambda m: grads(m, lambda a, b, c: op(m, a, b, c), dtype, x, w, bias), atol=4e-2)


@pytest.mark.parametrize("dtype", HALF)
def test_lerp_in_half(dtype):
    a, b = A, A * 3 + 1
    same(lambda m: m.lerp(t(m, a, dtype), t(m, b, dtype), 0.3))
    same(lambda m: m.lerp(t(m, a, dtype), t(m, b, dtype), 0.7))
    same(lambda m: m.lerp(t(m, a, dtype), t(m, b, dtype), t(m, np.abs(a) / 3, dtype)))
    same(lambda m: grads(m, lambda x, y, w: m.lerp(x, y, w), dtype, a, b, np.abs(a) / 3))
    same(lambda m: t(m, a, dtype).lerp_(t(m, b, dtype), 0.25))


def _grad_of(fn, x, dtype):
    """``fn`` of ``x`` as a leaf, and the leaf's gradient for a fixed random upstream."""
    def run(m):
        up = np.random.default_rng(5)
        leaf = t(m, x, dtype, True)
        out = fn(m, leaf)
        first = out[0] if isinstance(out, tuple) else out
        first.backward(t(m, up.standard_normal(tuple(first.shape)), dtype))
        return out, leaf.grad
    return run


POOLS = {
    "max_pool1d": (lambda m, x: m.nn.functional.max_pool1d(x, 3, 2, 1), X1),
    "max_pool2d": (lambda m, x: m.nn.functional.max_pool2d(x, 2), X2),
    "max_pool2d_indices": (lambda m, x: m.nn.functional.max_pool2d(
        x, 3, 2, 1, return_indices=True), X2),
    "avg_pool1d": (lambda m, x: m.nn.functional.avg_pool1d(x, 3, 2, 1), X1),
    "avg_pool2d": (lambda m, x: m.nn.functional.avg_pool2d(x, 3, 2, 1), X2),
    "adaptive_avg_pool1d": (lambda m, x: m.nn.functional.adaptive_avg_pool1d(x, 5), X1),
    "adaptive_avg_pool2d": (lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 4), X2),
    "adaptive_avg_pool2d_1": (lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, 1), X2),
    "adaptive_max_pool2d": (lambda m, x: m.nn.functional.adaptive_max_pool2d(x, 3), X2),
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", POOLS)
def test_pooling_in_half(name, dtype):
    # (gradients that sum several windows' shares: PyTorch adds them in the half type one by
    # one, ember rounds their float32 sum once, so they agree to the precision of the sum)
    fn, x = POOLS[name]
    same(_grad_of(fn, x, dtype), atol=1e-2)


LAYERS = {
    "layer_norm": lambda m, x: m.nn.functional.layer_norm(x, (7,)),
    "softmax": lambda m, x: m.softmax(x, -1),
    "log_softmax": lambda m, x: m.log_softmax(x, -1),
    "cross_entropy": lambda m, x: m.nn.functional.cross_entropy(
        x.reshape(-1, 7), m.arange(42) % 7),
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", LAYERS)
def test_layers_in_half(name, dtype):
    # (PyTorch's half backward of layer_norm reads statistics rounded to the half type, ember's
    # float32 ones (tests/ops/test_numerics_oracle.py): their gradients agree to the half
    # type's precision of the largest terms, not elementwise)
    same(_grad_of(LAYERS[name], X2, dtype), atol=3e-2)


RNN_X = RNG.standard_normal((5, 2, 4)).astype(np.float32)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("train", [True, False])
def test_recurrent_layers_keep_the_half_dtype(cls, dtype, train):
    import torch

    torch.manual_seed(0)
    weights = [p.detach().numpy().copy() for p in getattr(torch.nn, cls)(4, 6).parameters()]

    def run(m):
        net = getattr(m.nn, cls)(4, 6)
        with m.no_grad():
            for p, w in zip(net.parameters(), weights):
                p.copy_(m.tensor(w))
        net = net.to(getattr(m, dtype))
        x = t(m, RNN_X, dtype, train)
        if not train:
            with m.no_grad():
                return net(x)
        out, _ = net(x)
        out.backward(t(m, np.cos(np.arange(60.0)).reshape(5, 2, 6), dtype))
        if dtype == "bfloat16":
            # (on CPUs with AVX-512 BF16 PyTorch runs a bfloat16 layer through oneDNN, whose
            # node is MkldnnRnnLayerBackward0: the node's name depends on the CPU, the values
            # do not)
            out = out.detach()
        return out, x.grad, [p.grad for p in net.parameters()]
    # (weight gradients sum over time steps: PyTorch's half sums round per step)
    same(run, atol=4e-2)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell", "RNNCell"])
def test_recurrent_cells_keep_the_half_dtype(cls, dtype):
    import torch

    torch.manual_seed(0)
    weights = [p.detach().numpy().copy() for p in getattr(torch.nn, cls)(4, 6).parameters()]

    def run(m):
        cell = getattr(m.nn, cls)(4, 6)
        with m.no_grad():
            for p, w in zip(cell.parameters(), weights):
                p.copy_(m.tensor(w))
        return cell.to(getattr(m, dtype))(t(m, RNN_X[0], dtype))
    same(run, atol=1e-2)


OPTIMIZERS = {
    "Adam": {"lr": 0.1}, "AdamW": {"lr": 0.1, "weight_decay": 0.1},
    "Adam_amsgrad": {"lr": 0.1, "amsgrad": True}, "SGD_momentum": {"lr": 0.1, "momentum": 0.9},
    "SGD_nesterov": {"lr": 0.1, "momentum": 0.9, "nesterov": True}, "RMSprop": {"lr": 0.01},
    "Adagrad": {"lr": 0.1}, "Adamax": {"lr": 0.1}, "NAdam": {"lr": 0.1}, "RAdam": {"lr": 0.1},
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizers_step_half_parameters(name, dtype):
    def run(m):
        w = t(m, A, dtype, True)
        opt = getattr(m.optim, name.split("_")[0])([w], **OPTIMIZERS[name])
        for _ in range(3):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        return w.detach(), [v for v in opt.state[w].values()]
    # (three steps of updates rounded to the half type: a one-ulp difference in a step moves
    # the next; float16's eps=1e-8 rounds to 0, and 0 / 0 warns in NumPy, not in PyTorch)
    same(run, atol=3e-2, warnings_too=False)


def test_a_bfloat16_training_step_matches_pytorch():
    """A small MLP in bfloat16 (``model.to(bfloat16)``) trained 5 Adam steps on cross entropy:
    the losses agree with PyTorch's within bfloat16's tolerance, and the weights within what 5
    steps of Adam can move them apart (each step moves a weight by about lr: where a gradient
    is near 0, a one-ulp difference in it turns the step around)."""
    import torch

    import ember

    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))
    weights = [p.detach().numpy().copy() for p in ref.parameters()]
    data = np.random.default_rng(0)
    x = data.standard_normal((16, 20)).astype(np.float32)
    y = data.integers(0, 5, 16)
    lr, steps = 1e-2, 5

    def run(m):
        model = m.nn.Sequential(m.nn.Linear(20, 32), m.nn.ReLU(), m.nn.Linear(32, 5))
        with m.no_grad():
            for p, w in zip(model.parameters(), weights):
                p.copy_(m.tensor(w))
        model = model.to(m.bfloat16)
        opt = m.optim.Adam(model.parameters(), lr=lr)
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = m.nn.functional.cross_entropy(model(m.tensor(x).bfloat16()), m.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        return losses, [p.detach() for p in model.parameters()]
    mine, theirs = run(ember), run(torch)
    same(lambda m: run(m)[0], atol=2e-2)
    for a, b in zip(mine[1], theirs[1]):
        assert a.dtype is ember.bfloat16 and b.dtype is torch.bfloat16
        a, b = a.float().numpy(), b.float().numpy()
        np.testing.assert_allclose(a, b, atol=2 * lr * steps)
        assert np.median(np.abs(a - b)) <= 2 ** -8 * np.median(np.abs(b))


SCALAR_OPS = {
    "mul": lambda m, a, b, c: a * 0.9,
    "rmul": lambda m, a, b, c: 0.9 * a,
    "mul_0d": lambda m, a, b, c: a * m.tensor(0.9),
    "div": lambda m, a, b, c: a / 0.99,
    "mul_": lambda m, a, b, c: a.clone().mul_(0.9),
    "div_": lambda m, a, b, c: a.clone().div_(0.99),
    "add_alpha": lambda m, a, b, c: m.add(a, b, alpha=0.1),
    "sub_alpha": lambda m, a, b, c: m.sub(a, b, alpha=0.3),
    "add_alpha_": lambda m, a, b, c: a.clone().add_(b, alpha=0.9),
    "addcmul": lambda m, a, b, c: m.addcmul(a, b, c, value=0.001),
    "addcmul_": lambda m, a, b, c: a.clone().addcmul_(b, c, value=0.001),
    "addcdiv": lambda m, a, b, c: m.addcdiv(a, b, c, value=-0.01),
    "addcdiv_": lambda m, a, b, c: a.clone().addcdiv_(b, c, value=-0.01),
    "lerp": lambda m, a, b, c: m.lerp(a, b, 0.1),
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", SCALAR_OPS)
def test_half_arithmetic_with_scalars_rounds_once(name, dtype):
    """NOTE [half scalars]: an elementwise op with a scalar computes in float32 with the scalar
    unrounded (alpha rounded) and rounds once, as PyTorch: the same bits (no GEMM or reduction
    here, so bitwise)."""
    import torch

    import ember

    data = np.random.default_rng(1)
    arrays = [data.standard_normal(4000), data.standard_normal(4000),
              np.abs(data.standard_normal(4000)) + 0.1]
    mine, ref = (SCALAR_OPS[name](m, *(t(m, a, dtype) for a in arrays)) for m in (ember, torch))
    assert str(mine.dtype) == str(ref.dtype)
    np.testing.assert_array_equal(mine.float().numpy(), ref.float().numpy())


SELECTIONS = {
    "sort": lambda m, x: x.sort(-1),
    "sort_descending": lambda m, x: x.sort(0, descending=True),
    "topk": lambda m, x: x.topk(3),
    "kthvalue": lambda m, x: x.kthvalue(2, 1),
    "median": lambda m, x: x.median(),
    "median_dim": lambda m, x: x.median(-1),
    "max_dim": lambda m, x: x.max(-1),
    "argmax": lambda m, x: x.argmax(-1),
    "aminmax": lambda m, x: m.aminmax(x, dim=0),
    "cummax": lambda m, x: x.cummax(1),
    "cummin": lambda m, x: x.cummin(0),
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", SELECTIONS)
def test_selections_in_half_keep_the_gradient(name, dtype):
    # (bfloat16 is NumPy kind "V": these took it for a non-float and dropped its gradient).
    # Distinct values exact in both half types: no ties, whose order PyTorch leaves open
    distinct = (np.random.default_rng(3).permutation(240).reshape(6, 40) - 120) / 4
    with_nan = distinct.copy()
    with_nan[1, 3] = np.nan
    for data in (distinct, with_nan):
        same(lambda m, data=data: SELECTIONS[name](m, t(m, data, dtype, True)))
    # (cummax/cummin gradients add up in the half type in PyTorch, at once in ember)
    same(_grad_of(lambda m, v: SELECTIONS[name](m, v), distinct, dtype), atol=1e-2)


X3 = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
MORE = {
    "interpolate_nearest": lambda m, x: m.nn.functional.interpolate(x, scale_factor=2),
    "interpolate_bilinear": lambda m, x: m.nn.functional.interpolate(
        x, scale_factor=2, mode="bilinear"),
    "interpolate_bicubic": lambda m, x: m.nn.functional.interpolate(
        x, size=(8, 9), mode="bicubic"),
    "unfold": lambda m, x: m.nn.functional.unfold(x, 2),
    "fold": lambda m, x: m.nn.functional.fold(m.nn.functional.unfold(x, 2), (6, 6), 2),
    "nanmean": lambda m, x: x.nanmean(),
    "renorm": lambda m, x: x.renorm(2, 0, 1.0),
    "logcumsumexp": lambda m, x: x.logcumsumexp(1),
    "histc": lambda m, x: m.histc(x.detach()),
    "cdist": lambda m, x: m.cdist(x[0, 0], x[0, 1]),
    "avg_pool3d": lambda m, x: m.nn.functional.avg_pool3d(x[None], 2),
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", MORE)
def test_more_ops_in_half(name, dtype):
    # (bfloat16, NumPy kind "V", was refused as a non-float by these; cdist and avg_pool3d have
    # no half kernels in PyTorch, and now raise as there)
    same(lambda m: MORE[name](m, t(m, X3, dtype, True)), atol=2e-2)


def _special_values(m, dtype):
    return t(m, np.array([1.0, np.inf, -np.inf, np.nan, -2.0, 0.5]), dtype)


KIND_V = {
    "isposinf": lambda m, d: m.isposinf(_special_values(m, d)),
    "isneginf": lambda m, d: m.isneginf(_special_values(m, d)),
    "max_pool_nan": lambda m, d: m.nn.functional.max_pool1d(
        _special_values(m, d).reshape(1, 1, 6), 2, return_indices=True),
    "index_with_bfloat16": lambda m, d: t(m, A, d)[t(m, np.array([0.0, 1.0]), d)],
    "scatter_reduce_amax": lambda m, d: t(m, A[0, :4], d).scatter_reduce(
        0, m.tensor([0, 1, 0, 1]), t(m, A[1, :4], d), "amax", include_self=False),
    "scatter_reduce_mean": lambda m, d: t(m, A[0, :4], d, True).scatter_reduce(
        0, m.tensor([0, 1, 0, 1]), t(m, A[1, :4], d), "mean"),
    "bce_with_logits": lambda m, d: m.nn.functional.binary_cross_entropy_with_logits(
        t(m, A, d, True), t(m, (A > 0) * 1.0, d)),
}


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", KIND_V)
def test_bfloat16_is_a_float_here_too(name, dtype):
    same(lambda m: KIND_V[name](m, dtype), atol=2e-2)


def test_per_sample_gradients_of_a_bfloat16_model():
    """vmap(grad) over a bfloat16 model (NOTE [per-sample gradients]) differentiates it."""
    import torch

    w0 = RNG.standard_normal((3, 4)).astype(np.float32)
    xs = RNG.standard_normal((5, 4)).astype(np.float32)

    def run(m):
        w = m.tensor(w0).bfloat16()
        return m.func.vmap(m.func.grad(lambda w, x: (w @ x).sum()), in_dims=(None, 0))(
            w, m.tensor(xs).bfloat16())
    assert torch is not None
    same(run, atol=2e-2)
