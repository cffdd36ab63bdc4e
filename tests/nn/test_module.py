"""Oracle tests of the ``nn.Module`` API and the containers against PyTorch: registration,
named_* order and names, state_dict keys and values, load_state_dict results and error text,
repr of nested modules, train/eval, hooks, conversion, attribute errors, Parameter.

Each test runs the same code through ember and PyTorch (``same``) and compares results,
exceptions (class and message) and warnings.
"""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ember

from ..oracle import same


def _fill(T, module):
    """Deterministic parameter values (the two libraries' random streams differ)."""
    with T.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(T.arange(p.numel(), dtype=p.dtype).reshape(p.shape) / 10 - i)
    return module


def _net(T):
    nn = T.nn
    return nn.Sequential(
        nn.Linear(3, 4),
        nn.ReLU(),
        nn.Sequential(OrderedDict([("fc", nn.Linear(4, 2, bias=False)),
                                   ("bn", nn.BatchNorm1d(2))])),
        nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Tanh()]),
        nn.ModuleDict({"drop": nn.Dropout(0.2), "ln": nn.LayerNorm(2)}),
    )


# ---- Parameter ------------------------------------------------------------------------------

def test_parameter_basics():
    def fn(T):
        p = T.nn.Parameter(T.tensor([1.0, 2.0]))
        q = T.nn.Parameter(T.tensor([1.0]), requires_grad=False)
        y = p * 2
        return (isinstance(p, T.nn.Parameter), isinstance(p, T.Tensor), p.requires_grad,
                p.is_leaf, repr(p), repr(q), isinstance(y, T.nn.Parameter), y,
                T.nn.Parameter().shape)
    same(fn)


def test_parameter_integer_data_cannot_require_grad():
    same(lambda T: T.nn.Parameter(T.tensor([1, 2])))


def test_parameter_deepcopy_and_pickle_keep_the_class():
    for requires_grad in (True, False):
        p = ember.nn.Parameter(ember.arange(3.0), requires_grad=requires_grad)
        for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
            assert isinstance(q, ember.nn.Parameter) and q.requires_grad == requires_grad
            assert q._data is not p._data
            np.testing.assert_array_equal(q._data, p._data)


def test_parameter_aliases_its_data():
    def fn(T):
        t = T.zeros(3)
        p = T.nn.Parameter(t)
        with T.no_grad():
            p[0] = 5.0
        return t
    same(fn)


# ---- registration and lookup --------------------------------------------------------------

def test_named_members_order_names_and_prefixes():
    def fn(T):
        m = _net(T)
        return ([(n, tuple(p.shape)) for n, p in m.named_parameters()],
                [n for n, _ in m.named_parameters(prefix="model", recurse=True)],
                [n for n, _ in m[0].named_parameters(recurse=False)],
                [n for n, _ in m.named_buffers()],
                [n for n, _ in m.named_modules()],
                [n for n, _ in m.named_children()],
                [type(c).__name__ for c in m.children()],
                len(list(m.parameters())), len(list(m.modules())), len(list(m.buffers())))
    same(fn)


def test_shared_parameters_and_modules_are_removed_once():
    def fn(T):
        nn = T.nn
        lin = nn.Linear(2, 2)
        m = nn.Sequential(lin, nn.ReLU(), lin)
        m.extra = nn.Parameter(T.ones(1))
        m.alias = m.extra
        return ([n for n, _ in m.named_parameters()],
                [n for n, _ in m.named_parameters(remove_duplicate=False)],
                [n for n, _ in m.named_modules()],
                [n for n, _ in m.named_modules(remove_duplicate=False)],
                list(m.state_dict().keys()))
    same(fn)


def test_setattr_registers_and_moves_between_registries():
    def fn(T):
        nn = T.nn
        m = nn.Module()
        m.w = nn.Parameter(T.ones(2))
        m.register_buffer("b", T.zeros(2))
        m.register_buffer("tmp", T.zeros(1), persistent=False)
        m.child = nn.Linear(1, 1)
        m.plain = 3
        keys1 = list(m.state_dict().keys())
        m.b = T.ones(2)  # stays a buffer
        m.child = None
        m.w = None
        names = (list(m._parameters), list(m._buffers), list(m._modules))
        del m.b
        return keys1, names, list(m.state_dict().keys()), m.plain, "b" in dir(m), "w" in dir(m)
    same(fn)


def test_registration_errors():
    def bad(op):
        def fn(T):
            m = T.nn.Linear(1, 1)
            m.extra = 1
            return op(T, m)
        return fn

    cases = [
        lambda T, m: setattr(m, "weight", T.ones(1, 1)),
        lambda T, m: setattr(m, "weight", 3),
        lambda T, m: m.register_buffer("a.b", T.ones(1)),
        lambda T, m: m.register_buffer("", T.ones(1)),
        lambda T, m: m.register_buffer("weight", T.ones(1)),
        lambda T, m: m.register_buffer("x", 3),
        lambda T, m: m.register_buffer(1, T.ones(1)),
        lambda T, m: m.register_parameter("a.b", None),
        lambda T, m: m.register_parameter("", None),
        lambda T, m: m.register_parameter("extra", None),
        lambda T, m: m.register_parameter("x", T.ones(1)),
        lambda T, m: m.register_parameter("x", T.nn.Parameter(T.ones(1)) * 2),
        lambda T, m: m.add_module("x", 3),
        lambda T, m: m.add_module("a.b", T.nn.ReLU()),
        lambda T, m: m.add_module("", T.nn.ReLU()),
        lambda T, m: m.add_module("extra", T.nn.ReLU()),
        lambda T, m: m.add_module(1, T.nn.ReLU()),
        lambda T, m: m.foo,
        lambda T, m: m.train("yes"),
    ]
    for op in cases:
        same(bad(op))


def test_nonleaf_parameter_assignment_error():
    def fn(T):
        m = T.nn.Module()
        p = T.nn.Parameter(T.ones(1))
        m.register_parameter("x", p * 2)
    same(fn)


def test_assign_before_init_errors():
    def make(kind):
        def fn(T):
            class Bad(T.nn.Module):
                def __init__(self):
                    if kind == "param":
                        self.w = T.nn.Parameter(T.ones(1))
                    elif kind == "module":
                        self.m = T.nn.ReLU()
                    else:
                        self.register_buffer("b", T.ones(1))
            Bad()
        return fn
    for kind in ("param", "module", "buffer"):
        same(make(kind))


def test_missing_forward_error():
    same(lambda T: T.nn.Module()(T.ones(1)))


def test_get_submodule_parameter_buffer():
    def fn(T):
        m = _net(T)
        return (type(m.get_submodule("2.bn")).__name__, m.get_submodule("") is m,
                tuple(m.get_parameter("3.1.weight").shape),
                tuple(m.get_buffer("2.bn.running_var").shape))
    same(fn)
    for target in ("2.nope", "2.bn.weight", "0.bias.x"):
        same(lambda T, t=target: _net(T).get_submodule(t))
    for target in ("2.bn.running_mean", "2.bn.nope", "0.in_features"):
        same(lambda T, t=target: _net(T).get_parameter(t))
    for target in ("2.bn.weight", "2.bn.nope"):
        same(lambda T, t=target: _net(T).get_buffer(t))


# ---- state_dict ---------------------------------------------------------------------------

def test_state_dict_keys_values_and_detach():
    def fn(T):
        m = _fill(T, _net(T))
        sd = m.state_dict()
        kv = m.state_dict(keep_vars=True)
        return (dict(sd), type(sd).__name__, kv["0.weight"] is m[0].weight,
                sd["0.weight"].requires_grad, list(m[2].state_dict(prefix="p.").keys()))
    same(fn)


def test_load_state_dict_round_trip_and_results():
    def fn(T):
        src = _fill(T, _net(T))
        dst = _net(T)
        result = dst.load_state_dict(src.state_dict())
        return (repr(result), result.missing_keys, result.unexpected_keys,
                dict(dst.state_dict()), dst[0].weight.requires_grad,
                isinstance(dst[0].weight, T.nn.Parameter))
    same(fn)


def test_load_state_dict_strict_errors():
    def missing(T):
        T.nn.Linear(2, 3).load_state_dict({"weight": T.zeros(3, 2)})

    def unexpected(T):
        sd = dict(T.nn.Linear(2, 3).state_dict())
        sd["extra"] = T.zeros(1)
        sd["sub.x"] = T.zeros(1)
        T.nn.Linear(2, 3).load_state_dict(sd)

    def size(T):
        T.nn.Linear(2, 3).load_state_dict({"weight": T.zeros(3, 3), "bias": T.zeros(2)})

    def nested(T):
        m = _net(T)
        sd = m.state_dict()
        del sd["2.bn.running_mean"]
        sd["3.5.weight"] = T.zeros(1)
        m.load_state_dict(sd)

    def not_tensor(T):
        T.nn.Linear(2, 3).load_state_dict({"weight": 3, "bias": T.zeros(3)})

    def not_mapping(T):
        T.nn.Linear(2, 3).load_state_dict([1, 2])

    for fn in (missing, unexpected, size, nested, not_tensor, not_mapping):
        same(fn)


def test_load_state_dict_non_strict():
    def fn(T):
        m = T.nn.Sequential(T.nn.Linear(2, 2), T.nn.BatchNorm1d(2))
        sd = {"0.weight": T.ones(2, 2), "1.running_mean": T.full((2,), 3.0), "bogus": T.ones(1)}
        r = m.load_state_dict(sd, strict=False)
        return repr(r), r.missing_keys, r.unexpected_keys, m[0].weight, m[1].running_mean
    same(fn)


def test_load_state_dict_assign():
    def fn(T):
        m = T.nn.Linear(2, 2)
        w = T.ones(2, 2)
        m.load_state_dict({"weight": w, "bias": T.zeros(2)}, assign=True)
        return (isinstance(m.weight, T.nn.Parameter), m.weight.requires_grad,
                m.weight.data_ptr() == w.data_ptr())
    same(fn)


def test_non_persistent_buffer_not_in_state_dict():
    def fn(T):
        m = T.nn.Module()
        m.register_buffer("a", T.ones(1))
        m.register_buffer("b", T.ones(1), persistent=False)
        return list(m.state_dict()), [n for n, _ in m.named_buffers()]
    same(fn)


# ---- repr ---------------------------------------------------------------------------------

def test_repr_of_nested_modules():
    same(lambda T: repr(_net(T)))


def test_repr_module_list_folds_repeats_and_custom_extra_repr():
    def fn(T):
        nn = T.nn

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Linear(2, 2)

            def extra_repr(self):
                return "line one\nline two"

        layers = nn.ModuleList([nn.Linear(1, 1)] * 3 + [nn.ReLU(), nn.ReLU(), Block()])
        return repr(layers), repr(nn.ModuleList()), repr(nn.Sequential()), repr(Block())
    same(fn)


def test_repr_parameter_containers():
    def fn(T):
        nn = T.nn
        pl = nn.ParameterList([nn.Parameter(T.ones(2, 3)), T.zeros(4)])
        pd = nn.ParameterDict(OrderedDict([("b", nn.Parameter(T.ones(1))), ("a", T.ones(2, 2))]))
        return repr(pl), repr(pd), [n for n, _ in pl.named_parameters()], list(pd.keys())
    same(fn)


# ---- modes, grads and conversion -----------------------------------------------------------

def test_train_eval_flags():
    def fn(T):
        m = _net(T)
        flags = [mod.training for mod in m.modules()]
        r = m.eval()
        flags_eval = [mod.training for mod in m.modules()]
        m[2].train()
        return flags, flags_eval, r is m, [mod.training for mod in m.modules()]
    same(fn)


def test_zero_grad_and_requires_grad():
    def fn(T):
        m = _fill(T, T.nn.Linear(2, 2))
        m(T.ones(1, 2)).sum().backward()
        before = m.weight.grad.clone()
        m.zero_grad(set_to_none=False)
        zeroed = m.weight.grad
        m.zero_grad()
        r = m.requires_grad_(False)
        return before, zeroed, m.weight.grad, r is m, [p.requires_grad for p in m.parameters()]
    same(fn)


def test_apply_order():
    def fn(T):
        seen = []
        _net(T).apply(lambda mod: seen.append(type(mod).__name__))
        return seen
    same(fn)


def test_to_dtype_and_casts_keep_parameter_identity():
    def fn(T):
        m = _fill(T, T.nn.Sequential(T.nn.Linear(2, 2), T.nn.BatchNorm1d(2)))
        w = m[0].weight
        m.double()
        d = (m[0].weight.dtype, m[1].running_mean.dtype, m[1].num_batches_tracked.dtype,
             m[0].weight is w, isinstance(m[0].weight, T.nn.Parameter))
        m.to(T.float16)
        h = m[0].weight.dtype
        m.float()
        out = m(T.ones(3, 2))
        return d, h, m[0].weight.dtype, out.dtype, m.to(T.float32) is m
    same(fn)


def test_to_integer_dtype_error():
    same(lambda T: T.nn.Linear(1, 1).to(T.int64))


# ---- hooks ---------------------------------------------------------------------------------

def test_forward_hooks_order_and_replacement():
    def fn(T):
        m = _fill(T, T.nn.Linear(2, 1))
        log = []

        def pre1(mod, args):
            log.append("pre1")
            return (args[0] * 2,)

        def pre2(mod, args):
            log.append("pre2")

        def pre_kw(mod, args, kwargs):
            log.append("pre_kw")
            return args, kwargs

        def post1(mod, args, out):
            log.append("post1")
            return out + 1

        def post_kw(mod, args, kwargs, out):
            log.append("post_kw")

        def post_first(mod, args, out):
            log.append("post_first")

        h1 = m.register_forward_pre_hook(pre1)
        m.register_forward_pre_hook(pre2, prepend=True)
        m.register_forward_pre_hook(pre_kw, with_kwargs=True)
        m.register_forward_hook(post1)
        m.register_forward_hook(post_kw, with_kwargs=True)
        m.register_forward_hook(post_first, prepend=True)
        out1 = m(T.ones(1, 2))
        h1.remove()
        out2 = m(T.ones(1, 2))
        return log, out1, out2
    same(fn)


def test_forward_pre_hook_single_value_and_bad_kwargs_result():
    def fn(T):
        m = T.nn.Identity()
        m.register_forward_pre_hook(lambda mod, args: args[0] + 1)
        return m(T.zeros(1))
    same(fn)

    def bad(T):
        m = T.nn.Identity()
        m.register_forward_pre_hook(lambda mod, a, k: 5, with_kwargs=True)
        m(T.zeros(1))
    same(bad)


def test_hook_handle_as_context_manager():
    def fn(T):
        m = T.nn.Identity()
        calls = []
        with m.register_forward_hook(lambda *a: calls.append(1)):
            m(T.zeros(1))
        m(T.zeros(1))
        return calls
    same(fn)


# ---- containers ----------------------------------------------------------------------------

def test_sequential_indexing_slicing_and_mutation():
    def fn(T):
        nn = T.nn
        s = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 3), nn.Tanh())
        out = [len(s), type(s[-1]).__name__, repr(s[1:3]), type(s[1:3]).__name__]
        s.append(nn.Sigmoid())
        del s[1]
        out.append([n for n, _ in s.named_children()])
        s.insert(0, nn.ReLU6())
        s[1] = nn.Identity()
        out.append(repr(s))
        out.append(type(s.pop(0)).__name__)
        out.append(repr(s + nn.Sequential(nn.ReLU())))
        out.append([type(m).__name__ for m in s])
        od = nn.Sequential(OrderedDict([("a", nn.ReLU()), ("b", nn.Tanh())]))
        out.append([n for n, _ in od.named_children()])
        return out
    same(fn)


def test_sequential_forward_and_errors():
    def fn(T):
        s = _fill(T, T.nn.Sequential(T.nn.Linear(2, 3), T.nn.ReLU(), T.nn.Linear(3, 1)))
        return s(T.tensor([[1.0, -2.0]]))
    same(fn)
    same(lambda T: T.nn.Sequential(T.nn.ReLU())[3])
    same(lambda T: T.nn.Sequential(T.nn.ReLU()) + 1)


def test_module_list_operations():
    def fn(T):
        nn = T.nn
        ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
        ml.append(nn.Sigmoid())
        ml.extend([nn.ReLU6()])
        ml.insert(1, nn.Identity())
        out = [len(ml), [type(m).__name__ for m in ml], type(ml[-1]).__name__]
        del ml[0]
        out.append([n for n, _ in ml.named_children()])
        out.append(repr(ml[1:]))
        ml += [nn.ELU()]
        out.append(type(ml.pop(1)).__name__)
        out.append(repr(ml + nn.ModuleList([nn.GELU()])))
        return out
    same(fn)
    same(lambda T: T.nn.ModuleList([T.nn.ReLU()])[5])
    same(lambda T: T.nn.ModuleList().extend(3))


def test_module_dict_operations():
    def fn(T):
        nn = T.nn
        md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
        md["c"] = nn.Sigmoid()
        md.update([("d", nn.ELU())])
        out = [list(md.keys()), len(md), "a" in md, type(md["c"]).__name__]
        out.append(type(md.pop("b")).__name__)
        out.append([k for k in md])
        out.append(repr(md))
        md.clear()
        out.append(len(md))
        return out
    same(fn)
    same(lambda T: T.nn.ModuleDict().update(3))
    same(lambda T: T.nn.ModuleDict().update([("a", T.nn.ReLU(), 1)]))
    same(lambda T: T.nn.ModuleDict().update([3]))


def test_parameter_list_and_dict():
    def fn(T):
        nn = T.nn
        pl = nn.ParameterList([T.ones(1)])
        pl.append(nn.Parameter(T.zeros(2)))
        pl.extend([T.ones(3)])
        out = [len(pl), [tuple(p.shape) for p in pl], isinstance(pl[0], nn.Parameter),
               [n for n, _ in pl.named_parameters()], len(pl[1:])]
        pd = nn.ParameterDict({"z": T.ones(1), "a": T.ones(2)})
        pd["m"] = T.zeros(3)
        out += [list(pd.keys()), "a" in pd, tuple(pd.get("q", T.ones(4)).shape),
                tuple(pd.pop("z").shape), [n for n, _ in pd.named_parameters()],
                list((pd | nn.ParameterDict({"n": T.ones(1)})).keys())]
        return out
    same(fn)
    same(lambda T: T.nn.ParameterList().extend(T.ones(2)))
    same(lambda T: T.nn.ParameterDict()[1])
    same(lambda T: T.nn.ParameterList()(1))


def test_deepcopy_of_module():
    def fn(T):
        m = _fill(T, _net(T))
        c = copy.deepcopy(m)
        with T.no_grad():
            c[0].weight.add_(1)
        return (m[0].weight, c[0].weight, isinstance(c[0].weight, T.nn.Parameter),
                list(c.state_dict().keys()) == list(m.state_dict().keys()))
    same(fn)


def test_custom_module_end_to_end():
    def fn(T):
        nn = T.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(3, 4)
                self.scale = nn.Parameter(T.tensor(2.0))
                self.register_buffer("shift", T.tensor([0.5]))
                self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])

            def forward(self, x, *, bias=0.0):
                x = T.relu(self.fc1(x)) * self.scale + self.shift
                for layer in self.layers:
                    x = layer(x)
                return x.sum() + bias

        net = _fill(T, Net())
        out = net(T.tensor([[1.0, 2.0, 3.0]]), bias=1.0)
        out.backward()
        return (out, [(n, p.grad) for n, p in net.named_parameters()], repr(net),
                list(net.state_dict().keys()))
    same(fn)


# ---- backward hooks and always_call ---------------------------------------------------------

def test_full_backward_hooks_order_and_replacement():
    def fn(T):
        m = T.nn.Linear(2, 2)
        with T.no_grad():
            m.weight.copy_(T.tensor([[1.0, 2.0], [3.0, 4.0]]))
            m.bias.fill_(0.5)
        log = []

        def pre(mod, grad_output):
            log.append(("pre", grad_output))
            return (grad_output[0] * 2,)

        h = m.register_full_backward_pre_hook(pre)
        m.register_full_backward_hook(lambda mod, gi, go: log.append(("full", gi, go)))
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] + 1,))
        m.register_full_backward_hook(lambda mod, gi, go: log.append("first"), prepend=True)
        x = T.tensor([[1.0, -1.0]], requires_grad=True)
        y = m(x)
        y.sum().backward()
        h.remove()
        x2 = T.tensor([[1.0, 1.0]], requires_grad=True)
        m(x2).sum().backward()
        return log, x.grad, x2.grad, m.weight.grad, y.grad_fn.name()
    same(fn)


def test_full_backward_hook_multiple_inputs_and_outputs():
    def fn(T):
        class Two(T.nn.Module):
            def forward(self, a, b, k):
                return a * b * k, a + 1

        m = Two()
        log = []
        m.register_full_backward_hook(lambda mod, gi, go: log.append((gi, go)))
        a = T.tensor([1.0, 2.0], requires_grad=True)
        o1, o2 = m(a, T.tensor([3.0, 4.0]), 3)
        (o1.sum() + 2 * o2.sum()).backward()
        return log, a.grad
    same(fn)


def test_full_backward_hook_without_input_grads_warns():
    def fn(T):
        m = T.nn.Linear(2, 2)
        log = []
        m.register_full_backward_hook(lambda mod, gi, go: log.append(gi))
        m(T.ones(1, 2)).sum().backward()
        return log
    same(fn)


def test_backward_hook_errors():
    def wrong_count(T):
        m = T.nn.Linear(2, 2)
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        m(T.ones(1, 2, requires_grad=True)).sum().backward()

    def wrong_pre_count(T):
        m = T.nn.Linear(2, 2)
        m.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
        m(T.ones(1, 2, requires_grad=True)).sum().backward()

    same(wrong_count)
    same(wrong_pre_count)


def test_always_call_forward_hook_runs_when_forward_fails():
    def fn(T):
        m = T.nn.Identity()
        log = []
        m.register_forward_hook(lambda *a: log.append("always"), always_call=True)
        m.register_forward_hook(lambda *a: log.append("normal"))
        try:
            m(1, 2)
        except TypeError:
            log.append("raised")
        m(T.ones(1))
        return log
    same(fn)


def test_buffer_assignment_error_and_pickle_round_trip():
    def fn(T):
        m = T.nn.Module()
        m.register_buffer("b", T.ones(1))
        m.b = 3
    same(fn)

    def rt(T):
        m = _fill(T, _net(T))
        c = pickle.loads(pickle.dumps(m))
        return dict(c.state_dict()), repr(c), isinstance(c[0].weight, T.nn.Parameter)
    same(rt)


# ---- extra state, state_dict hooks, devices --------------------------------------------------

def test_extra_state_round_trip_and_keys():
    def fn(T):
        class WithExtra(T.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = T.nn.Linear(1, 1)
                self.count = 3

            def get_extra_state(self):
                return {"count": self.count}

            def set_extra_state(self, state):
                self.count = state["count"]

        outer = T.nn.Sequential(WithExtra())
        sd = outer.state_dict()
        other = T.nn.Sequential(WithExtra())
        other[0].count = 0
        sd2 = dict(sd)
        sd2["0._extra_state"] = {"count": 9}
        other.load_state_dict(sd2)
        missing = dict(sd)
        del missing["0._extra_state"]
        r = other.load_state_dict(missing, strict=False)
        return list(sd.keys()), sd["0._extra_state"], other[0].count, repr(r)
    same(fn)

    def strict_missing(T):
        class WithExtra(T.nn.Module):
            def get_extra_state(self):
                return 1

            def set_extra_state(self, state):
                pass
        WithExtra().load_state_dict({})
    same(strict_missing)
    same(lambda T: T.nn.ReLU().load_state_dict({"_extra_state": 1}))


def test_state_dict_hooks():
    def fn(T):
        m = T.nn.Sequential(T.nn.Linear(1, 1))
        log = []
        m[0].register_state_dict_pre_hook(lambda mod, prefix, kv: log.append(("pre", prefix)))

        def post(mod, sd, prefix, meta):
            log.append(("post", prefix, list(sd.keys())))
            sd[prefix + "tag"] = T.zeros(1)

        h = m[0].register_state_dict_post_hook(post)
        keys = list(m.state_dict().keys())
        h.remove()
        keys2 = list(m.state_dict().keys())

        def load_pre(mod, sd, prefix, *rest):
            log.append(("load_pre", prefix, sorted(sd)))

        def load_post(mod, incompatible):
            log.append(("load_post", list(incompatible.missing_keys)))
            incompatible.missing_keys.clear()

        m[0].register_load_state_dict_pre_hook(load_pre)
        m.register_load_state_dict_post_hook(load_post)
        r = m.load_state_dict({"0.weight": T.ones(1, 1)})
        return log, keys, keys2, repr(r)
    same(fn)

    def bad_post(T):
        m = T.nn.Linear(1, 1)
        m.register_state_dict_post_hook(lambda *a: {})
        m.state_dict()

    def bad_load_post(T):
        m = T.nn.Linear(1, 1)
        m.register_load_state_dict_post_hook(lambda *a: 1)
        m.load_state_dict(m.state_dict())
    same(bad_post)
    same(bad_load_post)


def test_to_device_forms():
    def fn(T):
        m = T.nn.Linear(2, 2)
        out = [m.to("cpu") is m, m.to(T.device("cpu"), T.float64).weight.dtype,
               m.to(device="cpu", dtype=T.float32).weight.dtype,
               m.to(T.ones(1, dtype=T.float64)).bias.dtype, m.cpu() is m]
        return out
    same(fn)
    if not ember.cuda.is_available():  # (PyTorch's CPU build: AssertionError; ember names CuPy)
        for move in (lambda: ember.nn.Linear(1, 1).to("cuda"),
                     lambda: ember.nn.Linear(1, 1).cuda()):
            with pytest.raises(AssertionError, match=r"not compiled with CUDA.*ember\[cuda\]"):
                move()


def _raises(fn):
    try:
        fn()
    except RuntimeError as e:
        return str(e)
    raise AssertionError("no error")


def test_non_dynamically_quantizable_linear_repr():
    def fn(T):
        from importlib import import_module
        cls = import_module(T.__name__ + ".nn.modules.linear").NonDynamicallyQuantizableLinear
        m = cls(3, 2)
        return repr(m), [n for n, _ in m.named_parameters()], hasattr(T.nn, cls.__name__)
    same(fn)


# ---- global hooks, set_submodule ---------------------------------------------------------------

def test_global_module_hooks_run_before_module_hooks():
    def fn(T):
        import importlib
        mm = importlib.import_module(T.__name__ + ".nn.modules.module")
        log = []
        handles = [
            mm.register_module_forward_pre_hook(
                lambda mod, args: log.append(("gpre", type(mod).__name__))),
            mm.register_module_forward_hook(
                lambda mod, args, out: log.append(("gpost", type(mod).__name__))),
            mm.register_module_full_backward_pre_hook(
                lambda mod, go: log.append(("gbpre", type(mod).__name__))),
            mm.register_module_full_backward_hook(
                lambda mod, gi, go: log.append(("gbw", type(mod).__name__, gi))),
        ]
        try:
            m = T.nn.Sequential(T.nn.Tanh())
            m[0].register_forward_pre_hook(lambda mod, args: log.append("local_pre"))
            m[0].register_forward_hook(lambda mod, args, out: log.append("local_post"))
            x = T.tensor([0.5], requires_grad=True)
            m(x).sum().backward()
        finally:
            for h in handles:
                h.remove()
        m(x)
        return log, x.grad
    same(fn)


def test_set_submodule():
    def fn(T):
        m = _net(T)
        m.set_submodule("2.fc", T.nn.Identity())
        m.set_submodule("new", T.nn.ReLU())
        return repr(m)
    same(fn)
    same(lambda T: _net(T).set_submodule("", T.nn.ReLU()))
    same(lambda T: _net(T).set_submodule("0", 3))
    same(lambda T: _net(T).set_submodule("2.zz", T.nn.ReLU(), strict=True))
    same(lambda T: _net(T).set_submodule("0.in_features", T.nn.ReLU()))
    same(lambda T: _net(T).set_submodule("9.x", T.nn.ReLU()))


def test_buffer_class_registers_on_assignment():
    def fn(T):
        m = T.nn.Module()
        m.a = T.nn.Buffer(T.ones(2))
        m.b = T.nn.Buffer(T.zeros(1), persistent=False)
        m.b = T.ones(1) * 3  # stays non-persistent
        x = T.ones(2, requires_grad=True)
        m.c = T.nn.Buffer(x)
        return ([n for n, _ in m.named_buffers()], list(m.state_dict()), repr(m.a), m.b,
                m.c.requires_grad, m.c.is_leaf, isinstance(m.a, T.Tensor),
                repr(T.nn.Buffer()))
    same(fn)

    def clash(T):
        m = T.nn.Module()
        m.x = 1
        m.x = T.nn.Buffer(T.ones(1))
    same(clash)


def test_state_dict_positional_arguments_warn():
    def fn(T):
        m = T.nn.Linear(1, 1)
        dest = OrderedDict()
        out = m.state_dict(dest, "pre.")
        return out is dest, list(dest)
    same(fn)


def test_cast_converts_existing_grads_in_place():
    def fn(T):
        m = _fill(T, T.nn.Linear(2, 1))
        m(T.ones(1, 2)).sum().backward()
        g = m.weight.grad
        m.double()
        return m.weight.grad is g, m.weight.grad.dtype, m.weight.grad
    same(fn)


def test_sequential_repetition():
    def fn(T):
        s = T.nn.Sequential(T.nn.Linear(1, 1), T.nn.ReLU())
        twice = s * 2
        thrice = 3 * s
        s *= 2
        return (repr(twice), len(thrice), twice[0] is twice[2], repr(s),
                [n for n, _ in twice.named_parameters()])
    same(fn)
    s = ember.nn.Sequential(ember.nn.ReLU())
    for bad, exc in ((0, ValueError), (1.5, TypeError)):
        try:
            s * bad
        except exc as e:
            assert "Sequential" in str(e)
        else:
            raise AssertionError(f"no {exc.__name__} for factor {bad}")


def test_full_backward_hook_zero_grads_have_the_input_shapes():
    def fn(T):
        class Proj(T.nn.Module):
            def forward(self, a, b):
                return (a * 2).sum(-1)  # output shape differs from both inputs; b unused

        m = Proj()
        log = []
        m.register_full_backward_hook(lambda mod, gi, go: log.append((gi, go)))
        a = T.ones(2, 3, requires_grad=True)
        m(a, T.ones(4, 5)).sum().backward()
        return log, a.grad
    same(fn)


# ---- deprecated (non-full) backward hooks --------------------------------------------------

def test_non_full_backward_hook_sees_the_last_node():
    def fn(T):
        m = T.nn.ReLU()
        log = []

        def hook(mod, grad_input, grad_output):
            log.append((grad_input, grad_output))
            return (grad_input[0] * 3,)

        m.register_backward_hook(hook)
        x = T.tensor([1.0, -1.0, 2.0], requires_grad=True)
        m(x * 2).sum().backward()
        return log, x.grad
    same(fn)

    def linear(T):
        # the warning about several autograd nodes, and the count of the last node's inputs
        # (their shapes follow each engine's broadcasting bookkeeping, so they are not compared)
        m = _fill(T, T.nn.Linear(2, 2))
        log = []
        m.register_backward_hook(lambda mod, gi, go: log.append((len(gi), go)))
        x = T.tensor([[1.0, -1.0]], requires_grad=True)
        m(x).sum().backward()
        return log, x.grad
    same(linear)


def test_non_full_and_full_backward_hooks_exclude_each_other():
    def local(T):
        m = T.nn.Linear(2, 2)
        m.register_backward_hook(lambda *a: None)
        m.register_full_backward_hook(lambda *a: None)
    same(local)

    def local_reverse(T):
        m = T.nn.Linear(2, 2)
        m.register_full_backward_hook(lambda *a: None)
        m.register_backward_hook(lambda *a: None)
    same(local_reverse)

    def global_hooks(T):
        import importlib
        mm = importlib.import_module(T.__name__ + ".nn.modules.module")
        log = []
        h = mm.register_module_backward_hook(lambda mod, gi, go: log.append(type(mod).__name__))
        try:
            m = T.nn.Tanh()
            m(T.ones(2, requires_grad=True)).sum().backward()
            try:
                mm.register_module_full_backward_hook(lambda *a: None)
            except RuntimeError as e:
                log.append(str(e))
        finally:
            h.remove()
            mm._global_is_full_backward_hook = None  # leave no global state to later tests
        return log
    same(global_hooks)


def test_hook_dicts_are_ordered_dicts_as_in_pytorch():
    # Scripts print and check module._forward_hooks; PyTorch keeps hooks in OrderedDicts.
    def fn(lib):
        m = lib.nn.Linear(2, 2)
        empty = repr(m._forward_hooks)
        h = m.register_forward_hook(lambda *a: None)
        full = isinstance(m._forward_hooks, OrderedDict) and len(m._forward_hooks) == 1
        h.remove()
        return [empty, repr(m._forward_pre_hooks), full, repr(m._forward_hooks)]
    same(fn)
