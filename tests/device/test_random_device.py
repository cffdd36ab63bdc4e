"""Random numbers on CUDA (ember/random.py's contract): every sampler that lands on a CUDA
device draws from that device's generator, ``ember.cuda.default_generator(i)``, which has
PyTorch's CPU engine. So a CUDA draw after ``manual_seed(s)`` gives exactly what the same
sampler gives on the CPU from a ``Generator`` seeded ``s`` (the reference here), moved to the
device; it never advances the CPU's default generator, and the CPU's draws never advance it.
These are ember's numbers, not PyTorch CUDA's (Philox); what PyTorch's CPU build can check
(the CPU stream untouched by CUDA draws, the seeding rules) is checked against it."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F

from ..oracle import torch

CUDA0 = ember.device("cuda", 0)


def _cpu_gen(seed):
    return ember.Generator().manual_seed(seed)


def _same(dev, ref):
    assert dev.device == CUDA0, f"on {dev.device}"
    assert dev.dtype == ref.dtype and tuple(dev.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(dev.cpu().numpy(), ref.numpy())


# sampler(T=ember, device, generator) -> tensor: on ``device``, from ``generator`` (None: the
# default one of that device)
FACTORIES = {
    "rand": lambda d, g: ember.rand(3, 4, device=d, generator=g),
    "rand_float64": lambda d, g: ember.rand(5, dtype=ember.float64, device=d, generator=g),
    "randn_small": lambda d, g: ember.randn(7, device=d, generator=g),  # (scalar path)
    "randn_vector": lambda d, g: ember.randn(40, device=d, generator=g),  # (16+: vector path)
    "randint": lambda d, g: ember.randint(-5, 9, (4, 3), device=d, generator=g),
    "randint_int32": lambda d, g: ember.randint(100, (6,), dtype=ember.int32, device=d,
                                                generator=g),
    "randperm": lambda d, g: ember.randperm(20, device=d, generator=g),
    "normal_size": lambda d, g: ember.normal(2.0, 3.0, (2, 9), device=d, generator=g),
    "normal_mean_tensor": lambda d, g: ember.normal(ember.arange(4.0, device=d), 0.5,
                                                    generator=g),
    "normal_std_tensor": lambda d, g: ember.normal(1.0, ember.full((20,), 2.0, device=d),
                                                   generator=g),
    "normal_both": lambda d, g: ember.normal(ember.zeros(3, device=d),
                                             ember.ones(3, device=d), generator=g),
    "rand_like": lambda d, g: ember.rand_like(ember.zeros(2, 3, device=d), generator=g),
    "randn_like": lambda d, g: ember.randn_like(ember.zeros(17, device=d), generator=g),
    "randint_like": lambda d, g: ember.randint_like(ember.zeros(5, device=d), 3, 8,
                                                    generator=g),
    "bernoulli": lambda d, g: ember.bernoulli(ember.linspace(0, 1, 9, device=d), generator=g),
    "bernoulli_method": lambda d, g: ember.full((6,), 0.3, device=d).bernoulli(generator=g),
    "multinomial": lambda d, g: ember.multinomial(ember.tensor([[1.0, 2.0, 3.0, 0.5]] * 2,
                                                               device=d), 3, generator=g),
    "multinomial_replacement": lambda d, g: ember.tensor([0.2, 0.5, 0.3], device=d)
    .multinomial(8, replacement=True, generator=g),
}

IN_PLACE = {
    "uniform_": lambda t, g: t.uniform_(-2, 3, generator=g),
    "normal_": lambda t, g: t.normal_(1.0, 0.5, generator=g),
    "bernoulli_": lambda t, g: t.bernoulli_(0.25, generator=g),
    "bernoulli_tensor_p": lambda t, g: t.bernoulli_(ember.linspace(0, 1, t.numel(),
                                                                   device=t.device)
                                                    .reshape(t.shape), generator=g),
    "random_": lambda t, g: t.random_(0, 50, generator=g),
    "exponential_": lambda t, g: t.exponential_(2.0, generator=g),
    "geometric_": lambda t, g: t.geometric_(0.3, generator=g),
    "cauchy_": lambda t, g: t.cauchy_(0.0, 1.0, generator=g),
    "log_normal_": lambda t, g: t.log_normal_(0.0, 0.25, generator=g),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factories_draw_from_the_device_generator(name):
    ember.manual_seed(1234)
    dev = FACTORIES[name]("cuda", None)
    ref = FACTORIES[name]("cpu", _cpu_gen(1234))
    _same(dev, ref)
    # an explicit CUDA generator seeded the same gives the same
    g = ember.Generator(device="cuda").manual_seed(1234)
    _same(FACTORIES[name]("cuda", g), ref)


@pytest.mark.parametrize("name", list(IN_PLACE))
def test_in_place_samplers_on_a_cuda_tensor(name):
    ember.manual_seed(99)
    dev = ember.zeros(4, 5, device="cuda")
    out = IN_PLACE[name](dev, None)
    assert out is dev
    ref = IN_PLACE[name](ember.zeros(4, 5), _cpu_gen(99))
    _same(dev, ref)
    # a transposed tensor is filled in memory order, as on the CPU
    ember.manual_seed(5)
    t = ember.zeros(5, 4, device="cuda").t()
    IN_PLACE[name](t, None)
    _same(t, IN_PLACE[name](ember.zeros(5, 4).t(), _cpu_gen(5)))


def test_cuda_draws_leave_the_cpu_stream_alone():
    # PyTorch's CPU stream is what its CPU build gives, whatever CUDA drew in between
    torch.manual_seed(3)
    want = torch.rand(4).numpy()
    ember.manual_seed(3)
    ember.rand(10, device="cuda")
    ember.zeros(6, device="cuda").normal_()
    np.testing.assert_array_equal(ember.rand(4).numpy(), want)
    # and CPU draws leave the device's stream alone
    ember.manual_seed(3)
    ember.randn(50)
    _same(ember.rand(4, device="cuda"), ember.rand(4, generator=_cpu_gen(3)))


def test_manual_seed_seeds_every_device_and_the_cuda_functions_work():
    ember.manual_seed(11)
    assert ember.cuda.initial_seed() == 11 == ember.initial_seed()
    a = ember.rand(3, device="cuda")
    ember.cuda.manual_seed(11)  # only the CUDA generator
    _same(ember.rand(3, device="cuda"), a.cpu())
    ember.cuda.manual_seed_all(12)
    assert ember.cuda.initial_seed() == 12 and ember.initial_seed() == 11
    state = ember.cuda.get_rng_state()
    assert state.device.type == "cpu" and state.dtype is ember.uint8
    b = ember.randn(20, device="cuda")
    ember.cuda.set_rng_state(state)
    _same(ember.randn(20, device="cuda"), b.cpu())
    states = ember.cuda.get_rng_state_all()
    assert len(states) == ember.cuda.device_count()
    ember.cuda.set_rng_state_all(states)
    s = ember.seed()  # PyTorch's torch.seed() reseeds the CUDA generators with its seed
    assert ember.cuda.initial_seed() == s == ember.initial_seed()


def test_the_generators_say_where_they_draw():
    assert ember.cuda.default_generator(0).device == CUDA0
    assert ember.Generator(device="cuda").device == CUDA0
    assert ember.Generator().device == ember.device("cpu")
    assert ember.default_generator.device == ember.device("cpu")


def test_a_generator_of_the_other_device_type_is_pytorchs_error():
    with pytest.raises(RuntimeError) as e:
        ember.rand(2, device="cuda", generator=ember.Generator())
    assert str(e.value) == "Expected a 'cuda' device type for generator but found 'cpu'"
    with pytest.raises(RuntimeError) as e:
        ember.zeros(2, device="cuda").uniform_(generator=ember.Generator())
    assert str(e.value) == "Expected a 'cuda' device type for generator but found 'cpu'"
    with pytest.raises(RuntimeError) as e:
        ember.randperm(4, generator=ember.Generator(device="cuda"))
    assert str(e.value) == "Expected a 'cpu' device type for generator but found 'cuda'"


def test_fork_rng_restores_the_cuda_generators():
    ember.manual_seed(21)
    with ember.random.fork_rng():
        ember.rand(5, device="cuda")
        ember.rand(5)
    _same(ember.rand(5, device="cuda"), ember.rand(5, generator=_cpu_gen(21)))
    ember.manual_seed(21)
    with ember.random.fork_rng(devices=[]):  # no device forked: its draws stay drawn
        ember.rand(5, device="cuda")
    g = _cpu_gen(21)
    ember.rand(5, generator=g)
    _same(ember.rand(5, device="cuda"), ember.rand(5, generator=g))


def test_the_default_device_draws_from_its_generator():
    ember.set_default_device("cuda")
    try:
        ember.manual_seed(8)
        got = ember.randn(30)
    finally:
        ember.set_default_device("cpu")
    _same(got, ember.randn(30, generator=_cpu_gen(8)))


def test_out_on_the_device():
    ember.manual_seed(4)
    out = ember.empty(2, 3, device="cuda")
    assert ember.rand(2, 3, out=out) is out
    _same(out, ember.rand(2, 3, generator=_cpu_gen(4)))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_masks_come_from_the_device_generator(p):
    x = ember.arange(1.0, 41.0).reshape(5, 8)
    ember.manual_seed(6)
    dev = F.dropout(x.cuda(), p)
    ember.manual_seed(6)  # (seeds the CPU generator the same: the CPU's mask is the reference)
    _same(dev, F.dropout(x, p))
    ember.manual_seed(6)
    m = ember.nn.Dropout(p).cuda()
    _same(m(x.cuda()), dev.cpu())
    m.eval()
    _same(m(x.cuda()), x)


def test_feature_dropout_and_rrelu_on_the_device():
    x = ember.arange(-12.0, 12.0).reshape(2, 3, 4)
    ember.manual_seed(2)
    d2 = F.dropout1d(x.cuda(), 0.5)
    ember.manual_seed(2)
    _same(d2, F.dropout1d(x, 0.5))
    ember.manual_seed(2)
    r = F.rrelu(x.cuda(), training=True)
    ember.manual_seed(2)
    _same(r, F.rrelu(x, training=True))


def test_gradients_of_samples_on_the_device():
    mean = ember.zeros(3, device="cuda", requires_grad=True)
    ember.normal(mean, 1.0).sum().backward()
    assert mean.grad.device == CUDA0 and mean.grad.tolist() == [1.0, 1.0, 1.0]
    w = ember.ones(4, device="cuda", requires_grad=True)
    y = w * 2
    y.uniform_()
    assert y.grad_fn.name() == "UniformBackward0"
    y.sum().backward()
    assert w.grad.device == CUDA0 and w.grad.tolist() == [0.0, 0.0, 0.0, 0.0]
