"""Parity tests of ``ember.optim.swa_utils`` (AveragedModel, update_bn, SWALR and the averaging
functions) against PyTorch: the same model trained the same way in both libraries must give the
same averaged weights, buffers, ``n_averaged`` and state dicts; SWALR the same lr sequence."""

from __future__ import annotations

import numpy as np
import pytest

from ..oracle import same

RNG = np.random.default_rng(7)
X = RNG.standard_normal((8, 3)).astype(np.float32)
Y = RNG.standard_normal((8, 2)).astype(np.float32)
W = RNG.standard_normal((4, 3)).astype(np.float32)
V = RNG.standard_normal((2, 4)).astype(np.float32)


def _model(T):
    model = T.nn.Sequential(T.nn.Linear(3, 4), T.nn.BatchNorm1d(4), T.nn.Tanh(),
                            T.nn.Linear(4, 2))
    with T.no_grad():
        model[0].weight.copy_(T.tensor(W))
        model[0].bias.zero_()
        model[3].weight.copy_(T.tensor(V))
        model[3].bias.fill_(0.1)
    return model


def _train_and_average(T, steps=6, **kwargs):
    model = _model(T)
    averaged = T.optim.swa_utils.AveragedModel(model, **kwargs)
    opt = T.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    for i in range(steps):
        opt.zero_grad()
        ((model(T.tensor(X)) - T.tensor(Y)) ** 2).mean().backward()
        opt.step()
        if i % 2 == 1:
            averaged.update_parameters(model)
    return averaged


@pytest.mark.parametrize("make", [
    lambda T: {},
    lambda T: {"use_buffers": True},
    lambda T: {"avg_fn": T.optim.swa_utils.get_ema_avg_fn(0.8)},
    lambda T: {"multi_avg_fn": T.optim.swa_utils.get_ema_multi_avg_fn(0.7)},
    lambda T: {"multi_avg_fn": T.optim.swa_utils.get_swa_multi_avg_fn(), "use_buffers": True},
], ids=["swa", "swa-buffers", "ema", "ema-multi", "swa-multi-buffers"])
def test_averaged_model_matches_torch(make):
    def fn(T):
        averaged = _train_and_average(T, **make(T))
        averaged.eval()
        return averaged.state_dict(), averaged(T.tensor(X)), averaged.n_averaged
    same(fn, rtol=1e-5, atol=1e-6)


def test_averaged_model_rejects_two_averaging_functions():
    def fn(T):
        T.optim.swa_utils.AveragedModel(
            _model(T), avg_fn=T.optim.swa_utils.get_swa_avg_fn(),
            multi_avg_fn=T.optim.swa_utils.get_swa_multi_avg_fn())
    same(fn)


@pytest.mark.parametrize("decay", [-0.1, 1.5])
def test_ema_decay_must_be_in_0_1(decay):
    same(lambda T: T.optim.swa_utils.get_ema_avg_fn(decay))
    same(lambda T: T.optim.swa_utils.get_ema_multi_avg_fn(decay))


def test_ema_on_integer_tensors():
    def fn(T):
        ema = [T.tensor([10, 20])]
        T.optim.swa_utils.get_ema_multi_avg_fn(0.5)(ema, [T.tensor([0, 4])], 1)
        return ema
    same(fn)


def test_swa_on_integer_tensors_raises_like_pytorch():
    def fn(T):
        swa = [T.tensor([10, 20])]
        T.optim.swa_utils.get_swa_multi_avg_fn()(swa, [T.tensor([0, 4])], T.tensor(1))
    same(fn)


def test_update_bn_recomputes_running_statistics():
    def fn(T):
        averaged = _train_and_average(T)
        loader = [(T.tensor(X[:4]), 0), (T.tensor(X[4:]), 1)]
        averaged.eval()
        T.optim.swa_utils.update_bn(loader, averaged)
        bn = averaged.module[1]
        return bn.running_mean, bn.running_var, bn.num_batches_tracked, bn.momentum, \
            averaged.training
    same(fn, rtol=1e-5, atol=1e-6)


def test_update_bn_without_batch_norm_is_a_no_op():
    def fn(T):
        model = T.nn.Linear(3, 2)
        T.optim.swa_utils.update_bn([T.tensor(X)], model)
        return model.training
    same(fn)


@pytest.mark.parametrize("kwargs", [
    {"swa_lr": 0.05},
    {"swa_lr": 0.05, "anneal_epochs": 4, "anneal_strategy": "linear"},
    {"swa_lr": [0.05, 0.2], "anneal_epochs": 0},
    {"swa_lr": 0.3, "anneal_epochs": 7, "anneal_strategy": "cos"},
], ids=["default", "linear", "per-group-no-anneal", "cos"])
def test_swalr_sequence(kwargs):
    def fn(T):
        params = [T.zeros(1, requires_grad=True), T.zeros(1, requires_grad=True)]
        opt = T.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=1.0)
        sched = T.optim.swa_utils.SWALR(opt, **kwargs)
        out = [sched.get_last_lr()]
        for _ in range(15):
            opt.step()
            sched.step()
            out.append(sched.get_last_lr())
        return out, sorted(sched.state_dict())
    same(fn)


@pytest.mark.parametrize("kwargs", [
    {"swa_lr": 0.1, "anneal_strategy": "exp"},
    {"swa_lr": 0.1, "anneal_epochs": -1},
    {"swa_lr": 0.1, "anneal_epochs": 2.5},
    {"swa_lr": [0.1, 0.2]},
])
def test_swalr_errors(kwargs):
    same(lambda T: T.optim.swa_utils.SWALR(
        T.optim.SGD([T.zeros(1, requires_grad=True)], lr=1.0), **kwargs))
