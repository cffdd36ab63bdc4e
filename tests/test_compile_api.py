"""``ember.compile``'s API: compiled functions and modules give eager's results bit for bit on
the traced call and on replays, the guards retrace or fall back where they must, graph breaks
run eagerly with their reason (``explain``) or raise under ``fullgraph=True``, and the
compiled region is one ``CompiledFunctionBackward`` node. The op-by-op and training sweeps are
in tests/compile/."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from ember import compiler, nn


def _same(a, b):
    a = a.detach().numpy() if isinstance(a, ember.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, ember.Tensor) else np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def _entries(cf):
    return list(cf._cache.values())


def test_function_replays_bit_for_bit():
    def f(x, y):
        return (x * y).sin().sum(1), x.exp() - y

    cf = ember.compile(f)
    x, y = ember.randn(4, 3), ember.randn(4, 3)
    for _ in range(3):
        for got, want in zip(cf(x, y), f(x, y)):
            assert _same(got, want)
    (entry,) = _entries(cf)
    assert not entry.eager and "np_sin" in entry.source and "def compiled_fn" in entry.source
    # new values, same signature: the same program
    x2 = ember.randn(4, 3)
    assert _same(cf(x2, y)[0], f(x2, y)[0]) and len(_entries(cf)) == 1


def test_decorator_forms_and_disable_argument():
    @ember.compile
    def f(x):
        return x * 2

    @ember.compile(fullgraph=True)
    def g(x):
        return x + 1

    x = ember.ones(3)
    assert _same(f(x), x * 2) and _same(g(x), x + 1)
    h = ember.compile(lambda x: x, disable=True)
    assert h(x) is x


def test_new_shape_traces_again_and_the_limit_falls_back_with_warning(monkeypatch):
    monkeypatch.setattr(compiler.config, "recompile_limit", 2)
    cf = ember.compile(lambda x: x.tanh())
    for n in (2, 3):
        assert _same(cf(ember.ones(n)), ember.ones(n).tanh())
    assert len(_entries(cf)) == 2
    with pytest.warns(UserWarning, match="recompile_limit"):
        assert _same(cf(ember.ones(4)), ember.ones(4).tanh())
    assert len(_entries(cf)) == 2


def test_compiled_forward_is_one_node_with_eager_gradients():
    w = ember.randn(3, 3, requires_grad=True)

    def f(x):
        return (x @ w).tanh().sum()

    cf = ember.compile(f)
    x = ember.randn(5, 3, requires_grad=True)
    f(x).backward()
    gx, gw = x.grad.clone(), w.grad.clone()
    for _ in range(3):
        x.grad = w.grad = None
        out = cf(x)
        out.backward()
        assert _same(x.grad, gx) and _same(w.grad, gw)
    assert type(out.grad_fn).__name__ == "CompiledFunctionBackward"
    assert out.requires_grad and out.grad_fn.name() == "CompiledFunctionBackward"


def test_double_backward_through_a_compiled_region_raises():
    cf = ember.compile(lambda x: (x ** 3).sum())
    x = ember.randn(3, requires_grad=True)
    cf(x)
    out = cf(x)
    (g,) = ember.autograd.grad(out, x, create_graph=True)
    assert g.requires_grad and g.grad_fn.name() == "CompiledFunctionBackwardBackward"
    with pytest.raises(RuntimeError, match="^torch.compile with aot_autograd does not "
                                           "currently support double backward$"):
        ember.autograd.grad(g.sum(), x)


def test_whole_training_step_matches_eager():
    def make():
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
        return model, ember.optim.Adam(model.parameters(), lr=1e-2)

    m1, o1 = make()
    m2, o2 = make()
    x, y = ember.randn(6, 4), ember.randint(0, 2, (6,))

    def step():
        o2.zero_grad()
        loss = F.cross_entropy(m2(x), y)
        loss.backward()
        o2.step()
        return loss

    cstep = ember.compile(step)
    for _ in range(5):
        o1.zero_grad()
        want = F.cross_entropy(m1(x), y)
        want.backward()
        o1.step()
        got = cstep()
        assert _same(got, want)
        for p, q in zip(m1.parameters(), m2.parameters()):
            assert _same(p, q) and _same(p.grad, q.grad)
        for s1, s2 in zip(o1.state.values(), o2.state.values()):
            for k in s1:
                assert _same(s1[k], s2[k])
    assert any(not e.eager for e in _entries(cstep))


def test_module_compile_forms():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    cm = ember.compile(model)
    assert isinstance(cm, nn.Module) and cm._orig_mod is model
    assert list(cm.state_dict()) == [f"_orig_mod.{k}" for k in model.state_dict()]
    assert repr(cm).startswith("OptimizedModule(\n  (_orig_mod): Sequential(")
    assert cm._orig_mod[0].weight is model[0].weight
    lin = nn.Linear(2, 2)
    assert ember.compile(lin).weight is lin.weight
    x = ember.randn(2, 3)
    for _ in range(2):
        assert _same(cm(x), model(x))
    model.compile()
    assert _same(model(x), cm._orig_mod.forward(x))
    assert model._compiled_call_impl is not None


def test_train_and_eval_are_separate_signatures_and_dropout_follows_the_generator():
    model = nn.Sequential(nn.Linear(5, 5), nn.Dropout(0.5))
    cm = ember.compile(model)
    x = ember.randn(3, 5)
    with ember.no_grad():
        ember.manual_seed(7)
        want = [model(x) for _ in range(3)]
        ember.manual_seed(7)
        got = [cm(x) for _ in range(3)]
    for a, b in zip(got, want):
        assert _same(a, b)
    model.eval()
    with ember.no_grad():
        assert _same(cm(x), model._plain_call(x))
    assert len(_entries(cm._compiled)) == 2


def test_batchnorm_running_stats_update_in_place():
    def make():
        ember.manual_seed(1)
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    a, b = make(), make()
    cb = ember.compile(b)
    x = ember.randn(8, 3)
    for _ in range(3):
        with ember.no_grad():
            assert _same(cb(x), a(x))
    assert _same(a[1].running_mean, b[1].running_mean)
    assert _same(a[1].running_var, b[1].running_var)
    assert int(a[1].num_batches_tracked) == int(b[1].num_batches_tracked) == 3


def test_item_is_a_graph_break_the_call_still_completes():
    def f(x):
        y = x * 2
        return y, y.sum().item()

    cf = ember.compile(f)
    x = ember.randn(4)
    out, s = cf(x)
    assert _same(out, x * 2) and s == (x * 2).sum().item()
    (entry,) = _entries(cf)
    assert entry.eager and "item()" in entry.reason
    out, s = cf(x)  # (eager from now on)
    assert s == (x * 2).sum().item()
    with pytest.raises(compiler.Unsupported, match="item"):
        ember.compile(f, fullgraph=True)(x)


@pytest.mark.parametrize("body,reason", [
    (lambda x: x[x > 0].sum(), "data-dependent"),
    (lambda x: x.nonzero(), "data-dependent"),
    (lambda x: (print("hi"), x + 1)[1], "print()"),
    (lambda x: x.numpy().sum() + x, "numpy()"),
])
def test_breaks_name_their_reason(body, reason, capsys):
    x = ember.tensor([1.0, -2.0, 3.0])
    cf = ember.compile(body)
    want = body(x)
    got = cf(x)
    assert _same(got, want)
    (entry,) = _entries(cf)
    assert entry.eager and reason in entry.reason
    out = compiler.explain(body, x)
    assert out.graph_count == 0 and out.graph_break_count == 1
    assert reason in out.break_reasons[0]
    with pytest.raises(compiler.Unsupported):
        ember.compile(body, fullgraph=True)(x)


def test_a_hook_on_a_module_makes_it_eager():
    model = nn.Linear(2, 2)
    calls = []
    model.register_forward_hook(lambda m, i, o: calls.append(1))
    cm = ember.compile(model)
    x = ember.randn(1, 2)
    cm(x)
    cm(x)
    assert len(calls) == 2  # the hook runs on every call: eager
    (entry,) = _entries(cm._compiled)
    assert entry.eager and "hooks" in entry.reason


def test_value_guards_fall_back_to_eager_when_the_branch_changes():
    def f(x):
        if x.sum() > 0:
            return x * 2
        return x * 3

    cf = ember.compile(f)
    pos, neg = ember.tensor([1.0, 2.0]), ember.tensor([-1.0, -2.0])
    assert _same(cf(pos), pos * 2)
    assert _same(cf(pos), pos * 2)  # replayed
    (entry,) = _entries(cf)
    assert not entry.eager and "guard_failed" in entry.source
    assert _same(cf(neg), neg * 3)  # the guard misses: eager, right answer
    assert entry.misses == 1


def test_backward_reaching_an_unseen_leaf_is_a_break():
    hidden = {"w": ember.randn(3, requires_grad=True)}

    def get():
        return hidden["w"]

    def f(x):
        loss = (x * get()).sum()
        loss.backward()
        return loss

    cf = ember.compile(f)
    x = ember.randn(3)
    cf(x)
    assert hidden["w"].grad is not None
    (entry,) = _entries(cf)
    assert entry.eager and "did not see" in entry.reason


def test_explain_forms_and_output():
    def f(x):
        return (x + 1).relu()

    x = ember.randn(3)
    a = compiler.explain(f, x)
    b = compiler.explain(f)(x)
    for out in (a, b):
        assert out.graph_count == 1 and out.graph_break_count == 0
        assert out.ops_per_graph[0] and "def compiled_fn" in out.sources[0]
    text = str(a)
    assert "Graph Count: 1" in text and "Graph Break Count: 0" in text


def test_is_compiling_reset_and_disable():
    seen = []

    def f(x):
        seen.append(compiler.is_compiling())
        return x + 1

    cf = ember.compile(f)
    x = ember.ones(2)
    cf(x)
    cf(x)
    assert seen == [True]  # traced once, then replayed without running f
    compiler.reset()
    cf(x)
    assert seen == [True, True]
    assert not compiler.is_compiling()

    @compiler.disable
    def eager_only(x):
        return x * 5

    cg = ember.compile(lambda x: eager_only(x) + 1)
    assert _same(cg(x), x * 5 + 1)
    (entry,) = _entries(cg)
    assert entry.eager and "disable" in entry.reason


def test_inplace_update_of_an_argument_is_replayed():
    def f(x, y):
        x.add_(y)
        return x * 2

    cf = ember.compile(f)
    a, b = ember.zeros(3), ember.ones(3)
    v0 = a._version
    for k in range(1, 4):
        out = cf(a, b)
        assert _same(a, ember.full((3,), float(k))) and _same(out, a * 2)
    assert a._version == v0 + 3


def test_generated_program_is_readable_python():
    cf = ember.compile(lambda x: x.sigmoid() * 3)
    x = ember.randn(4)
    cf(x)
    src = _entries(cf)[0].source
    compile(src, "<check>", "exec")  # valid Python source
    assert "np_" in src and "# Tensor.sigmoid" in src or "# sigmoid" in src


def test_warmup_first_optimizer_step_is_eager_then_compiled():
    model = nn.Linear(2, 1)
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = ember.randn(4, 2), ember.randn(4, 1)

    def step():
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()

    cs = ember.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            cs()
    assert any(not e.eager for e in _entries(cs))


def test_a_late_guard_miss_puts_back_state_writes_and_draws():
    """A value read after the call wrote into its state (BatchNorm's statistics, a dropout
    draw): when a replay's guard misses, those writes and draws are undone before the eager
    run, so the results, the statistics and the generator stream are eager's."""
    def make():
        ember.manual_seed(3)
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.3))

    def body(model):
        def f(x):
            out = model(x)
            if out.sum() > 0:
                return out * 2
            return out * 3
        return f

    a, b = make(), make()
    fa, fb = body(a), ember.compile(body(b))
    xs = [ember.ones(5, 3), ember.ones(5, 3), -ember.ones(5, 3) * 7, ember.ones(5, 3)]
    ember.manual_seed(11)
    with ember.no_grad():
        want = [fa(x) for x in xs] + [ember.rand(3)]
    ember.manual_seed(11)
    with ember.no_grad():
        got = [fb(x) for x in xs] + [ember.rand(3)]
    for g, w in zip(got, want):
        assert _same(g, w)
    assert _same(a[1].running_mean, b[1].running_mean)
    assert _same(a[1].running_var, b[1].running_var)
    (entry,) = _entries(fb)
    assert not entry.eager and entry.snapshot is not None


def test_a_backward_guard_miss_recomputes_eagerly():
    """abs's backward reads whether any input is NaN: traced on finite values, a replay on a
    NaN input misses that guard in the backward program, and the gradient is recomputed
    eagerly (the forward changed nothing)."""
    f = lambda x: (x.abs() * 2).sum()  # noqa: E731
    cf = ember.compile(f)
    for vals in ([1.0, -2.0, 3.0], [1.0, -2.0, 3.0], [float("nan"), -2.0, 0.0]):
        x = ember.tensor(vals, dtype=ember.float64, requires_grad=True)
        (want,) = ember.autograd.grad(f(x), x)
        (got,) = ember.autograd.grad(cf(x), x)
        assert _same(got, want)


def test_replays_act_on_this_call_s_tensors():
    """A replay binds gradients and returns tensors of the call it serves: new leaves of the
    same signature get their own .grad (the one returned, as eagerly)."""
    def f(x):
        (x * x).sum().backward()
        return x.grad, x

    cf = ember.compile(f)
    for k in range(3):
        x = ember.tensor([1.0, 2.0 + k], requires_grad=True)
        g, same = cf(x)
        assert same is x and g is x.grad
        assert _same(x.grad, ember.tensor([2.0, 4.0 + 2 * k]))
    assert len(_entries(cf)) == 1


def test_a_busy_program_runs_the_call_eagerly():
    """A compiled function that calls itself (or is called from two threads) finds its
    program busy: the inner call runs eagerly, with eager's result."""
    box = {}

    def f(x, depth):
        if depth:
            inner = box["cf"](x, depth - 1)
            return x * 2 + inner
        return x + 1

    cf = box["cf"] = ember.compile(f)
    x = ember.ones(3)
    for _ in range(3):
        assert _same(cf(x, 1), f(x, 1))


def test_an_internal_data_dependent_shape_is_guarded():
    """embedding's backward sums rows by sorted segments, whose count depends on the indices:
    the program guards that shape; the same count replays, another falls back to eager."""
    w = ember.randn(6, 3, requires_grad=True)

    def f(w, idx):
        F.embedding(idx, w).pow(2).sum().backward()
        return w.grad

    cf = ember.compile(f)
    batches = [[0, 2, 2, 4] * 5, [1, 3, 3, 5] * 5, [0, 1, 2, 3, 4] * 4]
    for ids in batches:
        idx = ember.tensor(ids)
        w.grad = None
        want = f(w, idx).clone()
        w.grad = None
        got = cf(w, idx)
        assert _same(got, want)
    (entry,) = _entries(cf)
    assert not entry.eager and "np_shape" in entry.source and entry.misses == 1


def test_container_arguments_are_state_and_signature():
    """Tensors inside lists, dicts and namedtuples are the program's inputs (a replay reads
    this call's), and the containers' structure is part of the signature."""
    import collections

    Pair = collections.namedtuple("Pair", "a b")

    def f(xs, d, p):
        return xs[0] * d["k"] + p.a - p.b

    cf = ember.compile(f)
    for k in range(3):
        xs = [ember.full((2,), float(k)), ember.ones(2)]
        d = {"k": ember.full((2,), 2.0)}
        p = Pair(ember.ones(2), ember.full((2,), float(k)))
        assert _same(cf(xs, d, p), f(xs, d, p))
    assert len(_entries(cf)) == 1
    assert _same(cf([ember.ones(2)], d, p), f([ember.ones(2)], d, p))
    assert len(_entries(cf)) == 2


@pytest.mark.parametrize("name,compiles", [
    ("SGD", True), ("Adam", True), ("AdamW", True), ("RMSprop", True), ("Adadelta", True),
    ("Rprop", True), ("Adagrad", False), ("Adamax", False), ("NAdam", False), ("RAdam", False),
    ("ASGD", False)])
def test_every_optimizer_steps_as_eagerly(name, compiles):
    """A compiled step with each optimizer equals eager's; those whose update reads the step
    count into Python (Adagrad's decay, NAdam's momentum schedule...) break and run eagerly."""
    def make():
        ember.manual_seed(0)
        m = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1))
        return m, getattr(ember.optim, name)(m.parameters(), lr=0.01)

    m1, o1 = make()
    m2, o2 = make()
    x, y = ember.randn(4, 3), ember.randn(4, 1)

    def step():
        o2.zero_grad()
        loss = F.mse_loss(m2(x), y)
        loss.backward()
        o2.step()
        return loss

    cs = ember.compile(step)
    for _ in range(4):
        o1.zero_grad()
        F.mse_loss(m1(x), y).backward()
        o1.step()
        cs()
        for p, q in zip(m1.parameters(), m2.parameters()):
            assert _same(p, q)
    (entry,) = _entries(cs)
    assert entry.eager is (not compiles), entry.reason


def test_device_tensors_run_eagerly():
    """The tracer records NumPy's arrays: a call with CUDA (here the device checker's) or meta
    tensors runs eagerly, with the reason."""
    with ember.cuda.use_checker():
        x = ember.randn(3, device="cuda")
        cf = ember.compile(lambda x: x.sin() * 2)
        got = cf(x)
        assert got.device.type == "cuda" and _same(got.cpu(), (x.sin() * 2).cpu())
        (entry,) = _entries(cf)
        assert entry.eager and "cuda:0 tensor" in entry.reason
    m = ember.empty(2, 3, device="meta")
    cm = ember.compile(lambda m: m + 1)
    assert cm(m).device.type == "meta"
