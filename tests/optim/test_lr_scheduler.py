"""Parity tests of ``ember.optim.lr_scheduler`` against PyTorch.

Each scheduler runs 30 epochs in both libraries (``optimizer.step()`` then ``scheduler.step()``,
as PyTorch documents); the ``get_last_lr()`` sequence, every group's ``lr`` and the cycled
momentum / betas must match PyTorch's (including float rounding), along with warnings,
errors and state dicts.
"""

from __future__ import annotations

import pytest

from ..oracle import same

STEPS = 30


def _opt(T, name="SGD", groups=1, **kwargs):
    params = [T.zeros(2, requires_grad=True) for _ in range(groups)]
    if groups == 1:
        return getattr(T.optim, name)(params, **kwargs)
    return getattr(T.optim, name)(
        [{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(params)], **kwargs)


def _sequence(T, opt, sched, metrics=None, steps=STEPS):
    out = [sched.get_last_lr()]
    for i in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        out.append((sched.get_last_lr(), [g["lr"] for g in opt.param_groups],
                    [g.get("momentum", g.get("betas")) for g in opt.param_groups]))
    return out


SCHEDULES = {
    "LambdaLR": lambda T, o: T.optim.lr_scheduler.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-per-group": lambda T, o: T.optim.lr_scheduler.LambdaLR(
        o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
    "MultiplicativeLR": lambda T, o: T.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.9),
    "StepLR": lambda T, o: T.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda T, o: T.optim.lr_scheduler.MultiStepLR(o, [3, 8, 8, 20], gamma=0.3),
    "ConstantLR": lambda T, o: T.optim.lr_scheduler.ConstantLR(o, factor=0.25, total_iters=6),
    "LinearLR": lambda T, o: T.optim.lr_scheduler.LinearLR(o, 0.1, 0.9, total_iters=12),
    "ExponentialLR": lambda T, o: T.optim.lr_scheduler.ExponentialLR(o, gamma=0.87),
    "PolynomialLR": lambda T, o: T.optim.lr_scheduler.PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingLR": lambda T, o: T.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingLR-eta_min": lambda T, o: T.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=7, eta_min=0.01),
    "CosineAnnealingWarmRestarts": lambda T, o: T.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=4, T_mult=2, eta_min=0.001),
    "CosineAnnealingWarmRestarts-T_mult1":
        lambda T, o: T.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=6),
    "SequentialLR": lambda T, o: T.optim.lr_scheduler.SequentialLR(
        o, [T.optim.lr_scheduler.LinearLR(o, 0.1, total_iters=5),
            T.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10),
            T.optim.lr_scheduler.ExponentialLR(o, 0.8)], milestones=[5, 15]),
    "SequentialLR-constant-step": lambda T, o: T.optim.lr_scheduler.SequentialLR(
        o, [T.optim.lr_scheduler.ConstantLR(o, 0.5, total_iters=4),
            T.optim.lr_scheduler.StepLR(o, 3, 0.5)], milestones=[6]),
    "ChainedScheduler": lambda T, o: T.optim.lr_scheduler.ChainedScheduler(
        [T.optim.lr_scheduler.ConstantLR(o, 0.5, total_iters=4),
         T.optim.lr_scheduler.ExponentialLR(o, 0.9)]),
    "OneCycleLR-cos": lambda T, o: T.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=STEPS),
    "OneCycleLR-linear-three-phase": lambda T, o: T.optim.lr_scheduler.OneCycleLR(
        o, [0.5, 2.0], epochs=3, steps_per_epoch=10, anneal_strategy="linear",
        three_phase=True, pct_start=0.25),
    "OneCycleLR-no-momentum": lambda T, o: T.optim.lr_scheduler.OneCycleLR(
        o, 0.3, total_steps=STEPS + 5, cycle_momentum=False, div_factor=10.0,
        final_div_factor=100.0),
    "CyclicLR-triangular": lambda T, o: T.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=4),
    "CyclicLR-triangular2": lambda T, o: T.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, step_size_down=5, mode="triangular2"),
    "CyclicLR-exp_range": lambda T, o: T.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.95),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_sequence_matches_torch(name):
    groups = 2 if name in ("LambdaLR-per-group", "OneCycleLR-linear-three-phase") else 1

    def fn(T):
        opt = _opt(T, groups=groups, lr=0.5, momentum=0.9)
        return _sequence(T, opt, SCHEDULES[name](T, opt))
    same(fn)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "NAdam", "RAdam"])
def test_one_cycle_cycles_adam_beta1(name):
    def fn(T):
        opt = _opt(T, name, lr=0.01, betas=(0.9, 0.99))
        sched = T.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=STEPS,
                                                base_momentum=0.8, max_momentum=0.92)
        return _sequence(T, opt, sched)
    same(fn)


def test_cyclic_lr_cycles_adam_beta1():
    def fn(T):
        opt = _opt(T, "Adam", lr=0.01)
        return _sequence(T, opt, T.optim.lr_scheduler.CyclicLR(opt, 0.001, 0.01, 5))
    same(fn)


PLATEAU = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.79, 0.79, 0.7999, 0.9,
           0.9, 0.9, 0.9, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.59995, 0.6, 0.6, 0.6]


@pytest.mark.parametrize("kwargs", [
    {},
    {"patience": 2},
    {"patience": 1, "factor": 0.5, "cooldown": 2},
    {"patience": 0, "factor": 0.5, "min_lr": 0.05},
    {"patience": 1, "threshold": 0.01, "threshold_mode": "abs"},
    {"mode": "max", "patience": 1, "factor": 0.3},
    {"mode": "max", "patience": 2, "threshold_mode": "abs", "threshold": 0.0},
    {"patience": 0, "factor": 0.5, "min_lr": [0.2, 0.01], "eps": 1e-3},
], ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults")
def test_reduce_lr_on_plateau(kwargs):
    groups = 2 if isinstance(kwargs.get("min_lr"), list) else 1

    def fn(T):
        opt = _opt(T, groups=groups, lr=0.5, momentum=0.9)
        sched = T.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        out = _sequence(T, opt, sched, metrics=PLATEAU)
        return out, sched.best, sched.num_bad_epochs, sched.cooldown_counter
    same(fn)


def test_reduce_lr_on_plateau_accepts_tensor_metrics():
    def fn(T):
        opt = _opt(T, lr=0.5)
        sched = T.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
        for v in (1.0, 2.0, 3.0):
            sched.step(T.tensor(v))
        return sched.get_last_lr(), sched.last_epoch
    same(fn)


# ---- state dicts and resuming --------------------------------------------------------------

@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR-cos",
                                  "SequentialLR", "LinearLR", "CyclicLR-triangular2",
                                  "CosineAnnealingWarmRestarts", "ChainedScheduler"])
def test_state_dict_round_trip(name):
    def fn(T):
        opt = _opt(T, lr=0.5, momentum=0.9)
        sched = SCHEDULES[name](T, opt)
        for _ in range(8):
            opt.step()
            sched.step()
        saved = sched.state_dict()
        opt2 = _opt(T, lr=0.5, momentum=0.9)
        sched2 = SCHEDULES[name](T, opt2)
        sched2.load_state_dict(saved)
        opt2.load_state_dict(opt.state_dict())
        rest = []
        for _ in range(10):
            opt.step()
            sched.step()
            opt2.step()
            sched2.step()
            rest.append((sched.get_last_lr(), sched2.get_last_lr()))
        return sorted(saved), rest
    result = same(fn)
    for a, b in result[1]:
        assert a == b


def test_state_dict_contents():
    def fn(T):
        opt = _opt(T, lr=0.5)
        sched = T.optim.lr_scheduler.StepLR(opt, 3)
        opt.step()
        sched.step()
        lam = T.optim.lr_scheduler.LambdaLR(_opt(T, lr=0.5), lambda e: 1.0)
        plateau = T.optim.lr_scheduler.ReduceLROnPlateau(_opt(T, lr=0.5))
        plateau.step(1.0)
        return sched.state_dict(), lam.state_dict(), plateau.state_dict()
    same(fn)


def test_resume_with_last_epoch_uses_initial_lr():
    def fn(T):
        opt = _opt(T, lr=0.5)
        T.optim.lr_scheduler.StepLR(opt, 2, 0.5)
        opt.param_groups[0]["lr"] = 0.125
        sched = T.optim.lr_scheduler.StepLR(opt, 2, 0.5, last_epoch=5)
        return sched.base_lrs, sched.last_epoch, sched.get_last_lr()
    same(fn)


# ---- warnings --------------------------------------------------------------------------------

def test_scheduler_step_before_optimizer_step_warns():
    def fn(T):
        opt = _opt(T, lr=0.5)
        sched = T.optim.lr_scheduler.StepLR(opt, 1)
        sched.step()
        sched.step()
        return sched.get_last_lr()
    same(fn)


def test_no_warning_in_the_documented_order():
    def fn(T):
        opt = _opt(T, lr=0.5)
        sched = T.optim.lr_scheduler.ExponentialLR(opt, 0.5)
        opt.step()
        sched.step()
        return sched.get_last_lr()
    same(fn)


def test_overridden_optimizer_step_warns():
    def fn(T):
        opt = _opt(T, lr=0.5)
        sched = T.optim.lr_scheduler.StepLR(opt, 1)
        opt.step = lambda closure=None: None
        opt.step()
        sched.step()
        return sched.get_last_lr()
    same(fn)


def test_step_with_epoch_warns_and_uses_the_closed_form():
    def fn(T):
        opt = _opt(T, lr=0.5)
        sched = T.optim.lr_scheduler.StepLR(opt, 3, 0.5)
        opt.step()
        sched.step(7)
        return sched.get_last_lr(), sched.last_epoch
    same(fn)


def test_get_lr_outside_step_warns():
    def fn(T):
        opt = _opt(T, lr=0.5)
        sched = T.optim.lr_scheduler.ExponentialLR(opt, 0.5)
        return sched.get_lr()
    same(fn)


# ---- errors --------------------------------------------------------------------------------

def _sgd(T):
    return _opt(T, lr=0.5, momentum=0.9)


@pytest.mark.parametrize("make", [
    lambda T: T.optim.lr_scheduler.StepLR([1, 2], 3),
    lambda T: T.optim.lr_scheduler.ReduceLROnPlateau("sgd"),
    lambda T: T.optim.lr_scheduler.StepLR(_sgd(T), 3, last_epoch=4),
    lambda T: T.optim.lr_scheduler.LambdaLR(_sgd(T), [lambda e: 1, lambda e: 2]),
    lambda T: T.optim.lr_scheduler.MultiplicativeLR(_sgd(T), [0.5]),
    lambda T: T.optim.lr_scheduler.ConstantLR(_sgd(T), factor=1.5),
    lambda T: T.optim.lr_scheduler.LinearLR(_sgd(T), start_factor=0),
    lambda T: T.optim.lr_scheduler.LinearLR(_sgd(T), end_factor=1.5),
    lambda T: T.optim.lr_scheduler.ReduceLROnPlateau(_sgd(T), factor=1.0),
    lambda T: T.optim.lr_scheduler.ReduceLROnPlateau(_sgd(T), mode="avg"),
    lambda T: T.optim.lr_scheduler.ReduceLROnPlateau(_sgd(T), threshold_mode="pct"),
    lambda T: T.optim.lr_scheduler.ReduceLROnPlateau(_sgd(T), min_lr=[0.1, 0.2]),
    lambda T: T.optim.lr_scheduler.OneCycleLR(_sgd(T), 1.0),
    lambda T: T.optim.lr_scheduler.OneCycleLR(_sgd(T), 1.0, total_steps=0),
    lambda T: T.optim.lr_scheduler.OneCycleLR(_sgd(T), 1.0, epochs=2, steps_per_epoch=-1),
    lambda T: T.optim.lr_scheduler.OneCycleLR(_sgd(T), 1.0, total_steps=10, pct_start=2.0),
    lambda T: T.optim.lr_scheduler.OneCycleLR(_sgd(T), 1.0, total_steps=10,
                                              anneal_strategy="exp"),
    lambda T: T.optim.lr_scheduler.OneCycleLR(_sgd(T), [1.0, 2.0], total_steps=10),
    lambda T: T.optim.lr_scheduler.OneCycleLR(
        T.optim.Adagrad([T.zeros(1, requires_grad=True)]), 1.0, total_steps=10),
    lambda T: T.optim.lr_scheduler.CyclicLR(_sgd(T), 0.1, 1.0, mode="sine"),
    lambda T: T.optim.lr_scheduler.CosineAnnealingWarmRestarts(_sgd(T), T_0=0),
    lambda T: T.optim.lr_scheduler.CosineAnnealingWarmRestarts(_sgd(T), T_0=2, T_mult=0),
    lambda T: T.optim.lr_scheduler.SequentialLR(_sgd(T), [], milestones=[]),
    lambda T: T.optim.lr_scheduler.ChainedScheduler([]),
])
def test_constructor_errors(make):
    same(lambda T: type(make(T)).__name__)


def test_sequential_lr_errors():
    def wrong_milestones(T):
        opt = _sgd(T)
        T.optim.lr_scheduler.SequentialLR(
            opt, [T.optim.lr_scheduler.StepLR(opt, 2), T.optim.lr_scheduler.StepLR(opt, 3)],
            milestones=[2, 4])

    def plateau_inside(T):
        opt = _sgd(T)
        T.optim.lr_scheduler.SequentialLR(
            opt, [T.optim.lr_scheduler.StepLR(opt, 2),
                  T.optim.lr_scheduler.ReduceLROnPlateau(opt)], milestones=[2])

    def other_optimizer(T):
        opt, other = _sgd(T), _sgd(T)
        T.optim.lr_scheduler.SequentialLR(
            opt, [T.optim.lr_scheduler.StepLR(other, 2)], milestones=[])

    same(wrong_milestones)
    same(plateau_inside)
    # The message embeds the other optimizer's repr, identical in both libraries here.
    same(other_optimizer)


def test_one_cycle_past_total_steps_raises():
    def fn(T):
        opt = _sgd(T)
        sched = T.optim.lr_scheduler.OneCycleLR(opt, 1.0, total_steps=3)
        for _ in range(4):
            opt.step()
            sched.step()
    same(fn)
