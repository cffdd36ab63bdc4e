"""The workloads under ``ember.compile``: each runner compiles the same PyTorch-style step the
eager row runs (bench/workloads_core.py, workloads_nets.py) and returns the same gradients, so
the harness checks them equal before timing.

Contract: ``COMPILED[name](*setup_args) -> run``, ``run(*setup_args)`` one compiled step (the
first call traces: the harness's first, untimed run). ``TARGETS`` are issue 16's bounds on the
compiled time: (contestant, bound).
"""

from __future__ import annotations

import ember

from . import workloads_core as core
from . import workloads_nets as nets


def _leaf_step(fn):
    """A step ``fn(T, x)`` that returns ``x.grad``: compiled, with ``x.grad`` cleared first."""
    def make(x):
        step = ember.compile(lambda x: fn(ember, x))

        def run(x):
            x.grad = None
            return step(x).numpy()
        return run
    return make


def _params_step(fn):
    def make(x, y, params):
        step = ember.compile(lambda x, y, params: fn(ember, x, y, params))

        def run(x, y, params):
            for p in params:
                p.grad = None
            step(x, y, params)
            return [p.grad.numpy() for p in params]
        return run
    return make


def _small_mlp(x, y, params):
    step = ember.compile(lambda x, y, params: core.small_mlp_run(ember, x, y, params))

    def run(x, y, params):
        return [g.numpy() for g in step(x, y, params)]
    return run


def _hvp(a, x, v):
    step = ember.compile(lambda a, x, v: core.hvp_run(ember, a, x, v))

    def run(a, x, v):
        return step(a, x, v).numpy()
    return run


def _digits(model, opt, x, y):
    F = ember.nn.functional

    def train_step(model, opt, x, y):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        grads = [p.grad.clone() for p in model.parameters()]
        opt.step()
        return grads
    step = ember.compile(train_step)

    def run(model, opt, x, y):
        return [g.numpy() for g in step(model, opt, x, y)]
    return run


def _lstm(lstm, head, x, y):
    step = ember.compile(lambda lstm, head, x, y: nets.lstm_run(ember, lstm, head, x, y))

    def run(lstm, head, x, y):
        return [g.numpy() for g in step(lstm, head, x, y)]
    return run


COMPILED = {"chain": _leaf_step(core.chain_step), "big": _leaf_step(core.big_step),
            "mlp": _params_step(core.mlp_step), "convnet": _params_step(nets.convnet_step),
            "small_mlp": _small_mlp,
            "hvp": _hvp, "digits": _digits, "lstm": _lstm}

TARGETS = {"chain": ("torch", 0.25), "small_mlp": ("torch", 0.4), "lstm": ("torch", 1.0),
           "mlp": ("numpy", 1.0), "digits": ("torch", 0.8)}
