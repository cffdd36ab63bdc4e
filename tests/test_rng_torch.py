"""ember's random streams against PyTorch's, bit for bit.

Every case seeds both libraries the same way, runs the same sampling code with ``torch`` and
with ``ember``, then compares each result's bit pattern (so -0.0 and NaN count) and the
generator's 5056 state bytes (which catch a wrong word count, a wrong normal cache or a wrong
seed that the values alone may hide). Run it as is and again with ``ATEN_CPU_CAPABILITY=default``
exported before Python starts: both libraries read it, which covers PyTorch's DEFAULT build on
any AVX2 machine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from ember import _rng_kernels  # noqa: E402

SEEDS = (0, 42, 2 ** 32 + 5, -1)
SIZES = (0, 1, 2, 7, 15, 16, 17, 31, 32, 33, 100, 1007)
FLOATS = ("float32", "float64", "float16", "bfloat16")


def setup_module():
    theirs = torch.backends.cpu.get_cpu_capability()
    want = "DEFAULT" if theirs == "DEFAULT" else "AVX2"
    _rng_kernels.set_capability(None)
    assert _rng_kernels.capability() == want, (
        f"ember imitates PyTorch's {_rng_kernels.capability()} build but this PyTorch runs its "
        f"{theirs} kernels: export ATEN_CPU_CAPABILITY for both or neither")


def _bits(x):
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bfloat16:
            return "bfloat16", x.view(torch.int16).numpy().view(np.uint16)
        a = x.detach().numpy()
        name = str(x.dtype).replace("torch.", "")
        return name, a.view(f"u{a.itemsize}") if a.dtype.kind in "fc" else a
    if isinstance(x, ember.Tensor):
        a = x.detach()._data
        name = x.dtype.name
        if a.dtype.kind in "fcV":
            a = a.view(f"u{a.itemsize}")
        return name, a
    return "py", np.asarray(x)


def same(fn, seeds=SEEDS):
    """``fn(lib)`` returns a list of tensors (or numbers): equal bits, equal states."""
    for s in seeds:
        torch.manual_seed(s)
        ember.manual_seed(s)
        theirs = fn(torch)
        ours = fn(ember)
        assert len(theirs) == len(ours)
        for k, (t, e) in enumerate(zip(theirs, ours)):
            (tn, tb), (en, eb) = _bits(t), _bits(e)
            assert tn == en, (s, k, tn, en)
            assert tb.shape == eb.shape, (s, k, tb.shape, eb.shape)
            if not np.array_equal(tb, eb):
                bad = np.flatnonzero(tb.reshape(-1) != eb.reshape(-1))
                raise AssertionError(f"seed {s}, output {k}: {bad.size} of {tb.size} differ, "
                                     f"first at {bad[0]}: torch {t.reshape(-1)[bad[0]]!r} "
                                     f"ember {e.reshape(-1)[bad[0]]!r}")
        assert np.array_equal(torch.get_rng_state().numpy(), ember.get_rng_state()._data), s


def dt(lib, name):
    return getattr(lib, name)


# ---- engine, seeds, state ----
def test_known_values():
    ember.manual_seed(0)
    assert ember.rand(3)._data.view(np.uint32).tolist() == [0x3efe1558, 0x3f44aa2f, 0x3db533a8]
    ember.manual_seed(0)
    assert ember.randn(3)._data.view(np.uint32).tolist() == [0x3fc53f5c, 0xbe963c50, 0xc00b7149]
    ember.manual_seed(0)
    assert ember.randint(0, 10, (8,)).tolist() == [4, 9, 3, 0, 3, 9, 7, 3]
    ember.manual_seed(0)
    assert ember.randperm(8).tolist() == [4, 0, 7, 3, 2, 5, 1, 6]


@pytest.mark.parametrize("seed", (0, 1, 42, 2 ** 31 + 5, 2 ** 32 + 5, 2 ** 32 + 7, 2 ** 64 - 1,
                                  -1, -5, 67280421310721))
def test_seed_state_bytes(seed):
    same(lambda L: [L.initial_seed(), L.get_rng_state(), L.rand(5), L.get_rng_state()], (seed,))


def test_state_round_trip_both_ways():
    torch.manual_seed(3)
    torch.randn(5)  # leaves a cached normal
    torch.rand(700)
    ember.set_rng_state(ember.tensor(torch.get_rng_state().numpy()))
    assert ember.randn(3).tolist() == torch.randn(3).tolist()
    ember.randn(1)
    ember.rand(1000)
    torch.set_rng_state(torch.from_numpy(ember.get_rng_state()._data.copy()))
    assert torch.randn(40).tolist() == ember.randn(40).tolist()
    assert np.array_equal(torch.get_rng_state().numpy(), ember.get_rng_state()._data)


def test_state_errors():
    def bad(L, x):
        try:
            L.set_rng_state(x(L))
        except Exception as e:  # noqa: BLE001
            return type(e).__name__, str(e)

    for x in (lambda L: L.zeros(5048, dtype=L.uint8), lambda L: L.zeros(5056),
              lambda L: L.zeros(5056, dtype=L.uint8)):
        assert bad(torch, x) == bad(ember, x)
    for v in (2 ** 64, -2 ** 63 - 1):
        with pytest.raises(ValueError, match="Overflow when unpacking long long"):
            ember.manual_seed(v)
    with pytest.raises(RuntimeError, match="manual_seed expected a long, but got float"):
        ember.Generator().manual_seed(1.7)
    assert ember.manual_seed(1.7).initial_seed() == 1


def test_generators():
    def fn(L):
        g = L.Generator()
        g2 = L.Generator().manual_seed(9)
        return [g.initial_seed(), L.rand(3, generator=g), L.randn(20, generator=g2),
                L.randint(0, 5, (4,), generator=g), L.randperm(9, generator=g2),
                L.rand(2), g.get_state(), g2.get_state(),
                L.empty(5).normal_(generator=g), L.empty(5).bernoulli_(0.3, generator=g2),
                L.multinomial(L.ones(6), 3, generator=g), g.get_state()]
    same(fn)


def test_fork_rng():
    ember.manual_seed(0)
    with ember.random.fork_rng():
        a = ember.rand(3)
    assert ember.rand(3).tolist() == a.tolist()


# ---- uniform ----
@pytest.mark.parametrize("dtype", FLOATS)
def test_rand(dtype):
    same(lambda L: [L.rand(n, dtype=dt(L, dtype)) for n in SIZES])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("bounds", ((0, 1), (-1, 1), (-0.3, 0.7), (2.5, 1e3), (-5, -5)))
def test_uniform_(dtype, bounds):
    same(lambda L: [L.empty(n, dtype=dt(L, dtype)).uniform_(*bounds) for n in (1, 17, 1000)])


def test_uniform_errors():
    for args in ((1, 0), (-60000, 60000)):
        msgs = []
        for L in (torch, ember):
            with pytest.raises(RuntimeError) as info:
                L.empty(3, dtype=L.float16).uniform_(*args)
            msgs.append(str(info.value))
        assert msgs[0] == msgs[1]


# ---- normal ----
@pytest.mark.parametrize("dtype", FLOATS)
def test_randn(dtype):
    same(lambda L: [L.randn(n, dtype=dt(L, dtype)) for n in SIZES])


@pytest.mark.parametrize("dtype", FLOATS)
def test_normal_(dtype):
    same(lambda L: [L.empty(n, dtype=dt(L, dtype)).normal_(0.25, 1.7) for n in (3, 16, 33, 1000)]
         + [L.empty(n, dtype=dt(L, dtype)).normal_(0.0, 0.02) for n in (5, 100)])


def test_normal_layouts():
    def fn(L):
        out = []
        for make in (lambda: L.empty(6, 5).t(), lambda: L.empty(10, 8)[:, ::2],
                     lambda: L.empty(2, 3, 4).permute(2, 0, 1)):
            t = make()
            t.normal_(0.5, 2.0)
            out.append(t.contiguous())
            t.uniform_(-1, 1)
            out.append(t.contiguous())
        return out
    same(fn)


def test_normal_overloads():
    def fn(L):
        m = L.arange(20, dtype=L.float32)
        s = L.arange(1, 21, dtype=L.float32) / 10  # (not linspace: its rounding differs)
        return [L.normal(m, s), L.normal(m, 2.0), L.normal(1.5, s), L.normal(0.5, 3.0, (4, 5)),
                L.normal(m[:3], s[:3]), L.normal(2.0, 0.5, (7,), dtype=L.float64),
                L.randn_like(m), L.rand_like(s), L.randint_like(m, 3, 10)]
    same(fn)


def test_normal_cache_interleaved():
    def fn(L):
        return [L.randn(3), L.rand(5), L.randn(20), L.randn(1, dtype=L.float64),
                L.empty(4).normal_(), L.randint(0, 3, (3,)), L.randn(15), L.randperm(5),
                L.empty(3).bernoulli_(0.5), L.empty(3).exponential_(),
                L.empty(3).log_normal_(), L.randn(2, dtype=L.float16), L.get_rng_state(),
                L.multinomial(L.tensor([0.1, 0.5, 0.4]), 2)]
    same(fn)


# ---- integers ----
@pytest.mark.parametrize("bounds", ((0, 10), (-5, 7), (0, 2 ** 28 - 1), (0, 2 ** 28),
                                    (3, 2 ** 31 + 11), (-2 ** 40, 2 ** 41), (0, 2 ** 63 - 1)))
def test_randint(bounds):
    same(lambda L: [L.randint(*bounds, (n,)) for n in SIZES])


@pytest.mark.parametrize("dtype", ("int64", "int32", "int16", "int8", "uint8", "bool",
                                   "float32", "float64", "float16", "bfloat16"))
def test_random_(dtype):
    def fn(L):
        d = dt(L, dtype)
        out = [L.empty(40, dtype=d).random_(), L.empty(9, dtype=d).random_(2),
               L.empty(9, dtype=d).random_(0, 2)]
        if dtype != "bool":
            out += [L.empty(9, dtype=d).random_(5), L.empty(9, dtype=d).random_(3, None),
                    L.randint(1, 100, (9,), dtype=d)]
        if dtype in ("int64", "float32", "float64"):
            out.append(L.empty(9, dtype=d).random_(-2 ** 63, None))
        return out
    same(fn)


def test_random_errors():
    def err(L, f):
        try:
            f(L)
        except RuntimeError as e:
            return str(e)
    for f in (lambda L: L.empty(3, dtype=L.uint8).random_(0, 1000),
              lambda L: L.empty(3, dtype=L.int8).random_(-1000, 5),
              lambda L: L.empty(3).random_(5, 5),
              lambda L: L.randperm(300, dtype=L.uint8)):
        assert err(torch, f) == err(ember, f) is not None


@pytest.mark.parametrize("n", (0, 1, 2, 3, 8, 100, 1000, 1024, 1025, 65539))
def test_randperm(n):
    same(lambda L: [L.randperm(n), L.randperm(n, dtype=L.float32), L.randperm(n, dtype=L.int32)],
         (0, 42))


# ---- Bernoulli, exponential family ----
@pytest.mark.parametrize("dtype", FLOATS + ("int64", "bool", "uint8"))
def test_bernoulli_(dtype):
    same(lambda L: [L.empty(n, dtype=dt(L, dtype)).bernoulli_(0.3) for n in SIZES])


@pytest.mark.parametrize("pdtype", FLOATS)
def test_bernoulli_tensor_p(pdtype):
    def fn(L):
        p = (L.arange(37, dtype=L.float64) / 36).to(dt(L, pdtype))
        return [L.bernoulli(p), L.empty(37, dtype=L.float64).bernoulli_(p), p.bernoulli(),
                L.bernoulli(L.empty(5, 3), p=0.7)]
    same(fn)


def test_bernoulli_of_expanded_probabilities():
    """An expanded (stride-0) probability tensor: the result is laid out as PyTorch's
    empty_like lays it out (a broadcast axis does not reorder), so the draws land where
    PyTorch's do."""
    def fn(L):
        p = L.arange(1, 13, dtype=L.float32) / 13
        return [L.bernoulli(p[:3].expand(4, 3)), L.bernoulli(p[:3, None].expand(3, 4)),
                L.bernoulli(p[:3].reshape(1, 3).expand(4, 3)),
                L.bernoulli(p[:6].reshape(2, 1, 3).expand(2, 5, 3)),
                L.bernoulli(p[:1].reshape(1, 1).expand(3, 4))]
    same(fn)


@pytest.mark.parametrize("dtype", FLOATS)
def test_continuous(dtype):
    def fn(L):
        d = dt(L, dtype)
        return [L.empty(n, dtype=d).exponential_(lam) for n, lam in ((5, 1.0), (40, 2.5))] + \
            [L.empty(n, dtype=d).geometric_(p) for n, p in ((5, 0.3), (40, 0.01))] + \
            [L.empty(n, dtype=d).cauchy_(m, s) for n, m, s in ((5, 0, 1), (40, 0.3, 2.7))] + \
            [L.empty(n, dtype=d).log_normal_(*a) for n, a in ((5, ()), (40, (0.2, 0.7)))] + \
            [L.empty(7, dtype=L.int64).geometric_(0.2), L.empty(7, dtype=L.int32).geometric_(.5)]
    same(fn)


# ---- multinomial ----
@pytest.mark.parametrize("dtype", ("float32", "float64", "bfloat16", "float16"))
@pytest.mark.parametrize("k,replacement", ((1, False), (5, False), (7, False), (1, True),
                                           (5, True), (40, True)))
def test_multinomial(dtype, k, replacement):
    def fn(L):
        d = dt(L, dtype)
        p1 = (L.arange(10, dtype=L.float32) + 1).to(d)
        p2 = L.rand(3, 12).to(d)
        return [L.multinomial(p1, k, replacement), L.multinomial(p2, k, replacement)]
    same(fn)


@pytest.mark.parametrize("n,k", ((40, 7), (500, 7), (64, 1), (640, 10), (300, 299)))
def test_multinomial_ties(n, k):
    same(lambda L: [L.multinomial(L.ones(3, n, dtype=L.bfloat16), k),
                    L.multinomial(L.ones(n, dtype=L.float16), k)])


# ---- nn ----
def _params(m):
    return [p for _, p in sorted(m.named_parameters())]


@pytest.mark.parametrize("make", [
    lambda L: L.nn.Linear(3, 2),
    lambda L: L.nn.Linear(20, 30, dtype=L.float64),
    lambda L: L.nn.Linear(5, 4, bias=False),
    lambda L: L.nn.Conv2d(4, 6, 3, groups=2),
    lambda L: L.nn.Conv1d(3, 5, 2, bias=False),
    lambda L: L.nn.ConvTranspose2d(4, 6, 3, groups=2),
    lambda L: L.nn.Bilinear(3, 4, 5),
    lambda L: L.nn.Embedding(10, 4, padding_idx=1),
    lambda L: L.nn.Embedding(3, 3),
    lambda L: L.nn.LSTM(4, 6, num_layers=2, bidirectional=True),
    lambda L: L.nn.GRU(3, 5),
    lambda L: L.nn.RNN(3, 5, num_layers=2),
    lambda L: L.nn.LSTM(4, 6, proj_size=3),
    lambda L: L.nn.MultiheadAttention(8, 2),
    lambda L: L.nn.MultiheadAttention(8, 2, kdim=5, vdim=3, add_bias_kv=True),
    lambda L: L.nn.TransformerEncoderLayer(8, 2, 16),
    lambda L: L.nn.Sequential(L.nn.Linear(4, 8), L.nn.LayerNorm(8), L.nn.BatchNorm1d(8),
                              L.nn.Dropout(0.2), L.nn.Linear(8, 3)),
], ids=lambda f: "")
def test_module_init(make):
    same(lambda L: _params(make(L)), (0, 1, 42))


@pytest.mark.parametrize("dtype", ("float32", "float64"))
def test_init_functions(dtype):
    def fn(L):
        d = dt(L, dtype)
        init = L.nn.init
        w = lambda *s: L.empty(*s, dtype=d)  # noqa: E731
        return [init.uniform_(w(3, 5), -0.3, 0.9), init.normal_(w(4, 5), 0.1, 0.3),
                init.xavier_uniform_(w(6, 7)), init.xavier_normal_(w(6, 7), gain=2.0),
                init.kaiming_uniform_(w(8, 3, 3)), init.kaiming_normal_(w(5, 4), mode="fan_out"),
                init.kaiming_uniform_(w(4, 4), a=0.1, nonlinearity="leaky_relu"),
                init.trunc_normal_(w(30, 30)), init.trunc_normal_(w(4, 3), 0.1, 0.02),
                init.trunc_normal_(w(300), 0.0, 1.0, -0.1, 0.1),
                init.sparse_(w(6, 4), 0.5), L.get_rng_state()]
    same(fn)


def test_orthogonal_draws():
    torch.manual_seed(0)
    t = torch.nn.init.orthogonal_(torch.empty(4, 6))
    ember.manual_seed(0)
    e = ember.nn.init.orthogonal_(ember.empty(4, 6))
    assert np.allclose(t.numpy(), e._data, atol=1e-5)
    assert np.array_equal(torch.get_rng_state().numpy(), ember.get_rng_state()._data)


# ---- dropout ----
@pytest.mark.parametrize("dtype", ("float32", "float64", "float16"))
@pytest.mark.parametrize("p", (0.0, 0.1, 0.3, 0.5, 0.9, 1.0))
def test_dropout(dtype, p):
    def fn(L):
        F = L.nn.functional
        out = []
        for n in (7, 33, 1000):
            x = ((L.arange(n) - n // 2) * 0.375).to(dt(L, dtype))
            x[n // 2] = math.nan
            out += [F.dropout(x, p), F.dropout(x, p, training=False)]
        x = L.randn(2, 3, 4, 5).to(dt(L, dtype))
        out += [F.dropout2d(x, p), F.dropout3d(x, p), F.dropout1d(x[0], p),
                L.nn.Dropout(p)(x), F.dropout(x.transpose(1, 3), p)]
        return out
    same(fn)


def test_alpha_dropout_draws():
    same(lambda L: [L.get_rng_state() if L.nn.functional.alpha_dropout(
        L.randn(50), 0.3, True) is not None else None])


def test_rrelu():
    same(lambda L: [L.nn.functional.rrelu(L.arange(-4, 5) / 2.0, training=True),
                    L.nn.functional.rrelu(L.randn(40, dtype=L.float64), 0.1, 0.4, True)])


# ---- data ----
def test_random_sampler():
    def fn(L):
        S = L.utils.data.RandomSampler
        out = []
        for s in (S(range(10)), S(range(7), replacement=True, num_samples=40),
                  S(range(5), num_samples=12)):
            for _ in range(3):
                out.append(list(s))
                out.append(L.rand(2))
        return [L.tensor(o) if isinstance(o, list) else o for o in out]
    same(fn)


@pytest.mark.parametrize("generator", (False, True))
@pytest.mark.parametrize("drop_last", (False, True))
def test_dataloader_order(generator, drop_last):
    def fn(L):
        g = L.Generator().manual_seed(5) if generator else None
        loader = L.utils.data.DataLoader(list(range(10)), batch_size=4, shuffle=True,
                                         generator=g, drop_last=drop_last)
        out = []
        for _ in range(3):
            out += [b for b in loader] + [L.rand(1)]
        sub = L.utils.data.random_split(range(10), [3, 7])
        return out + [L.tensor(list(sub[0])), L.tensor(list(sub[1]))]
    same(fn)


def test_int64_random_scalar():
    same(lambda L: [L.empty((), dtype=L.int64).random_() for _ in range(3)])


# ---- a seeded trainer prints the same losses ----
def _train(L):
    L.manual_seed(0)
    nn = L.nn
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    x = L.randn(40, 6)
    y = L.randint(0, 3, (40,))
    data = L.utils.data.TensorDataset(x, y)
    loader = L.utils.data.DataLoader(data, batch_size=8, shuffle=True)
    opt = L.optim.SGD(model.parameters(), lr=0.1)
    lines = []
    for _epoch in range(3):
        for xb, yb in loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            lines.append(loss.item())
    return lines


def test_seeded_trainer_prints_same():
    # the same weights, batches and dropout masks give the same losses up to float32 summation
    # order (BLAS and PyTorch's kernels differ by CPU); other draws would differ by ~1e-1
    np.testing.assert_allclose(_train(ember), _train(torch), rtol=1e-4, atol=1e-6)


def test_inplace_samplers_autograd():
    """grad_fn names of the in-place samplers on a non-leaf, and the leaf error."""
    def names(L):
        a = L.zeros(3, requires_grad=True) * 1
        calls = (lambda t: t.uniform_(), lambda t: t.normal_(), lambda t: t.random_(),
                 lambda t: t.random_(5), lambda t: t.random_(2, 5), lambda t: t.bernoulli_(0.5),
                 lambda t: t.bernoulli_(L.full((3,), 0.5)), lambda t: t.exponential_(),
                 lambda t: t.geometric_(0.5), lambda t: t.cauchy_(), lambda t: t.log_normal_())
        out = [type(f(a.clone()).grad_fn).__name__ for f in calls]
        try:
            L.zeros(3, requires_grad=True).uniform_()
        except RuntimeError as e:
            out.append(str(e))
        return out
    assert names(ember) == names(torch)
