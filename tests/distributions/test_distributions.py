"""ember.distributions against torch.distributions: each case runs the same code on both
libraries (tests/oracle.py's ``same``) and compares values, dtypes, shapes, grad_fn names,
gradients, warnings and exceptions (class and message).

Seeded ``sample``/``rsample`` must give PyTorch's numbers (ember's generator reproduces
PyTorch's CPU streams and the distributions draw from it as PyTorch's do): exactly where the
transform of the draw is exact, to one float32 ulp where it goes through ``exp``/``log1p``
(whose float32 roundings differ by an ulp between NumPy and PyTorch's vectorized kernels).
"""

import pytest

from tests.oracle import same

torch = pytest.importorskip("torch")


def _t(m, x, dtype, grad=True):
    return m.tensor(x, dtype=getattr(m, dtype), requires_grad=grad)


# name -> builder(m, dtype) -> (distribution, [parameters requiring grad], a value in support)
def _normal(m, dt):
    loc, scale = _t(m, [0.5, -1.0, 2.0], dt), _t(m, [1.0, 0.5, 3.0], dt)
    return m.distributions.Normal(loc, scale), [loc, scale], _t(m, [0.3, -2.0, 1.0], dt, False)


def _uniform(m, dt):
    low, high = _t(m, [0.0, -1.0, 2.0], dt), _t(m, [1.0, 0.5, 5.0], dt)
    return m.distributions.Uniform(low, high), [low, high], _t(m, [0.3, -0.2, 4.0], dt, False)


def _bernoulli_probs(m, dt):
    p = _t(m, [0.2, 0.5, 0.9], dt)
    return m.distributions.Bernoulli(probs=p), [p], _t(m, [1.0, 0.0, 1.0], dt, False)


def _bernoulli_logits(m, dt):
    lg = _t(m, [-1.0, 0.3, 2.0], dt)
    return m.distributions.Bernoulli(logits=lg), [lg], _t(m, [0.0, 0.0, 1.0], dt, False)


def _categorical_probs(m, dt):
    p = _t(m, [[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]], dt)
    return m.distributions.Categorical(probs=p), [p], m.tensor([2, 0])


def _categorical_logits(m, dt):
    lg = _t(m, [[0.2, -1.3, 0.5, 2.0], [0.0, 0.1, -0.3, 1.0]], dt)
    return m.distributions.Categorical(logits=lg), [lg], m.tensor([[3, 1], [0, 2]])


def _one_hot(m, dt):
    p = _t(m, [[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]], dt)
    value = _t(m, [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dt, False)
    return m.distributions.OneHotCategorical(probs=p), [p], value


def _exponential(m, dt):
    rate = _t(m, [0.5, 1.0, 3.0], dt)
    return m.distributions.Exponential(rate), [rate], _t(m, [0.3, 2.0, 0.1], dt, False)


def _laplace(m, dt):
    loc, scale = _t(m, [0.5, -1.0, 2.0], dt), _t(m, [1.0, 0.5, 3.0], dt)
    return m.distributions.Laplace(loc, scale), [loc, scale], _t(m, [0.3, -2.0, 3.0], dt, False)


def _lognormal(m, dt):
    loc, scale = _t(m, [0.5, -1.0, 0.2], dt), _t(m, [1.0, 0.5, 0.3], dt)
    return m.distributions.LogNormal(loc, scale), [loc, scale], _t(m, [0.3, 2.0, 1.1], dt, False)


def _independent(m, dt):
    loc, scale = _t(m, [[0.5, -1.0], [2.0, 0.0]], dt), _t(m, [[1.0, 0.5], [3.0, 2.0]], dt)
    d = m.distributions.Independent(m.distributions.Normal(loc, scale), 1)
    return d, [loc, scale], _t(m, [[0.3, -2.0], [1.0, 0.5]], dt, False)


def _mvn_cov(m, dt):
    loc = _t(m, [0.5, -1.0, 2.0], dt)
    a = _t(m, [[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 1.5]], dt)
    return (m.distributions.MultivariateNormal(loc, covariance_matrix=a), [loc, a],
            _t(m, [[0.3, -2.0, 1.0], [0.0, 0.0, 0.0]], dt, False))


def _mvn_tril(m, dt):
    loc = _t(m, [[0.5, -1.0], [0.0, 1.0]], dt)
    tril = _t(m, [[1.5, 0.0], [0.4, 0.7]], dt)
    return (m.distributions.MultivariateNormal(loc, scale_tril=tril), [loc, tril],
            _t(m, [0.3, -2.0], dt, False))


def _mvn_precision(m, dt):
    loc = _t(m, [0.5, -1.0], dt)
    prec = _t(m, [[2.0, 0.3], [0.3, 1.0]], dt)
    return (m.distributions.MultivariateNormal(loc, precision_matrix=prec), [loc, prec],
            _t(m, [0.3, -2.0], dt, False))


def _affine_tanh(m, dt):
    loc, scale = _t(m, [0.5, -1.0], dt), _t(m, [1.0, 0.5], dt)
    D = m.distributions
    d = D.TransformedDistribution(D.Normal(loc, scale),
                                  [D.AffineTransform(0.5, 2.0), D.TanhTransform()])
    return d, [loc, scale], _t(m, [0.3, -0.7], dt, False)


def _sigmoid_affine(m, dt):
    loc, scale = _t(m, [0.5, -1.0], dt), _t(m, [1.0, 0.5], dt)
    D = m.distributions
    t = D.transforms
    d = D.TransformedDistribution(D.Normal(loc, scale),
                                  [t.SigmoidTransform(), t.AffineTransform(1.0, -3.0)])
    return d, [loc, scale], _t(m, [0.3, -0.7], dt, False)


def _cauchy(m, dt):
    loc, scale = _t(m, [0.5, -1.0, 2.0], dt), _t(m, [1.0, 0.5, 3.0], dt)
    return m.distributions.Cauchy(loc, scale), [loc, scale], _t(m, [0.3, -2.0, 1.0], dt, False)


def _half_normal(m, dt):
    scale = _t(m, [1.0, 0.5, 3.0], dt)
    return m.distributions.HalfNormal(scale), [scale], _t(m, [0.3, 2.0, 1.0], dt, False)


def _relaxed_bernoulli(m, dt):
    temp, p = _t(m, 0.7, dt), _t(m, [0.2, 0.5, 0.9], dt)
    return (m.distributions.RelaxedBernoulli(temp, probs=p), [temp, p],
            _t(m, [0.3, 0.6, 0.99], dt, False))


def _mixture(m, dt):
    D = m.distributions
    w = _t(m, [[1.0, 2.0, 0.5], [0.2, 0.3, 0.5]], dt)
    loc = _t(m, [[0.5, -1.0, 2.0], [0.0, 1.0, 3.0]], dt)
    scale = _t(m, [[1.0, 0.5, 3.0], [2.0, 1.0, 0.5]], dt)
    d = D.MixtureSameFamily(D.Categorical(w), D.Normal(loc, scale))
    return d, [w, loc, scale], _t(m, [0.3, -2.0], dt, False)


def _gumbel(m, dt):
    loc, scale = _t(m, [0.5, -1.0, 2.0], dt), _t(m, [1.0, 0.5, 3.0], dt)
    return m.distributions.Gumbel(loc, scale), [loc, scale], _t(m, [0.3, -2.0, 1.0], dt, False)


def _geometric(m, dt):
    p = _t(m, [0.2, 0.5, 0.9], dt)
    return m.distributions.Geometric(p), [p], _t(m, [3.0, 0.0, 1.0], dt, False)


CASES = {"normal": _normal, "uniform": _uniform, "bernoulli_probs": _bernoulli_probs,
         "bernoulli_logits": _bernoulli_logits, "categorical_probs": _categorical_probs,
         "categorical_logits": _categorical_logits, "one_hot": _one_hot,
         "exponential": _exponential, "laplace": _laplace, "lognormal": _lognormal,
         "independent": _independent, "mvn_cov": _mvn_cov, "mvn_tril": _mvn_tril,
         "mvn_precision": _mvn_precision, "affine_tanh": _affine_tanh,
         "sigmoid_affine": _sigmoid_affine, "cauchy": _cauchy, "half_normal": _half_normal,
         "relaxed_bernoulli": _relaxed_bernoulli, "mixture": _mixture, "gumbel": _gumbel,
         "geometric": _geometric}
# where a sample goes through exp/log1p/tanh/sigmoid, float32 results may differ by an ulp
ULP_SAMPLES = {"laplace", "lognormal", "affine_tanh", "sigmoid_affine", "cauchy",
               "relaxed_bernoulli", "gumbel"}
# PyTorch's "does not implement mode" message names the class with its module path
NO_MODE = {"affine_tanh", "sigmoid_affine", "relaxed_bernoulli", "mixture"}
# the few draws the float32 cholesky/solve may round differently from LAPACK's
LINALG = {"mvn_cov", "mvn_tril", "mvn_precision"}
DTYPES = ["float32", "float64"]
TOL = {"float32": (1e-6, 1e-6), "float64": (1e-12, 1e-12)}


def _grads(m, out, params):
    """``out`` and d(sum of out)/d(params) (None where a parameter does not reach it)."""
    return out, list(m.autograd.grad(out.sum(), params, allow_unused=True))


@pytest.mark.parametrize("name", CASES)
def test_sample_matches_pytorch_stream(name):
    def fn(m):
        d, _, _ = CASES[name](m, "float32")
        m.manual_seed(7)
        a = d.sample()
        b = d.sample((5, 2))
        return a, b, d.sample((3,)).requires_grad
    tol = 1e-6 if name in ULP_SAMPLES | LINALG else 0.0
    same(fn, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_rsample_and_its_gradient(name, dtype):
    def fn(m):
        d, params, _ = CASES[name](m, dtype)
        if not d.has_rsample:
            return "no rsample", d.has_rsample
        m.manual_seed(11)
        return _grads(m, d.rsample((4,)), params)
    tol = 1e-6 if dtype == "float32" else 1e-12
    if dtype == "float32" and name in ULP_SAMPLES:
        tol = 1e-5  # the draws' one-ulp differences grow through log/sigmoid derivatives
    same(fn, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_log_prob_and_gradient(name, dtype):
    def fn(m):
        d, params, value = CASES[name](m, dtype)
        return _grads(m, d.log_prob(value), params)
    same(fn, *TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("what", ["entropy", "mean", "variance", "stddev", "mode"])
def test_moments_and_entropy(name, dtype, what):
    if what == "mode" and name in NO_MODE:
        import ember
        d, _, _ = CASES[name](ember, dtype)
        with pytest.raises(NotImplementedError, match="'> does not implement mode"):
            _ = d.mode
        return

    def fn(m):
        d, params, _ = CASES[name](m, dtype)
        out = d.entropy() if what == "entropy" else getattr(d, what)
        if not out.requires_grad:
            return out
        return _grads(m, out, params)
    same(fn, *TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["normal", "uniform", "exponential", "laplace", "lognormal",
                                  "affine_tanh", "sigmoid_affine", "cauchy", "half_normal"])
def test_cdf_icdf(name, dtype):
    def fn(m):
        d, params, value = CASES[name](m, dtype)
        q = m.tensor([0.1, 0.5, 0.95], dtype=getattr(m, dtype))[:value.shape[-1]]
        return _grads(m, d.cdf(value), params), _grads(m, d.icdf(q), params)
    same(fn, *TOL[dtype])


@pytest.mark.parametrize("name", CASES)
def test_shapes_expand_support_and_repr(name):
    def fn(m):
        d, _, _ = CASES[name](m, "float64")
        e = d.expand((4,) + tuple(d.batch_shape))
        m.manual_seed(3)
        s = e.sample((2,))
        return (d.batch_shape, d.event_shape, e.batch_shape, e.event_shape, s.shape,
                repr(d), repr(e), repr(d.support), d.has_rsample,
                d.has_enumerate_support, type(e).__name__, e._validate_args)
    same(fn)


@pytest.mark.parametrize("name", ["bernoulli_probs", "categorical_logits", "one_hot"])
def test_enumerate_support(name):
    def fn(m):
        d, _, _ = CASES[name](m, "float32")
        return d.enumerate_support(), d.enumerate_support(expand=False)
    same(fn)


def test_lognormal_is_transformed_normal_and_submodule_names():
    import ember
    from ember.distributions import constraints, kl, normal, transforms
    assert normal.Normal is ember.distributions.Normal
    assert kl.kl_divergence is ember.distributions.kl_divergence
    assert transforms.ExpTransform is ember.distributions.ExpTransform
    assert constraints.real is ember.distributions.constraints.real
    d = ember.distributions.LogNormal(0.0, 1.0)
    assert isinstance(d, ember.distributions.TransformedDistribution)
    assert isinstance(d.base_dist, ember.distributions.Normal)


# ---- validation ------------------------------------------------------------------------

@pytest.mark.parametrize("build", [
    lambda m: m.distributions.Normal(m.tensor([0.0, 1.0]), m.tensor([1.0, -1.0])),
    lambda m: m.distributions.Normal(m.tensor([0.0, float("nan")]), 1.0),
    lambda m: m.distributions.Normal(0.0, 0.0),
    lambda m: m.distributions.Uniform(m.tensor([0.0, 2.0]), m.tensor([1.0, 1.0])),
    lambda m: m.distributions.Bernoulli(probs=m.tensor([0.5, 1.5])),
    lambda m: m.distributions.Bernoulli(probs=0.5, logits=0.0),
    lambda m: m.distributions.Categorical(probs=m.tensor([[0.5, -0.5]])),
    lambda m: m.distributions.Categorical(logits=m.tensor(1.0)),
    lambda m: m.distributions.Exponential(m.tensor([-1.0])),
    lambda m: m.distributions.Laplace(0.0, -2.0),
    lambda m: m.distributions.LogNormal(0.0, -2.0),
    lambda m: m.distributions.MultivariateNormal(m.zeros(2), scale_tril=-m.eye(2)),
    lambda m: m.distributions.MultivariateNormal(m.zeros(2), m.ones(2, 2)),
    lambda m: m.distributions.MultivariateNormal(m.zeros(2)),
    lambda m: m.distributions.Independent(m.distributions.Normal(0.0, 1.0), 1),
    lambda m: m.distributions.Cauchy(0.0, -1.0),
    lambda m: m.distributions.Gumbel(m.zeros(2), m.tensor([1.0, 0.0])),
    lambda m: m.distributions.Geometric(m.tensor([0.5, 0.0])),
    lambda m: m.distributions.Geometric(m.tensor([0.5, 1.5])),
    lambda m: m.distributions.HalfNormal(m.tensor([1.0, -1.0])),
    lambda m: m.distributions.RelaxedBernoulli(m.tensor(0.5), probs=m.tensor([1.5])),
    lambda m: m.distributions.MixtureSameFamily(m.distributions.Normal(0.0, 1.0),
                                                m.distributions.Normal(m.zeros(2), 1.0)),
    lambda m: m.distributions.MixtureSameFamily(m.distributions.Categorical(m.ones(3)),
                                                m.distributions.Normal(m.zeros(2), 1.0)),
], ids=lambda b: "")
def test_invalid_parameters_raise_pytorchs_error(build):
    # warnings_too=False: NumPy's RuntimeWarnings (dividing by a zero sum, log of a negative),
    # which ember filters at import, resurface under the oracle's simplefilter("always")
    same(lambda m: build(m), warnings_too=False)


@pytest.mark.parametrize("call", [
    lambda m: m.distributions.Normal(0.0, 1.0).log_prob(m.tensor([float("nan")])),
    lambda m: m.distributions.Exponential(m.tensor([1.0, 2.0])).log_prob(m.tensor([-1.0, 2.0])),
    lambda m: m.distributions.Uniform(0.0, 1.0).log_prob(m.tensor(2.0)),
    lambda m: m.distributions.Bernoulli(0.3).log_prob(m.tensor([0.5])),
    lambda m: m.distributions.Categorical(m.ones(3)).log_prob(m.tensor([3])),
    lambda m: m.distributions.OneHotCategorical(m.ones(3)).log_prob(m.tensor([1.0, 1.0, 0.0])),
    lambda m: m.distributions.Normal(m.zeros(2), 1.0).log_prob(m.zeros(3)),
    lambda m: m.distributions.LogNormal(0.0, 1.0).log_prob(m.tensor([-1.0])),
    lambda m: m.distributions.Normal(0.0, 1.0).log_prob(1.0),
    lambda m: m.distributions.HalfNormal(1.0).log_prob(m.tensor([-1.0])),
    lambda m: m.distributions.Geometric(0.3).log_prob(m.tensor([1.5])),
    lambda m: m.distributions.RelaxedBernoulli(m.tensor(0.5), 0.3).log_prob(m.tensor([1.5])),
    lambda m: m.distributions.MixtureSameFamily(
        m.distributions.Categorical(m.ones(2)),
        m.distributions.Exponential(m.ones(2))).log_prob(m.tensor([-1.0])),
], ids=lambda c: "")
def test_value_outside_support_raises_pytorchs_error(call):
    same(lambda m: call(m))


def test_validate_args_false_and_global_default():
    def fn(m):
        D = m.distributions
        out = [D.Normal(0.0, -1.0, validate_args=False).log_prob(m.tensor(0.5)),
               D.Exponential(m.tensor([1.0]), validate_args=False).log_prob(m.tensor([-1.0]))]
        D.Distribution.set_default_validate_args(False)
        try:
            out.append(D.Normal(0.0, -1.0).scale)
        finally:
            D.Distribution.set_default_validate_args(True)
        return out
    same(fn, warnings_too=False)  # log(-1): see test_invalid_parameters_raise_pytorchs_error


# ---- kl_divergence -----------------------------------------------------------------------

def _kl_pair(m, kind, dt):
    D = m.distributions

    def t(x):
        return _t(m, x, dt)
    if kind == "normal_normal":
        ps = [t([0.5, -1.0]), t([1.0, 2.0]), t([0.0, 1.0]), t([2.0, 0.5])]
        return D.Normal(ps[0], ps[1]), D.Normal(ps[2], ps[3]), ps
    if kind == "bernoulli_bernoulli":
        ps = [t([0.2, 0.5, 0.0]), t([0.7, 0.1, 0.4])]
        return D.Bernoulli(ps[0]), D.Bernoulli(ps[1]), ps
    if kind == "categorical_categorical":
        ps = [t([[0.2, 0.3, 0.5], [0.0, 0.5, 0.5]]), t([[0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])]
        return D.Categorical(ps[0]), D.Categorical(ps[1]), ps
    if kind == "onehot_onehot":
        ps = [t([-1.0, 0.0, 2.0]), t([0.5, 0.2, 0.1])]
        return D.OneHotCategorical(logits=ps[0]), D.OneHotCategorical(logits=ps[1]), ps
    if kind == "uniform_uniform":
        ps = [t([0.0, 0.0]), t([1.0, 2.0]), t([-1.0, 0.5]), t([2.0, 3.0])]
        return D.Uniform(ps[0], ps[1]), D.Uniform(ps[2], ps[3]), ps
    if kind == "exponential_exponential":
        ps = [t([0.5, 2.0]), t([1.5, 0.3])]
        return D.Exponential(ps[0]), D.Exponential(ps[1]), ps
    if kind == "laplace_laplace":
        ps = [t([0.5, -1.0]), t([1.0, 2.0]), t([0.0, 1.0]), t([2.0, 0.5])]
        return D.Laplace(ps[0], ps[1]), D.Laplace(ps[2], ps[3]), ps
    if kind == "normal_laplace":
        ps = [t([0.5, -1.0]), t([1.0, 2.0]), t([0.0, 1.0]), t([2.0, 0.5])]
        return D.Normal(ps[0], ps[1]), D.Laplace(ps[2], ps[3]), ps
    if kind == "laplace_normal":
        ps = [t([0.5, -1.0]), t([1.0, 2.0]), t([0.0, 1.0]), t([2.0, 0.5])]
        return D.Laplace(ps[0], ps[1]), D.Normal(ps[2], ps[3]), ps
    if kind == "uniform_normal":
        ps = [t([0.0, -1.0]), t([1.0, 2.0]), t([0.0, 1.0]), t([2.0, 0.5])]
        return D.Uniform(ps[0], ps[1]), D.Normal(ps[2], ps[3]), ps
    if kind == "exponential_normal":
        ps = [t([0.5, 2.0]), t([0.0, 1.0]), t([2.0, 0.5])]
        return D.Exponential(ps[0]), D.Normal(ps[1], ps[2]), ps
    if kind == "uniform_exponential":
        ps = [t([0.5, -1.0]), t([1.0, 2.0]), t([2.0, 0.5])]
        return D.Uniform(ps[0], ps[1]), D.Exponential(ps[2]), ps
    if kind == "normal_uniform":
        ps = [t([0.5, -1.0]), t([1.0, 2.0]), t([0.0, 1.0]), t([2.0, 3.0])]
        return D.Normal(ps[0], ps[1]), D.Uniform(ps[2], ps[3]), ps
    if kind == "independent":
        ps = [t([[0.5, -1.0]]), t([[1.0, 2.0]]), t([[0.0, 1.0]]), t([[2.0, 0.5]])]
        return (D.Independent(D.Normal(ps[0], ps[1]), 1),
                D.Independent(D.Normal(ps[2], ps[3]), 1), ps)
    if kind == "lognormal":
        ps = [t([0.5, -1.0]), t([1.0, 2.0]), t([0.0, 1.0]), t([2.0, 0.5])]
        return D.LogNormal(ps[0], ps[1]), D.LogNormal(ps[2], ps[3]), ps
    if kind == "mvn_mvn":
        ps = [t([0.5, -1.0]), t([[2.0, 0.3], [0.3, 1.0]]), t([[0.0, 1.0], [1.0, 1.0]]),
              t([[1.0, 0.0], [0.5, 2.0]])]
        return (D.MultivariateNormal(ps[0], ps[1]), D.MultivariateNormal(ps[2], scale_tril=ps[3]),
                ps)
    if kind == "halfnormal":
        ps = [t([0.5, 1.0]), t([1.0, 2.0])]
        return D.HalfNormal(ps[0]), D.HalfNormal(ps[1]), ps
    if kind == "cauchy":
        ps = [t([0.5, -1.0]), t([1.0, 2.0]), t([0.0, 1.0]), t([2.0, 0.5])]
        return D.Cauchy(ps[0], ps[1]), D.Cauchy(ps[2], ps[3]), ps
    if kind in ("gumbel_gumbel", "gumbel_normal", "normal_gumbel", "uniform_gumbel",
                "exponential_gumbel", "gumbel_uniform"):
        made, ps = [], []
        for name in kind.split("_"):
            if name == "exponential":
                ps.append(t([0.5, 2.0]))
                made.append(D.Exponential(ps[-1]))
            elif name == "uniform":
                ps += [t([-1.0, 0.0]), t([1.0, 2.0])]
                made.append(D.Uniform(ps[-2], ps[-1]))
            else:
                ps += [t([0.5, -1.0]), t([1.0, 2.0])]
                made.append({"gumbel": D.Gumbel, "normal": D.Normal}[name](ps[-2], ps[-1]))
        return made[0], made[1], ps
    if kind == "geometric":
        ps = [t([0.2, 0.7]), t([0.5, 0.1])]
        return D.Geometric(ps[0]), D.Geometric(ps[1]), ps
    raise AssertionError(kind)


KL_KINDS = ["normal_normal", "bernoulli_bernoulli", "categorical_categorical", "onehot_onehot",
            "uniform_uniform", "exponential_exponential", "laplace_laplace", "normal_laplace",
            "laplace_normal", "uniform_normal", "exponential_normal", "uniform_exponential",
            "normal_uniform", "independent", "lognormal", "mvn_mvn", "halfnormal", "cauchy",
            "gumbel_gumbel", "gumbel_normal", "normal_gumbel", "uniform_gumbel",
            "exponential_gumbel", "gumbel_uniform", "geometric"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KL_KINDS)
def test_kl_divergence_and_gradient(kind, dtype):
    def fn(m):
        p, q, params = _kl_pair(m, kind, dtype)
        kl = m.distributions.kl_divergence(p, q)
        finite = kl.isfinite()
        return kl, list(m.autograd.grad(kl[finite].sum(), params, allow_unused=True))
    same(fn, *TOL[dtype])


@pytest.mark.parametrize("pair", [
    lambda D, m: (D.Bernoulli(0.3), D.Normal(0.0, 1.0)),   # ExponentialFamily fallback refuses
    lambda D, m: (D.Categorical(m.ones(3)), D.Normal(0.0, 1.0)),
    lambda D, m: (D.Uniform(0.0, 1.0), D.Laplace(0.0, 1.0)),
    lambda D, m: (D.Cauchy(0.0, 1.0), D.Normal(0.0, 1.0)),
    lambda D, m: (D.LogNormal(0.0, 1.0), D.HalfNormal(1.0)),  # transforms differ
    lambda D, m: (D.Independent(D.Normal(m.zeros(2, 2), 1.0), 1),
                  D.Independent(D.Normal(m.zeros(2, 2), 1.0), 2)),
], ids=lambda p: "")
def test_unregistered_pairs_raise_not_implemented(pair):
    same(lambda m: m.distributions.kl_divergence(*pair(m.distributions, m)))


def test_register_kl_picks_the_most_specific_pair():
    def fn(m):
        D = m.distributions

        class MyNormal(D.Normal):
            pass

        @D.register_kl(MyNormal, D.Normal)
        def _kl(p, q):
            return p.loc * 0 + 42.0

        p, q = MyNormal(m.tensor([0.0]), 1.0), D.Normal(m.tensor([1.0]), 1.0)
        return D.kl_divergence(p, q), D.kl_divergence(q, p), D.kl_divergence(q, q)
    same(fn)


def test_exponential_family_bregman_kl_and_entropy():
    # the generic ExponentialFamily paths (autograd of the log normalizer), reached through
    # the private methods PyTorch's own tests use
    def fn(m):
        D = m.distributions
        loc, scale = _t(m, [0.5, -1.0], "float64"), _t(m, [1.0, 2.0], "float64")
        p, q = D.Normal(loc, scale), D.Normal(m.tensor([0.0, 1.0], dtype=m.float64), 2.0)
        kl = D.kl._kl_expfamily_expfamily(p, q)
        ent = D.ExponentialFamily.entropy(p)
        return kl, ent, list(m.autograd.grad((kl + ent).sum(), [loc, scale]))
    same(fn, 1e-12, 1e-12)


# ---- odds and ends ---------------------------------------------------------------------

MISC = {
    "scalar_reprs": lambda m: (repr(m.distributions.Normal(0.0, 1.0)),
                               repr(m.distributions.Bernoulli(logits=0.3)),
                               repr(m.distributions.Uniform(0.0, 2.0)),
                               repr(m.distributions.Exponential(m.tensor(2.0)))),
    "scalar_samples": lambda m: (m.manual_seed(0),
                                 m.distributions.Normal(0.0, 1.0).sample((3,)),
                                 m.distributions.Normal(0.0, 1.0).rsample(),
                                 m.distributions.Exponential(2.0).sample((2,)))[1:],
    "float64_samples": lambda m: (
        m.manual_seed(1),
        m.distributions.Normal(m.zeros(3, dtype=m.float64), 1.0).sample((40,)),
        m.distributions.Uniform(m.zeros(3, dtype=m.float64), 2.0).rsample((40,)),
        m.distributions.Bernoulli(m.full((3,), 0.3, dtype=m.float64)).sample((40,)),
        m.distributions.Categorical(logits=m.randn(3, 5, dtype=m.float64)).sample((40,)),
        m.distributions.Exponential(m.ones(3, dtype=m.float64)).sample((40,)))[1:],
    "constraint_reprs": lambda m: [repr(c) for c in (
        m.distributions.Uniform(m.zeros(2), 1.0).support,
        m.distributions.Categorical(m.ones(3)).support,
        m.distributions.constraints.real_vector, m.distributions.constraints.simplex,
        m.distributions.constraints.half_open_interval(0, 1),
        m.distributions.constraints.positive_definite,
        m.distributions.constraints.nonnegative_integer)],
    "constraint_checks": lambda m: [c.check(v) for c, v in (
        (m.distributions.constraints.simplex, m.tensor([[0.2, 0.8], [0.5, 0.6]])),
        (m.distributions.constraints.one_hot, m.tensor([[0.0, 1.0], [1.0, 1.0]])),
        (m.distributions.constraints.lower_cholesky, m.tensor([[1.0, 0.0], [2.0, 1.0]])),
        (m.distributions.constraints.positive_definite, m.tensor([[2.0, 1.0], [1.0, 2.0]])),
        (m.distributions.constraints.integer_interval(0, 3), m.tensor([0.0, 1.5, 3.0, 4.0])))],
    "transform_reprs": lambda m: [repr(t) for t in (
        m.distributions.transforms.ExpTransform().inv,
        m.distributions.transforms.ComposeTransform([m.distributions.transforms.ExpTransform(),
                                                     m.distributions.transforms.TanhTransform()]),
        m.distributions.transforms.AffineTransform(0.0, 1.0))],
    "transform_inverse_and_jacobian": lambda m: [
        (t.inv(t(x)), t.log_abs_det_jacobian(x, t(x)), t.sign)
        for x in [m.tensor([-0.5, 0.3, 1.2], dtype=m.float64)]
        for t in (m.distributions.ExpTransform(), m.distributions.SigmoidTransform(),
                  m.distributions.TanhTransform(), m.distributions.SoftplusTransform(),
                  m.distributions.AffineTransform(1.0, -2.0))],
    "perplexity": lambda m: m.distributions.Categorical(m.tensor([0.2, 0.8])).perplexity(),
    "straight_through": lambda m: (
        m.manual_seed(0), m.distributions.OneHotCategoricalStraightThrough(
            logits=m.tensor([0.1, 0.5, -1.0], requires_grad=True)).rsample((4,)))[1:],
}


@pytest.mark.parametrize("name", MISC)
def test_misc(name):
    same(MISC[name], 1e-6, 1e-6)


def test_import_ember_does_not_load_distributions():
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]  # this checkout's ember, first on the path
    code = ("import sys, ember; assert 'ember.distributions' not in sys.modules; "
            "ember.distributions.Normal; assert 'ember.distributions' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=root)
