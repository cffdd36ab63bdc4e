"""ember prints tensors exactly as PyTorch does: every test builds the same tensor in both
libraries (from the same bits) and compares ``repr`` strings character for character.

Print options and the default dtype are global state in both libraries; the autouse fixture
puts both back to their defaults after every test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember
from ember import _printing
from ember import dtypes as D

torch = pytest.importorskip("torch")

try:
    import ml_dtypes
except ImportError:  # pragma: no cover - depends on the environment
    ml_dtypes = None

needs_bf16 = pytest.mark.skipif(ml_dtypes is None, reason="bfloat16 needs ml_dtypes")

# NOTE: dtypes are read from ember.dtypes, not the ember namespace: the namespace's ``float``,
# ``bool``, ``bfloat16``, ... are shadowed by the Tensor-method shortcuts.
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
          "float64", "complex64", "complex128"]
FLOATS = ["float16", "bfloat16", "float32", "float64"]

nan, inf = math.nan, math.inf


def np_dtype(name):
    return D.bfloat16.np if name == "bfloat16" else np.dtype(name)


def dtype_of(m, name):
    return getattr(torch if m is torch else D, name)


def pair(values, dtype="float32"):
    """The same values as an (ember, torch) pair of tensors of ``dtype``, bit for bit."""
    if dtype == "bfloat16" and ml_dtypes is None:
        pytest.skip("bfloat16 needs ml_dtypes")
    arr = np.array(values, dtype=np_dtype(dtype))
    mine = ember.from_numpy(arr.copy())
    if dtype == "bfloat16":  # torch.from_numpy does not know ml_dtypes; move the raw bits
        theirs = torch.from_numpy(arr.view(np.int16).copy()).view(torch.bfloat16)
    else:
        theirs = torch.from_numpy(arr.copy())
    return mine, theirs


def assert_repr_same(mine, theirs):
    assert repr(mine) == repr(theirs)
    assert str(mine) == str(theirs)


def check(values, dtype="float32"):
    assert_repr_same(*pair(values, dtype))


def check_fn(fn):
    """``fn(module)`` builds a value with ember or torch; the reprs must agree."""
    assert repr(fn(ember)) == repr(fn(torch))


def set_both(**options):
    ember.set_printoptions(**options)
    torch.set_printoptions(**options)


@pytest.fixture(autouse=True)
def _restore_defaults():
    yield
    set_both(profile="default")
    ember.set_default_dtype(D.float32)
    torch.set_default_dtype(torch.float32)


# ---- the examples the rest of the project relies on -------------------------------------------

@pytest.mark.parametrize("expected, fn", [
    ("tensor([4.9000, 1.9200], requires_grad=True)",
     lambda m: m.tensor([4.9, 1.92], requires_grad=True)),
    ("tensor(33., grad_fn=<AddBackward0>)",
     lambda m: m.tensor(30., requires_grad=True) + 3),
    ("tensor([-10.,  -8.])", lambda m: m.tensor([-10., -8.])),
    ("tensor([ 9., 12., 15.])", lambda m: m.tensor([9., 12., 15.])),
    ("tensor([2., 2., 2.], dtype=torch.float16)",
     lambda m: m.tensor([2., 2., 2.], dtype=dtype_of(m, "float16"))),
    ("(tensor([6., 6., 6.], grad_fn=<MulBackward0>),)",
     lambda m: (m.tensor([2., 2., 2.], requires_grad=True) * 3,)),
])
def test_seed_examples(expected, fn):
    assert repr(fn(torch)) == expected
    assert repr(fn(ember)) == expected


# ---- dtypes, shapes -----------------------------------------------------------------------------

SMALL = {
    "bool": [[True, False, True], [False, False, True]],
    "uint8": [[0, 7, 255], [18, 3, 100]],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (3,), (2, 3), (2, 1, 3), (1, 2, 1, 3)])
def test_every_dtype_and_shape(dtype, shape):
    values = np.array(SMALL.get(dtype, [[1, -2, 30], [0, 4, -5]]))
    if dtype.startswith("complex"):
        values = values + 1j * values[::-1]
    n = math.prod(shape)
    check(values.ravel()[:n].reshape(shape), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0), (3, 0, 2)])
def test_empty(dtype, shape):
    check(np.zeros(shape), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "int64", "bool"])
def test_empty_with_requires_grad_and_default_float64(dtype):
    check(np.zeros((0, 2)), dtype)
    ember.set_default_dtype(D.float64)
    torch.set_default_dtype(torch.float64)
    check(np.zeros((0,)), dtype)
    if dtype.startswith("float"):
        check_fn(lambda m: m.zeros(0, 3, dtype=dtype_of(m, dtype), requires_grad=True))


# ---- floating point formatting ---------------------------------------------------------------

SCALARS = [33., -0., 0., 1., -1., 0.5, 1e-5, -1e-5, 1e-4, 9.9999e-5, 1e10, 1e8, 1.00001e8,
           123456789., 0.1, 1 / 3, -2 / 3, 9.99995, 99999.5, 0.00015, 1e-300, 5e-324, 1e300,
           nan, inf, -inf]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("value", SCALARS)
def test_float_scalars(value, dtype):
    with np.errstate(over="ignore", under="ignore"):  # 1e300 overflows float32: that is the case
        check(value, dtype)
        check([value], dtype)


MIXES = [
    [1., 2., 3.], [1.5, 2., 3.], [1., 1000.], [1., 1001.], [0.5, 500.], [0.5, 500.5],
    [1e-4, 1.], [9.9e-5, 1.], [1., 1e8], [1., 1.00001e8], [1e-5, 1.], [1e10, 1.], [1e10, -1.],
    [0., 0.], [0., -0.], [-0., 1.], [-0., 1.5], [0.1, -0.], [1., nan], [1.5, nan], [nan, nan],
    [inf, -inf], [1., inf, -inf, nan], [1.25, inf], [1e-5, inf, 0., nan], [1e20, -1e-20, 0.],
    [123456789., 1.], [-1., -100., -10000.], [0.0001, 0.001, 0.01], [3.14159265, -2.71828],
    [1e-7, 2e-7], [100.25, -3.], [12345.678, 0.001], [-1e-9, 1e9], [99999., 1e5],
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("values", MIXES, ids=str)
def test_float_mixes(values, dtype):
    with np.errstate(over="ignore", under="ignore"):
        check(values, dtype)
        check(np.array(values)[::-1], dtype)
        check(np.array(values).reshape(-1, 1), dtype)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("values", [
    [1 + 2j], [1.5 - 2j], [-0. - 0j], [0j, -0j], [1e-5 + 1j], [1e10j, 1], [complex(nan, 1)],
    [complex(1, nan)], [complex(inf, -inf)], [1 + 1j, -2.25 - 3.5j, 100j],
    [complex(-0., -0.)], [1 - 1e-8j, 3.5],
], ids=str)
def test_complex(values, dtype):
    check(values, dtype)
    check(values[0], dtype)


@pytest.mark.parametrize("values", [
    [0.1, 1 / 3, 3.], [65504., -65504.], [6e-8, 1.], [1e-5, 2e-5], [0.3, 1.7, 1000.5],
])
def test_half_precision_values(values):
    check(values, "float16")
    check(values, "bfloat16")


@needs_bf16
def test_bfloat16_wide_range():
    check([1e30, -1e-30, 3.], "bfloat16")
    check_fn(lambda m: m.tensor([0.1, 1 / 3, 3.]).to(dtype_of(m, "bfloat16")))


# ---- integers and bools ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype, values", [
    ("int64", [-1, 0, 1]), ("int64", [2 ** 62, -(2 ** 63), 5]), ("int32", [-7, 1000000]),
    ("int16", [-32768, 32767]), ("int8", [-128, 127, 0]), ("uint8", [255, 0, 9]),
    ("int64", [[-100, 2], [3, 4000]]), ("bool", [[True], [False]]), ("bool", [False]),
    ("bool", True), ("int64", -5), ("uint8", 0),
])
def test_integers_and_bools(dtype, values):
    check(values, dtype)


# ---- layout: wrapping, nesting, summarization -------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda m: m.arange(30.) / 3,
    lambda m: m.arange(100),
    lambda m: m.arange(50, dtype=dtype_of(m, "int8")),
    lambda m: m.arange(40.) * 1e6,
    lambda m: m.arange(24.).reshape(2, 12) / 7,
    lambda m: m.arange(60.).reshape(3, 20) - 30,
    lambda m: (m.arange(30.) - 10) * (1 + 1j),
    lambda m: m.arange(2.).reshape(1, 1, 1, 1, 2),
    lambda m: m.arange(120.).reshape(2, 3, 4, 5),
    lambda m: m.arange(24).reshape(2, 3, 4),
    lambda m: m.arange(720.).reshape(2, 3, 4, 5, 6) / 3,
], ids=lambda fn: "")
def test_wrapping_and_nesting(fn):
    check_fn(fn)


@pytest.mark.parametrize("fn", [
    lambda m: m.arange(2000),
    lambda m: m.arange(1001.),
    lambda m: m.arange(1000.),
    lambda m: m.arange(2000.) / 7,
    lambda m: m.arange(1600.).reshape(40, 40),
    lambda m: m.arange(1200).reshape(2, 600),
    lambda m: m.arange(1200.).reshape(600, 2),
    lambda m: m.arange(1331.).reshape(11, 11, 11) - 600,
    lambda m: m.arange(1024.).reshape(4, 4, 4, 4, 4),
    lambda m: m.arange(2048.).reshape(2, 8, 128) * 1e-6,
    lambda m: (m.arange(2000.) - 1000) * 1j + 1,
    lambda m: m.arange(3000).reshape(10, 300) % 2 == 0,
    lambda m: m.arange(6000.).reshape(3, 2000),
], ids=lambda fn: "")
def test_summarization(fn):
    check_fn(fn)


def test_summarization_ignores_hidden_values():
    # the middle values are hidden, so they must not widen the columns or pick sci mode
    values = np.ones(2000)
    values[1000] = 1e12
    values[1001] = nan
    check(values)
    check(values.reshape(40, 50))


# ---- print options ---------------------------------------------------------------------------

OPTION_CASES = [
    {"precision": 2}, {"precision": 0}, {"precision": 8}, {"threshold": 5}, {"threshold": 0},
    {"edgeitems": 1}, {"edgeitems": 0}, {"edgeitems": 0, "threshold": 5}, {"edgeitems": 5},
    {"linewidth": 40}, {"linewidth": 200}, {"linewidth": 5}, {"sci_mode": True},
    {"sci_mode": False}, {"profile": "short"}, {"profile": "full"}, {"profile": "default"},
    {"profile": "short", "precision": 6}, {"profile": "nonsense"},
    {"threshold": 10, "edgeitems": 2, "linewidth": 30, "precision": 3},
]
OPTION_TENSORS = [
    lambda m: m.arange(2000.) / 3,
    lambda m: m.arange(100).reshape(10, 10),
    lambda m: m.arange(1200.).reshape(12, 10, 10) * 1e-5,
    lambda m: m.tensor([0., -0., nan, inf]),
    lambda m: m.tensor([1.5, 1e-5]),
    lambda m: m.tensor(3.25),
    lambda m: m.tensor([[1 + 2j, 3.5 - 1e-3j]] * 4),
    lambda m: m.tensor([True, False] * 6),
    lambda m: m.zeros(0, 2),
    lambda m: m.tensor([1.25, 2.], requires_grad=True) * 2,
]


@pytest.mark.parametrize("options", OPTION_CASES, ids=str)
def test_print_options(options):
    set_both(**options)
    assert _printing.get_printoptions() == torch._tensor_str.get_printoptions()
    for fn in OPTION_TENSORS:
        check_fn(fn)


def test_set_printoptions_resets_sci_mode_and_keeps_others():
    set_both(sci_mode=True, precision=2)
    set_both(linewidth=60)
    assert _printing.get_printoptions() == torch._tensor_str.get_printoptions()
    assert _printing.get_printoptions()["sci_mode"] is None
    check_fn(lambda m: m.tensor([1.123456, 2.]))


def test_printoptions_context_manager():
    with _printing.printoptions(precision=1, sci_mode=True), \
            torch._tensor_str.printoptions(precision=1, sci_mode=True):
        check_fn(lambda m: m.tensor([1.25, 2.]))
        assert _printing.get_printoptions() == torch._tensor_str.get_printoptions()
    assert _printing.get_printoptions() == torch._tensor_str.get_printoptions()
    assert repr(ember.tensor([1.25, 2.])) == "tensor([1.2500, 2.0000])"


def test_top_level_set_printoptions():
    ember.set_printoptions(precision=1)
    assert repr(ember.tensor([1.25, 2.5])) == "tensor([1.2, 2.5])"


# ---- default dtype -----------------------------------------------------------------------------

@pytest.mark.parametrize("default", ["float64", "float16"])
def test_default_dtype_decides_the_dtype_suffix(default):
    ember.set_default_dtype(dtype_of(ember, default))
    torch.set_default_dtype(dtype_of(torch, default))
    for dtype in DTYPES:
        if dtype != "bfloat16" or ml_dtypes is not None:
            check([1, 0], dtype)
            check(np.zeros((0,)), dtype)
    check_fn(lambda m: m.tensor([1.5, 2.]))


# ---- autograd suffixes ---------------------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda m: m.tensor(2., requires_grad=True),
    lambda m: m.tensor([1., 2.], dtype=dtype_of(m, "float64"), requires_grad=True),
    lambda m: m.tensor([1., 2.], dtype=dtype_of(m, "float64"), requires_grad=True) * 2,
    lambda m: m.tensor([1., 2.], requires_grad=True).sum(),
    lambda m: m.tensor([1., 2.], requires_grad=True)[0],
    lambda m: m.tensor([1., 2.], requires_grad=True).view(2, 1),
    lambda m: m.tensor([1., 2.], requires_grad=True).detach(),
    lambda m: m.tensor([1j, 2.], requires_grad=True) * 2,
    lambda m: m.zeros(0, requires_grad=True) + 1,
    # long last lines push the suffixes onto lines of their own
    lambda m: m.arange(16.).requires_grad_() / 3,
    lambda m: m.arange(14., dtype=dtype_of(m, "float64")).requires_grad_() / 3,
    lambda m: m.arange(12., dtype=dtype_of(m, "float64")).requires_grad_(),
    lambda m: m.arange(13., dtype=dtype_of(m, "float64")).requires_grad_(),
    lambda m: m.arange(2000.).reshape(2, 1000).requires_grad_() * 2,
])
def test_autograd_suffixes(fn):
    check_fn(fn)


@pytest.mark.parametrize("linewidth", range(10, 60))
def test_suffix_wrapping_at_every_linewidth(linewidth):
    # one of these widths puts each suffix right at the edge of the line
    set_both(linewidth=linewidth)
    check_fn(lambda m: m.tensor([1.5, -2.], dtype=dtype_of(m, "float64"), requires_grad=True))
    check_fn(lambda m: m.arange(6.).reshape(2, 3).requires_grad_() * 2)


def test_inference_tensors_have_no_suffix():
    def build(m):
        with m.inference_mode():
            return m.tensor([1., 2.5]) * 2
    check_fn(build)


def test_invalid_grad_fn(monkeypatch):
    def broken(self):
        raise RuntimeError("grad_fn cannot be read")

    theirs = torch.tensor([1., 2.], requires_grad=True).clone()
    with torch.no_grad():
        view = theirs[:1]
        view.mul_(2)
    monkeypatch.setattr(ember.Tensor, "grad_fn", property(broken))
    assert repr(ember.tensor([2.])) == repr(view) == "tensor([2.], grad_fn=<Invalid>)"


def test_subclass_prints_its_name():
    class Sub(ember.Tensor):
        __slots__ = ()

    class TorchSub(torch.Tensor):
        pass

    TorchSub.__name__ = "Sub"
    mine = ember.tensor([[1.5, 2.], [3., 4.]])
    mine.__class__ = Sub
    theirs = torch.tensor([[1.5, 2.], [3., 4.]]).as_subclass(TorchSub)
    assert repr(mine) == repr(theirs) == "Sub([[1.5000, 2.0000],\n     [3.0000, 4.0000]])"


def test_tensor_contents():
    mine, theirs = pair([1., 2.], "float64")
    assert (_printing.tensor_repr(mine, tensor_contents="[...]")
            == theirs.__repr__(tensor_contents="[...]") == "tensor([...], dtype=torch.float64)")


# ---- random tensors ------------------------------------------------------------------------

MAGNITUDES = st.one_of(
    st.integers(-1000, 1000).map(float),
    st.floats(-1e3, 1e3),
    st.floats(1e-8, 1e-3),
    st.floats(1e6, 1e12),
    st.floats(-1e12, -1e6),
    st.sampled_from([0., -0., nan, inf, -inf, 0.5, -1.5]),
)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=7)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(hnp.arrays(np.float32, SHAPES, elements=MAGNITUDES.map(np.float32)))
def test_random_float32_mixed_magnitudes(values):
    check(values, "float32")


@SETTINGS
@given(st.sampled_from(FLOATS), hnp.arrays(np.float64, SHAPES,
                                           elements=st.floats(allow_subnormal=True)))
def test_random_any_float(dtype, values):
    with np.errstate(over="ignore", under="ignore"):
        check(values, dtype)


@SETTINGS
@given(st.sampled_from(["bool", "uint8", "int8", "int16", "int32", "int64"]), st.data())
def test_random_integers(dtype, data):
    check(data.draw(hnp.arrays(np_dtype(dtype), SHAPES)), dtype)


@SETTINGS
@given(st.sampled_from(["complex64", "complex128"]), SHAPES, st.data())
def test_random_complex(dtype, shape, data):
    real = data.draw(hnp.arrays(np.float32, shape, elements=MAGNITUDES.map(np.float32)))
    imag = data.draw(hnp.arrays(np.float32, shape, elements=MAGNITUDES.map(np.float32)))
    values = real.astype(np.complex64)
    values.imag = imag  # not real + 1j * imag, which turns an infinite imag into a nan real
    check(values, dtype)


@SETTINGS
@given(
    st.sampled_from(["float32", "int64", "complex64", "bool"]),
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=12),
    st.integers(0, 2 ** 32 - 1),
    st.fixed_dictionaries({}, optional={
        "precision": st.integers(0, 10), "threshold": st.integers(0, 100),
        "edgeitems": st.integers(0, 5), "linewidth": st.integers(5, 200),
        "sci_mode": st.sampled_from([None, True, False]),
        "profile": st.sampled_from(["default", "short", "full"]),
    }),
)
def test_random_print_options(dtype, shape, seed, options):
    set_both(profile="default")  # the fixture runs once per test, not once per example
    set_both(**options)
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape) * 10.0 ** rng.integers(-6, 9, shape)
    if dtype == "complex64":
        values = values + 1j * rng.standard_normal(shape)
    elif dtype != "float32":
        values = (values > 0) if dtype == "bool" else np.round(values)
    check(values, dtype)


# ---- format() ----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["", ".3f", ">20", "e", "d", "s"])
@pytest.mark.parametrize("make", ["float", "int", "bool", "requires_grad", "one_element",
                                  "vector", "empty"])
def test_format(make, spec):
    from .oracle import same

    def fn(T):
        t = {"float": lambda: T.tensor(3.), "int": lambda: T.tensor(3),
             "bool": lambda: T.tensor(True),
             "requires_grad": lambda: T.tensor(2.5, requires_grad=True),
             "one_element": lambda: T.ones(1), "vector": lambda: T.arange(3.),
             "empty": lambda: T.ones(0)}[make]()
        return format(t, spec), f"{t}"
    same(fn)
