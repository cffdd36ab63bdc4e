"""The op records (ember/_records.py, NOTE [op records]): one record per public op, and every
namespace, operator, profiler name and dispatcher comes from them."""

from __future__ import annotations

import operator
import types

import pytest

import ember
import ember.nn.functional as F
from ember import _modes, _records
from ember.amp import autocast_mode

OWNERS = {"torch": ember, "Tensor": ember.Tensor, "F": F, "linalg": ember.linalg,
          "special": ember.special, "random": ember.random}

# Public callables that are not ops: they compute nothing on tensor data (settings, queries,
# serialization, transforms) and so have no record.
NOT_OPS = {
    "torch": {
        "are_deterministic_algorithms_enabled", "broadcast_shapes", "can_cast",
        "get_autocast_dtype", "get_default_device", "get_default_dtype",
        "get_deterministic_debug_mode", "get_float32_matmul_precision",
        "get_num_interop_threads", "get_num_threads", "get_rng_state", "initial_seed",
        "install_as_torch", "is_anomaly_check_nan_enabled", "is_anomaly_enabled",
        "is_autocast_enabled", "is_complex", "is_deterministic_algorithms_warn_only_enabled",
        "is_floating_point", "is_grad_enabled", "is_inference_mode_enabled", "is_nonzero",
        "is_tensor", "load", "manual_seed", "compile", "numel", "promote_types", "result_type",
        "save",
        "seed", "set_default_device", "set_default_dtype", "set_deterministic_debug_mode",
        "set_float32_matmul_precision", "set_num_interop_threads", "set_num_threads",
        "set_printoptions", "set_rng_state", "use_deterministic_algorithms", "vmap",
        "detach",  # (calls Tensor.detach, which has its record)
        *autocast_mode.__all__,  # (autocast's state: torch.set_autocast_enabled...)
    },
    "Tensor": {
        "__init__", "size", "dim", "ndimension", "numel", "nelement", "element_size", "stride",
        "is_contiguous", "is_floating_point", "is_complex", "is_signed", "data_ptr",
        "get_device", "is_inference", "requires_grad_", "retain_grad", "register_hook",
        "register_post_accumulate_grad_hook", "backward", "numpy", "__array__",
        "__array_wrap__", "item", "tolist", "__len__", "__iter__", "__bool__", "__float__",
        "__int__", "__complex__", "__index__", "__hash__", "__format__", "__repr__", "__str__",
        "__reduce_ex__", "__deepcopy__", "pin_memory", "is_pinned", "__contains__",
    },
    "F": set(), "linalg": set(), "special": set(),
    "random": {"get_rng_state", "set_rng_state", "manual_seed", "seed", "initial_seed",
               "fork_rng"},
}


def _public(space):
    owner = OWNERS[space]
    if space == "Tensor":
        return {n: v for n, v in vars(owner).items()
                if callable(v) and not isinstance(v, type)
                and not (n.startswith("_") and not n.startswith("__"))}
    names = getattr(owner, "__all__", None) if space != "torch" else None
    names = names if names is not None else [n for n in dir(owner) if not n.startswith("_")]
    return {n: getattr(owner, n) for n in names
            if isinstance(getattr(owner, n, None), types.FunctionType)}


@pytest.mark.parametrize("space", list(OWNERS))
def test_every_public_callable_is_a_record_publication(space):
    published = _records.namespace(space)
    missing = sorted(n for n in _public(space) if n not in published and n not in NOT_OPS[space])
    assert missing == [], f"{space}: public callables without an op record: {missing}"
    stale = sorted(n for n in NOT_OPS[space] if n in published)
    assert stale == [], f"{space}: listed as not ops but declared: {stale}"


@pytest.mark.parametrize("space", list(OWNERS))
def test_every_publication_is_its_records_dispatcher(space):
    owner = OWNERS[space]
    for attr, fn in _records.namespace(space).items():
        got = owner.__dict__[attr] if space == "Tensor" else getattr(owner, attr)
        assert got is fn, f"{space}.{attr} is not what its record publishes"
        if isinstance(got, property):
            continue  # (T, mT, H, mH: attributes; the ops their getters call are dispatched)
        key = getattr(got, "_dispatch_key", None)
        assert key is not None, f"{space}.{attr} has no dispatcher"
        rec = _records.of(got)
        assert rec is not None and (space, attr) in rec.publications
        assert key.record is rec or (space, attr) in key.record.publications or \
            got.__wrapped__ is not None  # (one object under two names: one dispatcher)


def test_the_operators_are_the_records():
    # every Python operator Tensor defines is a publication of the op it runs: one list
    names = {f"__{n}__" for n in dir(operator) if not n.startswith("_")}
    names |= {"__r" + n[2:] for n in names} | {"__i" + n[2:] for n in names}
    names -= {"__contains__", "__index__", "__not__", "__truth__", "__length_hint__",
              "__concat__", "__iconcat__", "__rconcat__", "__call__"}
    defined = sorted(n for n in names if n in vars(ember.Tensor))
    published = _records.namespace("Tensor")
    assert [n for n in defined if n not in published] == []
    expect = {"__add__": "add", "__radd__": "add", "__iadd__": "add_", "__rsub__": "rsub",
              "__matmul__": "matmul", "__rmatmul__": "matmul", "__neg__": "neg",
              "__invert__": "bitwise_not", "__ipow__": "pow_", "__rpow__": "pow",
              "__eq__": "eq", "__getitem__": None, "__setitem__": None}
    for name, aten in expect.items():
        assert _records.aten("Tensor", name) == aten, name
    assert _records.of(ember.Tensor.__radd__) is _records.RECORDS["add"]


def test_aten_names_carry_the_namespace():
    assert _records.aten("linalg", "inv") == "linalg_inv"
    assert _records.aten("special", "erfcx") == "special_erfcx"
    assert _records.aten("torch", "subtract") == "subtract"
    assert _records.aten("Tensor", "subtract_") == "subtract_"
    assert _records.aten("torch", "ones") == "ones"
    assert _records.RECORDS["ones"].kind == "factory"


def test_profiler_names_events_from_the_records():
    x = ember.ones(2, requires_grad=True)
    a = ember.eye(2, dtype=ember.float64)
    with ember.autograd.profiler.profile() as prof:
        y = x + 1
        y.sub_(1)
        ember.linalg.inv(a)
        x.detach()
        ember.zeros(2)
    names = [e.name for e in prof.function_events]
    assert names == ["aten::add", "aten::sub_", "aten::linalg_inv"]


def test_in_place_variants_are_linked():
    R = _records.RECORDS
    assert R["add"].inplace is R["add_"]
    assert R["sin"].inplace is R["sin_"]
    assert R["clamp"].inplace is R["clamp_"]
    for rec in R.values():
        if rec.name.endswith("_") and rec.name[:-1] in R and rec.kind == "op":
            assert R[rec.name[:-1]].inplace is rec, rec.name


def test_aliases_share_one_record():
    R = _records.RECORDS
    assert _records.of(ember.absolute) is R["abs"]
    assert _records.of(ember.Tensor.subtract_) is R["sub_"]
    assert _records.of(ember.linalg.matmul) is R["matmul"]
    assert _records.of(ember.special.expit) is R["sigmoid"]
    assert ("Tensor", "swapdims_") in R["transpose_"].publications


def test_records_name_their_family_and_rules():
    for rec in _records.RECORDS.values():
        assert rec.family and rec.family.startswith("ember"), rec
    mul = _records.RECORDS["mul"]
    assert mul.family == "ember.ops.arithmetic"
    sin = _records.RECORDS["sin"]
    assert [n.__name__ for n in sin.nodes] == ["SinBackward0"]
    assert sin.batch == "elementwise" and sin.saves == "x"


def test_declaring_twice_moves_the_publication():
    # a name published again as another op leaves the first record (the last declaration
    # wins, as the namespace itself does)
    before = dict(_records.RECORDS)
    try:
        def first(x):
            return x

        def second(x):
            return x

        r1 = _records.declare(first, "special", "_test_op")
        r2 = _records.declare(second, "special", "_test_op")
        assert r1 is not r2 and ("special", "_test_op") in r2.publications
        assert r1.name not in _records.RECORDS or _records.RECORDS[r1.name] is not r1
    finally:
        _records._SPACES["special"].pop("_test_op", None)
        _records.RECORDS.clear()
        _records.RECORDS.update(before)


def test_mode_keys_carry_records():
    seen = []

    class Spy(_modes.Mode):
        def wrap(self, key, fn):
            seen.append(key)
            return fn

    with Spy():
        ember.ones(2) * 2
    assert any(k.name == "__mul__" and k.record is _records.RECORDS["mul"] for k in seen)


def test_every_record_has_a_batching_rule():
    # a rule of its own (a category declared with the op, or vmap's rule under one of its
    # names), or PyTorch's fallback: the op once per sample (vmap's _loop)
    from ember import _vmap

    orphans = _vmap._bind_records()
    assert orphans == [], f"vmap rules that name no published op: {orphans}"
    none = sorted(rec.name for rec in _records.RECORDS.values()
                  if _vmap._record_rule(rec) is None
                  and not all(isinstance(fn, property) for fn in rec._fns))
    assert none == []
    assert _records.RECORDS["sin"].batch == "elementwise"
    assert _records.RECORDS["sin_"].batch == "inplace"
    assert _records.RECORDS["sum"].batch is _vmap._RULES["sum"]
    assert _vmap._record_rule(_records.RECORDS["block_diag"]) is _vmap._loop
    assert _vmap._record_rule(_records.RECORDS["index_put_"]) is _vmap._loop_inplace
    assert _vmap._record_rule(_records.RECORDS["ones"]) is _vmap._factory


def test_the_loop_fallback_matches_pytorch():
    from .oracle import same

    def f(m):
        x = m.tensor([[1.0, -2.0, 3.0, 0.5], [0.0, 2.0, -1.0, 4.0]], dtype=m.float64)
        return (m.func.vmap(lambda v: m.block_diag(v[:2].reshape(1, 2), v[2:].reshape(2, 1)))(x),
                m.func.vmap(lambda v: m.cov(v.reshape(2, 2)))(x),
                m.func.vmap(lambda v: m.histc(v, bins=3, min=-2, max=4))(x))
    # (PyTorch also warns of "a performance drop" for the ops its fallback loops over, which
    # depends on which ops it decomposes first; ember's loop does not warn)
    same(f, warnings_too=False)

    def dynamic(m):
        return m.func.vmap(lambda v: m.nonzero(v))(m.tensor([[1.0, 0.0], [1.0, 1.0]]))
    same(dynamic)


# arguments for the in-place twins that take more than ``self`` (and maybe one tensor like it)
_TWIN_ARGS = {
    "transpose": lambda x, y: (0, 1), "unsqueeze": lambda x, y: (0,),
    "index_put": lambda x, y: ((ember.tensor([1, 0]),),
                              ember.tensor([5.0, 6.0, 7.0], dtype=ember.float64)),
    "lerp": lambda x, y: (y, 0.25), "addcmul": lambda x, y: (y, x, ),
    "addcdiv": lambda x, y: (y, x + 1), "masked_fill": lambda x, y: (x > 0.5, 2.0),
    "threshold": lambda x, y: (0.5, -1.0), "polygamma": lambda x, y: (1,),
    "mvlgamma": lambda x, y: (1,),
    "addmm": lambda x, y: (x[:, :2] * 0 + 1, x * 0 + 1), "clamp": lambda x, y: (0.3, 0.7),
    "addmv": lambda x, y: (ember.ones(3, 2, dtype=ember.float64), x[0, :2] * 0 + 1),
    "addr": lambda x, y: (x[:, 0].clone(), x[0].clone()),
    "baddbmm": lambda x, y: (ember.ones(1, 2, 2, dtype=ember.float64), x.reshape(1, 2, 3) * 0),
    "addbmm": lambda x, y: (ember.ones(2, 2, 2, dtype=ember.float64), ember.ones(2, 2, 3,
                                                                           dtype=ember.float64)),
    "scatter": lambda x, y: (1, ember.tensor([[0, 1, 2], [2, 1, 0]]), y),
    "scatter_add": lambda x, y: (1, ember.tensor([[0, 1, 2], [2, 1, 0]]), y),
    "scatter_reduce": lambda x, y: (1, ember.tensor([[0, 0, 2], [2, 1, 0]]), y, "sum"),
    "index_add": lambda x, y: (0, ember.tensor([1, 0]), y),
    "index_copy": lambda x, y: (0, ember.tensor([1, 0]), y),
    "index_fill": lambda x, y: (1, ember.tensor([0, 2]), -1.0),
    "index_reduce": lambda x, y: (0, ember.tensor([1, 0]), y, "prod"),
    "masked_scatter": lambda x, y: (x > 0.5, y),
    "put": lambda x, y: (ember.tensor([0, 5]), ember.tensor([9.0, 8.0], dtype=ember.float64)),
    "cumsum": lambda x, y: (1,), "cumprod": lambda x, y: (1,), "renorm": lambda x, y: (2, 0, 1.0),
    "as_strided": lambda x, y: ((2, 2), (1, 2)),
    "celu": lambda x, y: (), "selu": lambda x, y: (),
}
_TWIN_SELF = {"addmv": lambda x: x[0], "baddbmm": lambda x: x.reshape(1, 2, 3)}
_INTEGER_TWINS = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
                  "bitwise_left_shift", "bitwise_right_shift"}
_RANDOM_TWINS = {"rrelu": (0.125, 1 / 3, True), "dropout": (0.5, True),
                 "alpha_dropout": (0.5, True), "feature_dropout": (0.5, True),
                 "feature_alpha_dropout": (0.5, True)}


def _callable(rec):
    """A record's callable taking ``self`` first: its Tensor method, else its function."""
    for space in ("Tensor", "torch", "F"):
        for sp, attr in rec.publications:
            if sp == space:
                return _records.namespace(space)[attr]
    raise AssertionError(rec)


def _twins():
    return sorted((r.name, r.inplace.name) for r in _records.RECORDS.values()
                  if r.inplace is not None and r.kind == "op")


@pytest.mark.parametrize("pair", _twins(), ids=lambda p: p[1])
def test_each_in_place_variant_matches_its_out_of_place_twin(pair):
    # the records link each op to its in-place variant: same values, same gradient
    import warnings

    import numpy as np

    name, inplace = pair
    if name in _RANDOM_TWINS:  # (the same draws from the same seed)
        x = ember.ones(4, 5, dtype=ember.float64) - (2 if name == "rrelu" else 0)
        ember.manual_seed(3)
        want = _callable(_records.RECORDS[name])(x, *_RANDOM_TWINS[name])
        ember.manual_seed(3)
        got = _callable(_records.RECORDS[inplace])(x.clone(), *_RANDOM_TWINS[name])
        assert np.array_equal(got.numpy(), want.numpy())
        return
    integer = name in _INTEGER_TWINS
    if integer:
        x, y = ember.tensor([[1, 2, 3], [4, 5, 6]]), ember.tensor([[3, 1, 2], [1, 2, 1]])
    else:
        x = ember.tensor(np.linspace(0.15, 0.85, 6).reshape(2, 3), requires_grad=True)
        y = ember.tensor(np.linspace(0.3, 0.6, 6).reshape(2, 3))
    make = _TWIN_ARGS.get(name, "auto")
    out_of_place, in_place = _callable(_records.RECORDS[name]), \
        _callable(_records.RECORDS[inplace])
    if name == "polygamma":  # (torch.polygamma(n, input); the method takes self first)
        out_of_place = ember.Tensor.polygamma
    candidates = [()] + ([(y,)] if make == "auto" else []) if make == "auto" else \
        [make(x.detach(), y)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args in candidates:
            this = _TWIN_SELF.get(name, lambda t: t)(x)
            try:
                want = out_of_place(this, *args)
            except TypeError:
                continue
            base = this * 1 if not integer else this.clone()  # (a non-leaf: in-place allowed)
            got = in_place(base, *args)
            break
        else:
            pytest.fail(f"no arguments found for {name}")
    assert got is base
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    if not integer and want.requires_grad:
        w = ember.tensor(np.linspace(-1, 1, want.numel()).reshape(tuple(want.shape)))
        try:
            g_want, = ember.autograd.grad((want * w).sum(), x)
        except (RuntimeError, NotImplementedError) as e:  # (no derivative: the twin neither)
            with pytest.raises(type(e), match="not implemented"):
                ember.autograd.grad((got * w).sum(), x)
            return
        if name in ("asinh", "acosh", "atanh"):  # (PyTorch has no derivative for these _)
            with pytest.raises(NotImplementedError, match="inplace version of"):
                ember.autograd.grad((got * w).sum(), x)
            return
        g_got, = ember.autograd.grad((got * w).sum(), x)
        np.testing.assert_allclose(g_got.numpy(), g_want.numpy(), rtol=1e-12, atol=1e-14)


def _kernel_records():
    return sorted(r.name for r in _records.RECORDS.values() if r.kernel is not None)


@pytest.mark.parametrize("name", _kernel_records())
def test_record_kernels_compute_the_op(name):
    # a record's kernel(xp) is the op's plain array function in the namespace xp (NOTE [array
    # namespaces] in ember/backend): on NumPy it gives the eager op's values
    import numpy as np

    from ember import backend

    rec = _records.RECORDS[name]
    fn = backend.kernel(rec, np.ones(1))
    assert fn is rec.kernel(np)
    op = _callable(rec)
    nin = getattr(fn, "nin", 1)
    arrays = [np.linspace(0.2, 0.9, 6).reshape(2, 3) + 0.05 * k for k in range(nin)]
    if name == "ldexp":
        arrays[1] = np.array([[1, 2, 3], [0, -1, 2]])
    want = op(*[ember.tensor(a) for a in arrays])
    want = want[0] if isinstance(want, tuple) else want
    with np.errstate(all="ignore"):  # (acosh below 1: NaN on both sides)
        got = fn(*arrays)
    got = got[0] if isinstance(got, tuple) else got
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want.double().numpy(),
                               rtol=1e-12, atol=0)


def test_a_backend_is_chosen_by_its_arrays():
    import numpy as np

    from ember import backend

    class Fake(np.ndarray):
        """Stands for another library's arrays (CuPy's, say)."""

    class FakeNamespace:
        __name__ = "fake"

        @staticmethod
        def sin(a):
            return ("fake sin", a.shape)

    fake = backend.register(backend.Backend("fake", FakeNamespace, (Fake,), "fake"))
    try:
        a = np.ones(3).view(Fake)
        assert backend.of(a) is fake and backend.namespace(a, 2.0) is FakeNamespace
        assert backend.of(np.ones(2), 1) is backend.NUMPY
        assert backend.kernel(_records.RECORDS["sin"], a)(a) == ("fake sin", (3,))
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, "
                           "but found at least two devices, cpu and fake!"):
            backend.of(a, np.ones(3))
    finally:
        backend._BACKENDS.remove(fake)
        backend._BY_TYPE.pop(Fake, None)
