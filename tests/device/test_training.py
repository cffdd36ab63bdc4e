"""A few training steps on ``cuda`` give the CPU's parameters.

Each model is built once on the CPU; a twin is made by ``copy.deepcopy`` and moved with
``.cuda()``, and the same NumPy batches go to each (``.cuda()`` for the twin). Both take
``STEPS`` steps of forward, loss, backward, optimizer step and ``zero_grad``. Afterwards every
parameter of the twin (and its gradient, and the optimizer's state tensors) must still be on
``cuda:0`` and equal the CPU's: bit for bit on the device checker (its arrays compute with
NumPy), to float32 tolerance on a real GPU (cuBLAS sums in its own order). The losses of every
step are compared the same way.

Models: an MLP (Linear, ReLU, Linear; CrossEntropyLoss) and a small convolutional net
(Conv2d, ReLU, MaxPool2d, Flatten, Linear; CrossEntropyLoss). Optimizers: SGD with momentum,
Nesterov and weight decay, Adam and AdamW (amsgrad too), each on the optimizers' array path
and on their ember-op path (``_kernels.FAST = False``); the SGD runs zero their gradients in
place (``zero_grad(set_to_none=False)``), the others drop them.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
from ember.optim import _kernels

from .helpers import exact

STEPS = 3
RTOL, ATOL = 1e-5, 1e-6
CUDA = ember.device("cuda", 0)


def _mlp():
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(6, 16), ember.nn.ReLU(), ember.nn.Linear(16, 3))

    def batch(rng):
        return (rng.standard_normal((8, 6)).astype(np.float32),
                rng.integers(0, 3, 8).astype(np.int64))
    return model, batch


def _cnn():
    ember.manual_seed(0)
    model = ember.nn.Sequential(
        ember.nn.Conv2d(2, 4, 3, padding=1), ember.nn.ReLU(), ember.nn.MaxPool2d(2),
        ember.nn.Flatten(), ember.nn.Linear(4 * 3 * 3, 5))

    def batch(rng):
        return (rng.standard_normal((4, 2, 6, 6)).astype(np.float32),
                rng.integers(0, 5, 4).astype(np.int64))
    return model, batch


OPTIMIZERS = {
    "sgd": lambda ps: ember.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                      weight_decay=1e-2),
    "sgd_plain": lambda ps: ember.optim.SGD(ps, lr=0.05),
    "adam": lambda ps: ember.optim.Adam(ps, lr=1e-2),
    "adam_amsgrad": lambda ps: ember.optim.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=1e-3),
    "adamw": lambda ps: ember.optim.AdamW(ps, lr=1e-2),
}


def _train(model, batches, make_opt, device, set_to_none):
    opt = make_opt(model.parameters())
    loss_fn = ember.nn.CrossEntropyLoss()
    losses = []
    for x, y in batches:
        xt, yt = ember.tensor(x), ember.tensor(y)
        if device == "cuda":
            xt, yt = xt.cuda(), yt.cuda()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
        if len(losses) < len(batches):
            opt.zero_grad(set_to_none=set_to_none)
    return opt, losses


def _same(cpu, dev, what):
    assert dev.device == CUDA, f"{what}: on {dev.device}, not cuda:0"
    assert dev.dtype == cpu.dtype, what
    got, want = dev.detach().cpu().numpy(), cpu.detach().numpy()
    if exact():
        assert np.array_equal(got, want), f"{what}: differs from the CPU's"
    else:
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.parametrize("fast", [True, False], ids=["array_path", "op_path"])
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("build", [_mlp, _cnn], ids=["mlp", "cnn"])
def test_training_steps_on_cuda_match_cpu(build, opt_name, fast, monkeypatch):
    monkeypatch.setattr(_kernels, "FAST", fast)
    cpu_model, batch = build()
    dev_model = copy.deepcopy(cpu_model).cuda()
    start = [p.detach().clone() for p in cpu_model.parameters()]
    rng = np.random.default_rng(0)
    batches = [batch(rng) for _ in range(STEPS)]
    make_opt = OPTIMIZERS[opt_name]
    # (zero_grad's in-place zeroing on the SGD runs, its default elsewhere)
    set_to_none = not opt_name.startswith("sgd")
    cpu_opt, cpu_losses = _train(cpu_model, batches, make_opt, "cpu", set_to_none)
    dev_opt, dev_losses = _train(dev_model, batches, make_opt, "cuda", set_to_none)
    for k, (c, d) in enumerate(zip(cpu_losses, dev_losses)):
        _same(c, d, f"loss {k}")
    cpu_params = dict(cpu_model.named_parameters())
    for name, d in dev_model.named_parameters():
        c = cpu_params[name]
        _same(c, d, name)
        _same(c.grad, d.grad, f"{name}.grad")
    # (the steps did move the parameters: a test of a no-op would pass too)
    assert any(not np.array_equal(s.numpy(), p.detach().numpy())
               for s, p in zip(start, cpu_model.parameters()))
    assert len(cpu_opt.state) == len(dev_opt.state) > 0 or opt_name == "sgd_plain"
    for (cp, cs), (dp, ds) in zip(cpu_opt.state.items(), dev_opt.state.items()):
        assert dp.device == CUDA and cp.shape == dp.shape
        assert cs.keys() == ds.keys()
        for key, cv in cs.items():
            dv = ds[key]
            if key == "step":  # PyTorch keeps a (non-capturable) step count on the CPU
                assert float(dv) == float(cv)
                continue
            _same(cv, dv, f"state {key}")
