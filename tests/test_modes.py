"""The mode stack and the one call path (NOTE [one call path] in ember/_modes.py): ops captured
before a mode began reach it, modes may be left in any order, a thread's vmap is its own, and
the published ops never change."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
import ember.autograd.forward_ad as fwAD
from ember import _modes
from ember import exp as captured_exp
from ember import sin as captured_sin
from ember.nn.functional import relu as captured_relu

from .oracle import same

X = [[1.0, 2.0], [3.0, 4.0]]


def _published():
    """Every published op, by place."""
    import ember.nn.functional as F
    from ember import _records

    owners = {"torch": ember, "Tensor": ember.Tensor, "F": F, "linalg": ember.linalg,
              "special": ember.special, "random": ember.random}
    return {(space, attr): (owners[space].__dict__[attr] if space == "Tensor"
                            else getattr(owners[space], attr))
            for space, attr, _, _ in _records.publications()}


def test_vmap_sees_an_op_captured_before_it():
    def f(m):
        x = m.tensor(X, dtype=m.float64)
        exp = captured_exp if m is ember else m.exp
        return m.func.vmap(lambda v: exp(v).sum())(x)
    same(f)


def test_forward_ad_gives_a_captured_op_its_tangent():
    def f(m):
        exp = captured_exp if m is ember else m.exp
        fw = m.autograd.forward_ad
        with fw.dual_level():
            d = fw.make_dual(m.tensor([1.0, 2.0], dtype=m.float64),
                             m.tensor([1.0, 0.5], dtype=m.float64))
            return fw.unpack_dual(exp(d)).tangent
    same(f, warnings_too=False)  # (PyTorch's forward_ad import warns about torch.jit)


def test_jvp_and_jacfwd_of_captured_ops():
    def f(m):
        sin = captured_sin if m is ember else m.sin
        relu = captured_relu if m is ember else m.nn.functional.relu
        x = m.tensor([0.5, -1.0, 2.0], dtype=m.float64)
        return (m.func.jvp(lambda v: relu(sin(v)), (x,), (m.ones(3, dtype=m.float64),)),
                m.func.jacfwd(sin)(x), m.func.vmap(m.func.grad(lambda v: sin(v).sum()))(x[:, None]))
    same(f)


def test_profiler_records_a_captured_op():
    x = ember.ones(3)
    with ember.profiler.profile() as prof:
        captured_exp(x)
        captured_relu(x)
    names = [e.name for e in prof.events()]
    assert "aten::exp" in names and "aten::relu" in names


def test_anomaly_mode_sees_a_captured_op():
    x = ember.tensor([-1.0, 1.0], requires_grad=True)
    with ember.autograd.detect_anomaly():
        y = ember.sqrt(captured_exp(x) - 2.0).sum()  # NaN forward: sqrt of a negative
        with pytest.raises(RuntimeError, match="returned nan values"):
            y.backward()


def test_published_ops_never_change_under_modes():
    before = _published()
    x = ember.tensor(X)
    with ember.profiler.profile():
        with fwAD.dual_level():
            assert _published() == before
            ember.func.vmap(lambda v: captured_exp(v).sum())(x)
            assert _published() == before
    assert _published() == before
    assert not _modes.intercepting() and _modes.ACTIVE[0] == 0


def test_modes_left_in_any_order():
    x = ember.tensor([1.0, 2.0], dtype=ember.float64)
    prof = ember.profiler.profile()
    level = fwAD.dual_level()
    prof.__enter__()
    level.__enter__()
    assert _modes.intercepting()
    prof.__exit__(None, None, None)  # the outer mode first
    d = fwAD.make_dual(x, ember.ones(2, dtype=ember.float64))
    assert fwAD.unpack_dual(captured_exp(d)).tangent is not None  # forward AD still works
    level.__exit__(None, None, None)
    assert not _modes.intercepting() and _modes.ACTIVE[0] == 0
    assert _modes.active_modes() == []
    # nothing left wrapped: an op runs plain, and a profiler afterwards sees only its own ops
    with ember.profiler.profile() as p2:
        captured_sin(x)
    assert [e.name for e in p2.events()] == ["aten::sin"]


def test_an_exception_unwinds_every_mode():
    with pytest.raises(ValueError), ember.profiler.profile(), fwAD.dual_level():
        ember.func.vmap(lambda v: (_ for _ in ()).throw(ValueError("boom")))(ember.ones(2, 2))
    assert not _modes.intercepting() and _modes.ACTIVE[0] == 0


def test_vmap_in_one_thread_leaves_another_threads_ops_alone():
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def batched(v):
        seen["vmap_thread_modes"] = len(_modes.active_modes())
        inside.set()
        release.wait(10)
        return captured_exp(v).sum()

    worker = threading.Thread(
        target=lambda: seen.__setitem__("out", ember.func.vmap(batched)(ember.tensor(X))))
    worker.start()
    assert inside.wait(10)
    try:
        # this thread has no vmap: its ops run plain, its modes are its own
        assert _modes.active_modes() == []
        assert not _modes.intercepting()
        y = captured_exp(ember.tensor([0.0, 1.0]))
        np.testing.assert_allclose(y.numpy(), np.exp([0.0, 1.0]), rtol=1e-6)
    finally:
        release.set()
        worker.join(10)
    assert seen["vmap_thread_modes"] == 1
    np.testing.assert_allclose(seen["out"].numpy(), np.exp(np.array(X)).sum(1), rtol=1e-6)


def test_two_threads_run_vmaps_at_the_same_time():
    # each thread's vmaps are its own (levels, batched tensors): the two interleave, the first
    # leaves while the second is still inside, and a third thread outside any vmap sees plain
    # shapes and values throughout
    a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()
    got, errors = {}, []

    def body_a(v):
        a_inside.set()
        assert b_inside.wait(10)
        got["shape_a"] = tuple(v.shape)
        return ember.func.grad(lambda w: (captured_sin(w) * w).sum())(v)  # per-sample grads

    def body_b(v):
        b_inside.set()
        assert a_inside.wait(10)
        assert a_done.wait(10)  # (A's vmap has exited: B's must still batch)
        got["shape_b"] = (tuple(v.shape), len(v))
        return captured_exp(v).sum(0)

    def run(name, fn, x):
        try:
            got[name] = ember.func.vmap(fn)(x)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            if name == "a":
                a_done.set()

    xa = ember.tensor(np.arange(6.0).reshape(3, 2))
    xb = ember.tensor(np.arange(24.0).reshape(4, 3, 2) / 10)
    threads = [threading.Thread(target=run, args=("a", body_a, xa)),
               threading.Thread(target=run, args=("b", body_b, xb))]
    for t in threads:
        t.start()
    assert a_inside.wait(10) and b_inside.wait(10)
    plain = ember.ones(5, 7)
    assert plain.shape == (5, 7) and len(plain) == 5 and plain.dim() == 2
    w = ember.tensor([0.5, 1.0], dtype=ember.float64)
    g = ember.func.grad(lambda w: (captured_sin(w) * w).sum())(w)  # (a plain grad, meanwhile)
    np.testing.assert_allclose(g.numpy(), np.sin(w.numpy()) + w.numpy() * np.cos(w.numpy()))
    for t in threads:
        t.join(10)
    assert errors == []
    a = xa.numpy()
    np.testing.assert_allclose(got["a"].numpy(), np.sin(a) + a * np.cos(a), rtol=1e-6)
    np.testing.assert_allclose(got["b"].numpy(), np.exp(xb.numpy()).sum(1), rtol=1e-6)
    assert got["shape_a"] == (2,) and got["shape_b"] == ((3, 2), 3)
    assert ember.ones(2, 3).shape == (2, 3) and not _modes.intercepting()


def test_forward_ad_levels_are_process_wide_as_pytorchs():
    # PyTorch's dual levels are global: a level opened in one thread is seen by another
    got = {}
    with fwAD.dual_level():
        d = fwAD.make_dual(ember.tensor([1.0]), ember.tensor([2.0]))

        def other():
            got["t"] = fwAD.unpack_dual(captured_exp(d)).tangent

        t = threading.Thread(target=other)
        t.start()
        t.join(10)
    np.testing.assert_allclose(got["t"].numpy(), [2.0 * np.e], rtol=1e-6)


def test_a_user_mode_sees_every_call_path():
    calls = []

    class Logging(_modes.Mode):
        def wrap(self, key, fn):
            if key.space == "internal":  # (ember's own calls between ops: _modes.OpKey)
                return fn

            def logged(*args, **kwargs):
                calls.append(key)
                return fn(*args, **kwargs)
            return logged

    x = ember.ones(2)
    with Logging():
        captured_exp(x)
        x.sin()
        x + 1
        ember.nn.functional.relu(x)
        ember.linalg.vector_norm(x)
    assert [k.name for k in calls] == ["exp", "sin", "__add__", "relu", "vector_norm"]
    assert [k.space for k in calls] == ["torch", "Tensor", "Tensor", "F", "linalg"]
    captured_exp(x)
    assert len(calls) == 5


def test_only_vmap_wraps_the_internal_names():
    from ember.autograd import forward_ad, profiler

    def fn(x):
        return x

    for mode in (forward_ad._MODE, profiler._MODE):
        assert mode.wrap(_modes.OpKey("internal", "add"), fn) is fn
        assert mode.wrap(_modes.OpKey("random", "rand"), fn) is fn
    from ember import _records

    exp, mul = _records.RECORDS["exp"], _records.RECORDS["mul"]
    assert forward_ad._MODE.wrap(_modes.OpKey("torch", "exp", exp), fn) is not fn
    assert profiler._MODE.wrap(_modes.OpKey("Tensor", "__mul__", mul), fn) is not fn
    # Tensor's own data-moving methods: vmap sees them, forward AD and the profiler do not
    detach = _records.RECORDS["detach"]
    assert forward_ad._MODE.wrap(_modes.OpKey("Tensor", "detach", detach), fn) is fn
    assert profiler._MODE.wrap(_modes.OpKey("Tensor", "detach", detach), fn) is fn
