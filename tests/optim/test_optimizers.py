"""Parity tests of ``ember.optim``'s optimizers against PyTorch.

Every optimizer runs on the same problem in both libraries (parameters from the same NumPy
arrays, the same small MLP-like loss written once for either module ``T``); after each of 10
steps the parameters and the whole ``state_dict()`` (state tensors, step counters, param-group
options) must match PyTorch's within float32 tolerance. Also: per-group options, state-dict round
trips, closures, ``zero_grad``, hooks, and PyTorch's errors and warnings.
"""

from __future__ import annotations

import copy
import importlib

import numpy as np
import pytest

import ember

from ..oracle import same, torch

RNG = np.random.default_rng(1234)
W1 = RNG.standard_normal((3, 4)).astype(np.float32)
B1 = RNG.standard_normal(4).astype(np.float32)
W2 = RNG.standard_normal((4, 2)).astype(np.float32)
X = RNG.standard_normal((6, 3)).astype(np.float32)
Y = RNG.standard_normal((6, 2)).astype(np.float32)


def _params(T):
    return [T.tensor(W1, requires_grad=True), T.tensor(B1, requires_grad=True),
            T.tensor(W2, requires_grad=True)]


def _loss(T, params, sign=1.0):
    w1, b1, w2 = params
    h = (T.tensor(X) @ w1 + b1).tanh()
    return sign * (((h @ w2 - T.tensor(Y)) ** 2).mean() + 0.05 * (w1 ** 4).sum())


def _snapshot(T, opt, params):
    """Parameters and state_dict, copied (the optimizer keeps updating its tensors in place)."""
    sd = opt.state_dict()
    state = {k: {kk: (vv.detach().clone() if isinstance(vv, T.Tensor) else vv)
                 for kk, vv in v.items()} for k, v in sd["state"].items()}
    return {"params": [p.detach().clone() for p in params], "state": state,
            "param_groups": copy.deepcopy(sd["param_groups"])}


def _trajectory(T, name, kwargs, steps=10, groups=None, sign=1.0):
    params = _params(T)
    spec = params if groups is None else [
        {"params": params[:2], **groups[0]}, {"params": params[2:], **groups[1]}]
    opt = getattr(T.optim, name)(spec, **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        _loss(T, params, sign).backward()
        opt.step()
        out.append(_snapshot(T, opt, params))
    return out


CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"lr": 0.05, "maximize": True, "foreach": False}),
    ("Adam", {"lr": 0.05, "fused": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "fused": True}),
    ("Adagrad", {"lr": 0.05, "fused": True}),
    ("AdamW", {"lr": 0.05, "foreach": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.7, "centered": True, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.2}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-6, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.1}),
    ("Adadelta", {"maximize": True}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "momentum_decay": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.05, "maximize": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05, "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.05, "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 4, "weight_decay": 0.1}),
    ("ASGD", {"lr": 0.05, "t0": 2, "maximize": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.08)}),
    ("Rprop", {"lr": 0.05, "maximize": True}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-6, 1e-2), "d": 1.5,
                   "weight_decay": 0.1}),
    ("Adafactor", {"lr": 0.05, "maximize": True, "foreach": False}),
]


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(CASES)])
def test_every_step_matches_torch(name, kwargs):
    sign = -1.0 if kwargs.get("maximize") else 1.0
    same(lambda T: _trajectory(T, name, kwargs, sign=sign), rtol=1e-4, atol=1e-5)


GROUP_CASES = [
    ("SGD", {"lr": 0.1}, [{"momentum": 0.9}, {"lr": 0.01, "nesterov": True, "momentum": 0.5}]),
    ("Adam", {"lr": 0.05}, [{"amsgrad": True}, {"lr": 0.01, "betas": (0.5, 0.9)}]),
    ("AdamW", {}, [{"lr": 0.02}, {"lr": 0.01, "weight_decay": 0.5}]),
    ("RMSprop", {}, [{"centered": True}, {"momentum": 0.9, "lr": 0.001}]),
    ("Adagrad", {}, [{"lr_decay": 0.1}, {"lr": 0.5}]),
    ("Adadelta", {}, [{"rho": 0.5}, {"lr": 0.1}]),
    ("NAdam", {}, [{"momentum_decay": 0.1}, {"lr": 0.02, "weight_decay": 0.1}]),
    ("RAdam", {}, [{"betas": (0.5, 0.6)}, {"lr": 0.02}]),
    ("Adamax", {}, [{"betas": (0.5, 0.6)}, {"lr": 0.02}]),
    ("ASGD", {"t0": 3}, [{"lambd": 0.1}, {"lr": 0.05}]),
    ("Rprop", {}, [{"etas": (0.2, 1.1)}, {"lr": 0.1}]),
    ("Adafactor", {}, [{"d": 2.0}, {"lr": 0.1, "eps": (1e-5, 1e-3)}]),
]


@pytest.mark.parametrize(("name", "kwargs", "groups"), GROUP_CASES,
                         ids=[c[0] for c in GROUP_CASES])
def test_param_groups_with_their_own_options(name, kwargs, groups):
    same(lambda T: _trajectory(T, name, kwargs, groups=copy.deepcopy(groups)), rtol=1e-4,
         atol=1e-5)


@pytest.mark.parametrize(("name", "kwargs"), [
    ("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}), ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {"lr_decay": 0.1}), ("Adadelta", {}), ("NAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05}), ("Adamax", {"lr": 0.05}), ("ASGD", {"t0": 2}), ("Rprop", {}),
    ("Adafactor", {"weight_decay": 0.1})])
def test_state_dict_round_trip_continues_like_an_uninterrupted_run(name, kwargs):
    def fn(T):
        straight = _trajectory(T, name, kwargs, steps=10)[-1]
        params = _params(T)
        opt = getattr(T.optim, name)(params, **kwargs)
        for _ in range(5):
            opt.zero_grad()
            _loss(T, params).backward()
            opt.step()
        saved = opt.state_dict()
        resumed_params = [p.detach().clone().requires_grad_(True) for p in params]
        resumed = getattr(T.optim, name)(resumed_params, **kwargs)
        resumed.load_state_dict(saved)
        for _ in range(5):
            resumed.zero_grad()
            _loss(T, resumed_params).backward()
            resumed.step()
        return straight, _snapshot(T, resumed, resumed_params)

    straight, resumed = same(fn, rtol=1e-4, atol=1e-5)
    for a, b in zip(straight["params"], resumed["params"]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_state_dict_format():
    def fn(T):
        params = _params(T)
        opt = T.optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}])
        before = opt.state_dict()
        _loss(T, params).backward()
        opt.step()
        return before, opt.state_dict(), sorted(opt.state_dict()["state"])
    same(fn)


def test_state_dict_with_named_params():
    def fn(T):
        params = _params(T)
        opt = T.optim.SGD([("w1", params[0]), ("b1", params[1])], lr=0.1, momentum=0.9)
        _loss(T, params).backward()
        opt.step()
        return opt.state_dict(), opt.param_groups[0]["param_names"]
    same(fn)


def test_load_state_dict_casts_state_to_the_parameter_dtype_and_keeps_step():
    def fn(T):
        p32 = T.tensor([1.0, 2.0], requires_grad=True)
        opt = T.optim.Adam([p32], lr=0.1)
        (p32 ** 2).sum().backward()
        opt.step()
        p64 = T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True)
        other = T.optim.Adam([p64], lr=0.1)
        other.load_state_dict(opt.state_dict())
        return other.state[p64]
    same(fn)


def test_load_state_dict_copies_the_state_tensors():
    # NOTE: deliberate difference: PyTorch's load_state_dict keeps the dict's tensors when no
    # cast is needed, so the loaded optimizer would share buffers with the optimizer that saved
    # them; ember copies, so neither can corrupt the other.
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    opt = ember.optim.SGD([p], lr=0.1, momentum=0.9)
    (p ** 2).sum().backward()
    opt.step()
    saved = opt.state_dict()
    q = ember.tensor([1.0, 2.0], requires_grad=True)
    other = ember.optim.SGD([q], lr=0.1, momentum=0.9)
    other.load_state_dict(saved)
    saved["state"][0]["momentum_buffer"].mul_(0)
    assert other.state[q]["momentum_buffer"].tolist() == pytest.approx([2.0, 4.0])


def test_load_state_dict_errors():
    def groups_differ(T):
        a = T.optim.SGD([T.zeros(1, requires_grad=True)], lr=0.1)
        b = T.optim.SGD([{"params": [T.zeros(1, requires_grad=True)]},
                         {"params": [T.zeros(1, requires_grad=True)]}], lr=0.1)
        b.load_state_dict(a.state_dict())

    def sizes_differ(T):
        a = T.optim.SGD([T.zeros(1, requires_grad=True)], lr=0.1)
        b = T.optim.SGD([T.zeros(1, requires_grad=True), T.zeros(1, requires_grad=True)], lr=0.1)
        b.load_state_dict(a.state_dict())

    same(groups_differ)
    same(sizes_differ)


def test_parameters_without_grad_are_skipped_and_get_no_state():
    def fn(T):
        used = T.tensor([1.0, -1.0], requires_grad=True)
        unused = T.tensor([3.0], requires_grad=True)
        opts = [T.optim.Adam([used, unused], lr=0.1), T.optim.SGD([used, unused], lr=0.1)]
        out = []
        for opt in opts:
            opt.zero_grad()
            (used ** 2).sum().backward()
            opt.step()
            out.append((used.detach().clone(), unused.detach().clone(),
                        sorted(opt.state_dict()["state"])))
        return out
    same(fn)


def test_updates_are_in_place_on_the_parameters():
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    alias = w
    data_before = w._data
    opt = ember.optim.Adam([w], lr=0.1)
    (w ** 2).sum().backward()
    opt.step()
    assert alias is w and w._data is data_before
    assert w.grad_fn is None and w.requires_grad and w.is_leaf
    assert w.tolist() == pytest.approx([0.9, 1.9])


@pytest.mark.parametrize(("name", "kwargs"), [
    ("RMSprop", {"momentum": 0.5, "centered": True}), ("Adam", {"amsgrad": True}),
    ("Rprop", {"etas": (0.3, 1.7)}), ("ASGD", {"t0": 1}), ("Adamax", {}), ("NAdam", {}),
    ("Adagrad", {"initial_accumulator_value": 0.1}), ("Adafactor", {})])
def test_float64_parameters_and_state(name, kwargs):
    def fn(T):
        w = T.tensor([1.0, -2.0, 0.3], dtype=T.float64, requires_grad=True)
        opt = getattr(T.optim, name)([w], **kwargs)
        out = []
        for _ in range(4):
            opt.zero_grad()
            ((w - 0.1) ** 3).sum().backward()
            opt.step()
            out.append((w.detach().clone(), {k: v.clone() for k, v in opt.state[w].items()}))
        return out
    same(fn, rtol=1e-10, atol=1e-12)


# ---- closures, zero_grad, hooks ------------------------------------------------------------

def test_step_with_closure_returns_the_loss_and_runs_with_grad_enabled():
    def fn(T):
        params = _params(T)
        opt = T.optim.SGD(params, lr=0.1)
        seen = []

        def closure():
            seen.append(T.is_grad_enabled())
            opt.zero_grad()
            loss = _loss(T, params)
            loss.backward()
            return loss

        with T.no_grad():
            loss = opt.step(closure)
        return loss.detach(), seen, params, opt.step() is None
    same(fn)


def test_zero_grad_to_none_and_to_zeros():
    def fn(T):
        params = _params(T)
        opt = T.optim.SGD(params, lr=0.1)
        _loss(T, params).backward()
        opt.zero_grad(set_to_none=False)
        zeros = [p.grad.clone() for p in params]
        opt.zero_grad()
        return zeros, [p.grad is None for p in params]
    same(fn)


def test_step_hooks_run_in_order_and_can_be_removed():
    def fn(T):
        w = T.tensor([1.0], requires_grad=True)
        opt = T.optim.SGD([w], lr=0.1)
        calls = []
        pre = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt)))
        opt.register_step_post_hook(lambda o, a, k: calls.append(("post", w.tolist())))
        (w * 2).sum().backward()
        opt.step()
        pre.remove()
        opt.step()
        return calls
    same(fn)


def test_state_dict_hooks():
    def fn(T):
        w = T.tensor([1.0], requires_grad=True)
        opt = T.optim.SGD([w], lr=0.1)
        calls = []
        opt.register_state_dict_pre_hook(lambda o: calls.append("pre"))
        opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
        opt.register_load_state_dict_pre_hook(lambda o, sd: calls.append(sorted(sd)))
        opt.register_load_state_dict_post_hook(lambda o: calls.append("loaded"))
        sd = opt.state_dict()
        opt.load_state_dict(sd)
        return sorted(sd), calls
    same(fn)


def test_add_param_group_fills_defaults():
    def fn(T):
        a, b = T.zeros(2, requires_grad=True), T.zeros(3, requires_grad=True)
        opt = T.optim.Adam([a], lr=0.1, betas=(0.5, 0.6))
        opt.add_param_group({"params": b, "eps": 1e-3})
        return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    same(fn)


def test_repr():
    def fn(T):
        return repr(T.optim.SGD([T.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9))
    same(fn)


# ---- errors and warnings -------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda T: T.optim.SGD([], lr=0.1),
    lambda T: T.optim.SGD(T.zeros(2, requires_grad=True), lr=0.1),
    lambda T: T.optim.SGD([1.0], lr=0.1),
    lambda T: T.optim.SGD({T.zeros(2, requires_grad=True)}, lr=0.1),
    lambda T: T.optim.SGD([{"params": {T.zeros(2, requires_grad=True)}}], lr=0.1),
    lambda T: T.optim.SGD([T.zeros(2, requires_grad=True) * 2], lr=0.1),
    lambda T: T.optim.SGD([{"params": [x]}, {"params": [x]}] if (x := T.zeros(2)) is not None
                          else None, lr=0.1),
    lambda T: T.optim.SGD([("a", T.zeros(1)), T.zeros(1)], lr=0.1),
    lambda T: T.optim.SGD([{"params": T.zeros(1)}, "not a dict"], lr=0.1),
    lambda T: T.optim.SGD([{"params": [("a", T.zeros(1))]}, {"params": [T.zeros(1)]}]),
    lambda T: T.optim.SGD([T.zeros(1)], lr=-0.1),
    lambda T: T.optim.SGD([T.zeros(1)], momentum=-0.5),
    lambda T: T.optim.SGD([T.zeros(1)], weight_decay=-1.0),
    lambda T: T.optim.SGD([T.zeros(1)], nesterov=True),
    lambda T: T.optim.SGD([T.zeros(1)], nesterov=True, momentum=0.9, dampening=0.1),
    lambda T: T.optim.Adam([T.zeros(1)], lr=-1.0),
    lambda T: T.optim.Adam([T.zeros(1)], eps=-1.0),
    lambda T: T.optim.Adam([T.zeros(1)], betas=(1.0, 0.9)),
    lambda T: T.optim.Adam([T.zeros(1)], betas=(0.9, -0.1)),
    lambda T: T.optim.Adam([T.zeros(1)], weight_decay=-0.1),
    lambda T: T.optim.Adam([T.zeros(1)], betas=(0.9, 1)),
    lambda T: T.optim.AdamW([T.zeros(1)], betas=(0.9, 1.5)),
    lambda T: T.optim.RMSprop([T.zeros(1)], alpha=-0.1),
    lambda T: T.optim.RMSprop([T.zeros(1)], momentum=-0.1),
    lambda T: T.optim.RMSprop([T.zeros(1)], eps=-0.1),
    lambda T: T.optim.Adagrad([T.zeros(1)], lr_decay=-0.1),
    lambda T: T.optim.Adagrad([T.zeros(1)], initial_accumulator_value=-0.1),
    lambda T: T.optim.Adadelta([T.zeros(1)], rho=1.5),
    lambda T: T.optim.NAdam([T.zeros(1)], momentum_decay=-0.1),
    lambda T: T.optim.RAdam([T.zeros(1)], betas=(0.9, 2.0)),
    lambda T: T.optim.Adamax([T.zeros(1)], betas=(0.9, 1.0)),
    lambda T: T.optim.ASGD([T.zeros(1)], weight_decay=-1),
    lambda T: T.optim.Rprop([T.zeros(1)], etas=(1.1, 1.2)),
    lambda T: T.optim.Rprop([T.zeros(1)], etas=(0.5, 0.9)),
    lambda T: T.optim.SGD([T.zeros(1)], fused=True, differentiable=True),
    lambda T: T.optim.SGD([T.zeros(1)], fused=True, foreach=True),
    lambda T: T.optim.Adam([T.zeros(1)], fused=True, differentiable=True),
    lambda T: T.optim.AdamW([T.zeros(1)], fused=True, foreach=True),
    lambda T: T.optim.Adagrad([T.zeros(1)], fused=True, foreach=True),
    lambda T: T.optim.Adam([T.zeros(1)], lr=T.tensor(0.1), foreach=True),
    lambda T: T.optim.Adafactor([T.zeros(1)], lr=-1),
    lambda T: T.optim.Adafactor([T.zeros(1)], beta2_decay=0.5),
    lambda T: T.optim.Adafactor([T.zeros(1)], eps=(-1e-3, 1e-3)),
    lambda T: T.optim.Adafactor([T.zeros(1)], eps=(None, -1.0)),
    lambda T: T.optim.Adafactor([T.zeros(1)], d=0.5),
    lambda T: T.optim.Adafactor([T.zeros(1)], weight_decay=-0.5),
    lambda T: T.optim.LBFGS([T.zeros(1)], lr=-1),
    lambda T: T.optim.LBFGS([{"params": [T.zeros(1)]}, {"params": [T.zeros(1)]}]),
])
def test_constructor_errors(make):
    # A set at top level is accepted (it becomes one group's list); repr shows what was built.
    same(lambda T: repr(make(T)))


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adadelta", "Adamax", "ASGD", "NAdam",
                                  "RAdam", "RMSprop", "Rprop"])
@pytest.mark.parametrize("foreach", [None, True])
def test_capturable_steps_need_an_accelerator(name, foreach):
    # PyTorch accepts capturable=True at construction but its step raises on CPU tensors.
    def fn(T):
        w = T.tensor([1.0], requires_grad=True)
        opt = getattr(T.optim, name)([w], capturable=True, foreach=foreach)
        (w * w).sum().backward()
        opt.step()
    same(fn)


MUON_CASES = [
    {},
    {"lr": 0.02},
    {"lr": 0.05, "nesterov": False, "adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.01},
    {"lr": 0.05, "momentum": 0.5, "ns_steps": 3, "adjust_lr_fn": "original"},
    {"lr": 0.05, "ns_coefficients": (2.0, -1.5, 0.5), "eps": 1e-4},
]


def _muon_run(T, kwargs, steps=10):
    w1, b1, w2 = _params(T)
    opt = T.optim.Muon([w1, w2], **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        _loss(T, (w1, b1, w2)).backward()
        opt.step()
        out.append(_snapshot(T, opt, [w1, w2]))
    return out


def _as_array(t):
    return t.detach().float().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


@pytest.mark.parametrize("kwargs", MUON_CASES, ids=[str(i) for i in range(len(MUON_CASES))])
def test_muon_matches_torch(kwargs):
    # Muon takes only 2-D parameters: W1 (3x4, wide after the transpose) and W2 (4x2, tall).
    # NOTE: the Newton-Schulz update is computed in bfloat16. PyTorch's bfloat16 GEMMs round
    # differently by CPU (native bfloat16 dot products where AVX-512 BF16 exists, float32
    # accumulation elsewhere), and a float32 GEMM's last bit depends on the BLAS kernel; either
    # can move an entry of the orthogonalized update by one bfloat16 ulp (2**-8 relative), and
    # the change carries into later steps. So each step may drift from PyTorch's by a few ulps
    # of that step's update, lr_adj * |O| <= lr_adj * 1.2 (O is near-orthogonal), and the drift
    # adds up over the steps; the momentum buffers follow the weights through the gradients.
    # That bound is still ~30x tighter than one step's update, so a wrong coefficient, sign,
    # Nesterov term, decay or lr adjustment fails.
    mine, ref = _muon_run(ember, kwargs), _muon_run(torch, kwargs)
    lr = kwargs.get("lr", 0.001)
    fn = kwargs.get("adjust_lr_fn")
    for k, (a, b) in enumerate(zip(mine, ref)):
        assert a["param_groups"] == b["param_groups"]
        assert a["state"].keys() == b["state"].keys()
        for i, (pa, pb) in enumerate(zip(a["params"], b["params"])):
            shape = tuple(pa.shape)
            ratio = (0.2 * max(shape) ** 0.5 if fn == "match_rms_adamw"
                     else max(1.0, shape[0] / shape[1]) ** 0.5)
            ulp_bound = (k + 1) * 4 * 2.0 ** -8 * 1.2 * lr * ratio
            assert pa.dtype == ember.float32 and pb.dtype == torch.float32
            np.testing.assert_allclose(_as_array(pa), _as_array(pb), rtol=0, atol=ulp_bound,
                                       err_msg=f"step {k} param {i}")
            ba, bb = a["state"][i]["momentum_buffer"], b["state"][i]["momentum_buffer"]
            np.testing.assert_allclose(_as_array(ba), _as_array(bb), rtol=1e-2,
                                       atol=10 * ulp_bound, err_msg=f"step {k} buffer {i}")


@pytest.mark.parametrize("make", [
    lambda T: T.optim.Muon([T.zeros(2, 2)], lr=-1.0),
    lambda T: T.optim.Muon([T.zeros(2, 2)], momentum=-1.0),
    lambda T: T.optim.Muon([T.zeros(2, 2)], weight_decay=-1.0),
    lambda T: T.optim.Muon([T.zeros(2, 2)], adjust_lr_fn="sqrt"),
    lambda T: T.optim.Muon([T.zeros(2, 2), T.zeros(3)]),
])
def test_muon_errors(make):
    same(lambda T: repr(make(T)))


def test_muon_step_errors():
    def too_many_steps(T):
        w = T.ones(2, 2, requires_grad=True)
        opt = T.optim.Muon([w], ns_steps=100)
        (w * w).sum().backward()
        opt.step()

    def bad_coefficients(T):
        w = T.ones(2, 2, requires_grad=True)
        opt = T.optim.Muon([w], ns_coefficients=(1.0, 2.0))
        (w * w).sum().backward()
        opt.step()

    same(too_many_steps)
    same(bad_coefficients)


def test_add_param_group_errors():
    def not_a_dict(T):
        T.optim.SGD([T.zeros(1)], lr=0.1).add_param_group([T.zeros(1)])

    def shared(T):
        x = T.zeros(1)
        T.optim.SGD([x], lr=0.1).add_param_group({"params": [x]})

    same(not_a_dict)
    same(shared)


def test_duplicate_parameter_in_a_group_warns():
    def fn(T):
        x = T.zeros(1, requires_grad=True)
        return len(T.optim.SGD([x, x], lr=0.1).param_groups[0]["params"])
    same(fn)


def test_lbfgs_rejects_unknown_line_search():
    def fn(T):
        w = T.tensor([1.0, 2.0], requires_grad=True)
        opt = T.optim.LBFGS([w], line_search_fn="armijo")

        def closure():
            opt.zero_grad()
            loss = (w ** 2).sum()
            loss.backward()
            return loss
        opt.step(closure)
    same(fn)


# ---- LBFGS ---------------------------------------------------------------------------------

A = (RNG.standard_normal((8, 5)) / 3).astype(np.float32)
T_TARGET = RNG.standard_normal(8).astype(np.float32)


def _lbfgs_run(T, kwargs, steps=3, dtype=np.float32):
    w = T.tensor(np.zeros(5, dtype), requires_grad=True)
    b = T.tensor(dtype(0.5), requires_grad=True)
    opt = T.optim.LBFGS([w, b], **kwargs)

    def closure():
        opt.zero_grad()
        r = T.tensor(A.astype(dtype)) @ w + b - T.tensor(T_TARGET.astype(dtype))
        loss = (r ** 2).sum() + 0.1 * (w ** 2).sum()
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        loss = opt.step(closure)
        st = opt.state[w]
        out.append((loss.detach(), w.detach().clone(), b.detach().clone(), st["func_evals"],
                    st["n_iter"]))
    return out


@pytest.mark.parametrize("kwargs", [
    {"max_iter": 4},
    {"max_iter": 3, "history_size": 2, "lr": 0.5},
    {"max_iter": 6, "line_search_fn": "strong_wolfe"},
    {"max_iter": 4, "history_size": 2, "line_search_fn": "strong_wolfe"},
    {"max_iter": 20, "tolerance_grad": 1e-3, "tolerance_change": 1e-4},
], ids=["plain", "history2", "strong_wolfe", "strong_wolfe_history2", "tolerances"])
def test_lbfgs_matches_torch(kwargs):
    # float64: the line search and the tolerance checks branch on differences of losses that
    # reach roundoff within these few steps, and in float32 PyTorch's roundoff depends on the
    # CPU's vector kernels (its function-evaluation counts change with ATEN_CPU_CAPABILITY)
    same(lambda T: _lbfgs_run(T, kwargs, dtype=np.float64), rtol=1e-9, atol=1e-12)


def test_lbfgs_float32_keeps_the_dtype():
    # the float32 path takes the same steps up to float32 roundoff
    def fn(T):
        return [(loss, w, b) for loss, w, b, _, _ in _lbfgs_run(T, {"max_iter": 4})]
    same(fn, rtol=1e-4, atol=1e-5)


def test_lbfgs_converges_on_a_quadratic():
    for fn in (None, "strong_wolfe"):
        w = ember.tensor([1.0, -2.0], requires_grad=True)
        opt = ember.optim.LBFGS([w], line_search_fn=fn)

        def closure(w=w, opt=opt):
            opt.zero_grad()
            loss = ((w - 3) ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        assert w.tolist() == pytest.approx([3.0, 3.0], abs=1e-4)


@pytest.mark.parametrize("kwargs", [
    {"line_search_fn": "strong_wolfe", "max_iter": 10},
    {"lr": 0.1, "max_iter": 10, "history_size": 5},
], ids=["strong_wolfe", "fixed_step"])
def test_lbfgs_on_rosenbrock_in_float64(kwargs):
    # A curved valley makes the line search bracket and zoom; float64 keeps both libraries on
    # the same path (in float32, roundoff in y.dot(s) can steer the search differently).
    def fn(T):
        w = T.tensor([-1.5, 2.0], dtype=T.float64, requires_grad=True)
        opt = T.optim.LBFGS([w], **kwargs)

        def closure():
            opt.zero_grad()
            loss = (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
            loss.backward()
            return loss

        out = []
        for _ in range(4):
            opt.step(closure)
            out.append((w.detach().clone(), opt.state[w]["func_evals"],
                        opt.state[w]["n_iter"]))
        # The whole state (direction, step, curvature pairs, 'al' with its unused None slots).
        state = {k: (v.clone() if isinstance(v, T.Tensor) else
                     [x.clone() if isinstance(x, T.Tensor) else x for x in v]
                     if isinstance(v, list) else v)
                 for k, v in opt.state_dict()["state"][0].items()}
        return out, state
    same(fn, rtol=1e-7, atol=1e-9)


# ---- docstring examples --------------------------------------------------------------------

def _optim_modules():
    import pkgutil

    import ember.optim as package
    return [importlib.import_module(f"ember.optim.{m.name}")
            for m in pkgutil.iter_modules(package.__path__)]


@pytest.mark.parametrize("module", _optim_modules(), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    import doctest
    result = doctest.testmod(module, extraglobs={"ember": ember}, verbose=False)
    assert result.failed == 0


# ---- tensor options, global hooks ----------------------------------------------------------

def test_tensor_lr_with_a_scheduler():
    def fn(T):
        out = []
        for name in ("SGD", "Adam", "RMSprop", "Adagrad", "NAdam"):
            w = T.tensor([1.0, 2.0], requires_grad=True)
            opt = getattr(T.optim, name)([w], lr=T.tensor(0.1))
            sched = T.optim.lr_scheduler.StepLR(opt, 1, 0.5)
            for _ in range(3):
                opt.zero_grad()
                (w * w).sum().backward()
                opt.step()
                sched.step()
            out.append((w.detach().clone(), opt.param_groups[0]["lr"], sched.get_last_lr()))
        return out
    same(fn)


def test_tensor_lr_must_have_one_element():
    same(lambda T: T.optim.SGD([T.zeros(1, requires_grad=True)], lr=T.tensor([0.1, 0.2])))


def test_global_step_hooks_and_pre_hook_replacing_arguments():
    def fn(T):
        w = T.tensor([1.0], requires_grad=True)
        opt = T.optim.SGD([w], lr=0.1)
        calls = []

        def closure():
            calls.append("closure")
            return T.tensor(7.0)

        module = importlib.import_module(f"{T.__name__}.optim.optimizer")
        pre = module.register_optimizer_step_pre_hook(
            lambda o, a, k: calls.append("global pre"))
        post = module.register_optimizer_step_post_hook(
            lambda o, a, k: calls.append("global post"))
        opt.register_step_pre_hook(lambda o, a, k: (a, {"closure": closure}))
        try:
            (w * 2).sum().backward()
            loss = opt.step()
        finally:
            pre.remove()
            post.remove()
        opt.step()
        return calls, loss, w
    same(fn)


# ---- complex parameters --------------------------------------------------------------------

def test_sgd_on_complex_parameters():
    def fn(T):
        z = T.tensor([1 + 2j, -0.5 + 0.25j], requires_grad=True)
        opt = T.optim.SGD([z], lr=0.1, momentum=0.9, weight_decay=0.01)
        out = []
        for _ in range(5):
            opt.zero_grad()
            (z.abs() ** 2).sum().backward()
            opt.step()
            out.append((z.detach().clone(), opt.state[z]["momentum_buffer"].clone()))
        return out
    same(fn)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adadelta", "Adagrad", "Adamax", "ASGD",
                                  "NAdam", "RAdam", "RMSprop", "Rprop"])
def test_complex_parameters_fail_loudly_where_pytorch_uses_view_as_real(name):
    z = ember.tensor([1 + 2j], requires_grad=True)
    opt = getattr(ember.optim, name)([z])
    (z.abs() ** 2).sum().backward()
    with pytest.raises(NotImplementedError, match=f"{name} does not support complex parameters"):
        opt.step()


def test_lbfgs_rejects_complex_parameters():
    with pytest.raises(NotImplementedError, match="LBFGS does not support complex"):
        ember.optim.LBFGS([ember.tensor([1 + 2j], requires_grad=True)])


# ---- checkpoints ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kwargs"), [("Adam", {"amsgrad": True, "lr": 0.05}),
                                              ("SGD", {"lr": 0.1, "momentum": 0.9}),
                                              ("LBFGS", {"max_iter": 3})])
def test_state_dict_survives_ember_save_and_load(name, kwargs, tmp_path):
    def run(params, opt, steps):
        def closure():
            opt.zero_grad()
            loss = _loss(ember, params)
            loss.backward()
            return loss
        for _ in range(steps):
            opt.step(closure)

    params = _params(ember)
    opt = getattr(ember.optim, name)(params, **kwargs)
    run(params, opt, 3)
    ember.save(opt.state_dict(), tmp_path / "opt.pt")
    resumed_params = [p.detach().clone().requires_grad_(True) for p in params]
    resumed = getattr(ember.optim, name)(resumed_params, **kwargs)
    resumed.load_state_dict(ember.load(tmp_path / "opt.pt"))
    run(params, opt, 2)
    run(resumed_params, resumed, 2)
    for a, b in zip(params, resumed_params):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)


# ---- with nn modules -----------------------------------------------------------------------

def test_training_a_module_with_named_parameters_and_a_scheduler():
    def fn(T):
        model = T.nn.Sequential(T.nn.Linear(3, 4), T.nn.Tanh(), T.nn.Linear(4, 2))
        with T.no_grad():
            for p, value in zip(model.parameters(), (W1.T, B1, W2.T, np.zeros(2, np.float32))):
                p.copy_(T.tensor(value))
        opt = T.optim.AdamW(model.named_parameters(), lr=0.05)
        sched = T.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=8)
        losses = []
        for _ in range(8):
            opt.zero_grad()
            loss = ((model(T.tensor(X)) - T.tensor(Y)) ** 2).mean()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        return losses, model.state_dict(), opt.state_dict()["param_groups"][0]["param_names"]
    same(fn, rtol=1e-4, atol=1e-5)


# ---- user-defined optimizers ---------------------------------------------------------------

def test_a_user_defined_optimizer_gets_groups_state_hooks_and_schedulers():
    def fn(T):
        class SignSGD(T.optim.Optimizer):
            def __init__(self, params, lr=0.01):
                super().__init__(params, {"lr": lr})

            @T.no_grad()
            def step(self, closure=None):
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is not None:
                            self.state[p]["n"] = self.state[p].get("n", 0) + 1
                            p.add_(p.grad.sign(), alpha=-group["lr"])

        w = T.tensor([1.0, -2.0], requires_grad=True)
        opt = SignSGD([w], lr=0.5)
        calls = []
        opt.register_step_post_hook(lambda o, a, k: calls.append(w.tolist()))
        sched = T.optim.lr_scheduler.ExponentialLR(opt, 0.5)
        for _ in range(3):
            opt.zero_grad()
            (w ** 2).sum().backward()
            opt.step()
            sched.step()
        return w, calls, opt.state_dict(), sched.get_last_lr()
    same(fn)


# ---- differentiable=True -------------------------------------------------------------------

def _differentiable_run(T, name, kwargs):
    # A non-leaf parameter (w = w0 * 1) whose gradient depends on w0: with differentiable=True
    # the steps are recorded, so d(loss after 3 steps)/d(w0) exists.
    w0 = T.tensor([1.0, -2.0, 0.5], requires_grad=True)
    w = w0 * 1.0
    opt = getattr(T.optim, name)([w], differentiable=True, **kwargs)
    for _ in range(3):
        w.grad = (w * 2).detach() * w0
        opt.step()
    (grad,) = T.autograd.grad((w * w).sum(), w0)
    return w, grad


DIFFERENTIABLE_OK = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}), ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.1}), ("AdamW", {"lr": 0.1}), ("RMSprop", {"lr": 0.01}),
    ("Adagrad", {"lr": 0.1}), ("Adadelta", {}), ("NAdam", {"lr": 0.1}),
    ("RAdam", {"lr": 0.1}), ("ASGD", {"lr": 0.1}),
]


@pytest.mark.parametrize(("name", "kwargs"), DIFFERENTIABLE_OK,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(DIFFERENTIABLE_OK)])
def test_differentiable_steps_record_the_graph(name, kwargs):
    same(lambda T: _differentiable_run(T, name, kwargs), rtol=1e-5, atol=1e-5,
         warnings_too=False)


@pytest.mark.parametrize(("name", "kwargs"), [
    ("Adam", {"lr": 0.1, "amsgrad": True}), ("RMSprop", {"centered": True, "momentum": 0.5}),
    ("Adamax", {"lr": 0.1}), ("Rprop", {"lr": 0.1})])
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
def test_differentiable_steps_that_pytorch_cannot_differentiate_fail_too(name, kwargs):
    # PyTorch's own differentiable paths modify saved tensors here; so does ember, and both
    # autograd engines refuse the backward pass.
    for T in (ember, torch):
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient "
                                               "computation has been modified"):
            _differentiable_run(T, name, kwargs)


def test_differentiable_step_on_a_leaf_parameter_is_an_in_place_error():
    def fn(T):
        w = T.tensor([1.0, 2.0], requires_grad=True)
        opt = T.optim.SGD([w], lr=0.1, differentiable=True)
        (w * w).sum().backward()
        opt.step()
    same(fn)
