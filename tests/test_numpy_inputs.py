"""NumPy values meeting ember as they meet PyTorch, and indexing with Python sequences.

- An ndarray (or a NumPy scalar where PyTorch refuses one) passed where an op takes a Tensor
  raises PyTorch's TypeError naming the op, the argument and ``numpy.ndarray``; the sweep runs
  one through every public op's tensor arguments (tests/test_bad_input.py's machinery).
- Operators between tensors and ndarrays, NumPy ufuncs and functions on tensors
  (``np.sin(t)``, ``np.asarray(t)``) give what PyTorch gives: NumPy's dispatch decides which
  side runs, so the results are tensors, ndarrays or errors exactly as with PyTorch.
- Keys made of ranges, lists of bools, tuples inside lists, ndarrays and 0-d tensors index
  (get and set, with gradients) as PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

from .oracle import same

# ---- indexing with sequences ------------------------------------------------------------------

KEYS = {
    "range": lambda T: range(2),
    "range_step": lambda T: (range(0, 3, 2), 1),
    "range_empty": lambda T: range(0),
    "two_ranges": lambda T: (range(1, 3), range(2)),
    "range_and_slice": lambda T: (slice(None), range(3, 0, -1)),
    "list_with_range": lambda T: [range(2)],
    "list_of_tuples": lambda T: [(0, 1), (1, 2)],
    "list_of_bools": lambda T: [True, False, True],
    "ndarray_ints": lambda T: np.array([0, 2]),
    "ndarray_bools": lambda T: np.array([True, False, True]),
    "ndarray_2d_bools": lambda T: np.arange(12).reshape(3, 4) % 3 == 0,
    "numpy_int": lambda T: np.int64(1),
    "list_of_numpy_ints": lambda T: [np.int64(0), np.int64(2)],
    "tensor_0d": lambda T: T.tensor(1),
    "tensors_0d": lambda T: (T.tensor(1), T.tensor(2)),
    "bool_0d": lambda T: T.tensor(True),
    "bool_0d_false": lambda T: T.tensor(False),
    "python_true": lambda T: True,
    "python_false": lambda T: False,
}


@pytest.mark.parametrize("name", sorted(KEYS))
def test_get(name):
    def fn(T):
        x = T.arange(12.).reshape(3, 4).requires_grad_()
        y = x[KEYS[name](T)]
        y.sum().backward()
        return y, x.grad
    same(fn)


# (a lone bool writes through a view with a new leading dim: CopySlices, as PyTorch)
@pytest.mark.parametrize("name", sorted(KEYS))
def test_set(name):
    def fn(T):
        x = T.arange(12.).reshape(3, 4)
        x[KEYS[name](T)] = -1.
        w = T.zeros(3, 4, requires_grad=True).clone()
        v = T.tensor(5., requires_grad=True)
        w[KEYS[name](T)] = v
        w.sum().backward()
        return x, w, v.grad
    same(fn)


# ---- an ndarray where an op takes a Tensor ------------------------------------------------------

def _sweep():
    """(id, space, name, template index, position) for each tensor argument of every public
    op (tests/test_bad_input.py's enumeration and valid calls)."""
    from . import test_bad_input as bad

    calls = []
    for space, name, _, _ in bad._public():
        k = bad._template(space, name)
        if k is None:
            continue
        args = bad.TEMPLATES[k](bad._inputs(torch))
        for pos in range(1 if space == "Tensor" else 0, len(args)):
            if isinstance(args[pos], torch.Tensor):
                calls.append((f"{space}.{name}-{pos}", space, name, k, pos))
    return calls


torch = pytest.importorskip("torch")
NDARRAY_SWEEP = _sweep()
from .test_bad_input import EXACT  # noqa: E402


def _with_ndarray(space, name, k, pos, T):
    """The op's valid call with argument ``pos`` replaced by the same values as an ndarray."""
    from . import test_bad_input as bad
    from .oracle import _call

    def call(T):
        args = list(bad.TEMPLATES[k](bad._inputs(T)))
        args[pos] = np.array(args[pos].tolist())
        return bad._fn(space, name, T)(*args)
    return _call(call, T)[0]


# Open gaps (strict xfails): ember takes the ndarray, or fails inside the op, where PyTorch
# raises its TypeError for the argument (none open).
NDARRAY_GAPS: set = set()


@pytest.mark.parametrize("space,name,k,pos", [
    pytest.param(*c[1:], id=c[0], marks=[pytest.mark.xfail(strict=True, reason="open gap")]
                 if c[0] in NDARRAY_GAPS else []) for c in NDARRAY_SWEEP])
def test_ndarray_sweep(space, name, k, pos):
    import ember

    from .oracle import Raised, assert_same, describe

    mine, ref = (_with_ndarray(space, name, k, pos, T) for T in (ember, torch))
    if not isinstance(ref, Raised):  # (PyTorch takes an ndarray in a few places)
        assert_same(describe(mine), describe(ref))
        return
    assert isinstance(mine, Raised), f"torch raised {ref!r}; ember returned {mine!r}"
    assert mine.kind == ref.kind, f"ember {mine!r} != torch {ref!r}"
    if name in EXACT:  # (the most used ops: PyTorch's message word for word)
        assert mine.message == ref.message
    else:
        # the others name the type as PyTorch does; their wording (an alias's name, the
        # "invalid combination" listing of overloads) is test_bad_input.py's concern
        assert ("numpy.ndarray" in mine.message) == ("numpy.ndarray" in ref.message), \
            f"ember {mine!r} != torch {ref!r}"


# Around the sweep: PyTorch's Python-level losses fail where they first use a value, in their
# own order (the reduction checked first, ``.ndim`` read of any object), and the overloaded ops
# list their overloads for any value no overload takes.
EDGE_CALLS = {
    "searchsorted_none": lambda T, F, t: T.searchsorted(t, None),
    "searchsorted_str": lambda T, F, t: T.searchsorted(t, "a"),
    "searchsorted_0d_array": lambda T, F, t: T.searchsorted(t, np.array(1.)),
    "searchsorted_array_boundaries": lambda T, F, t: T.searchsorted(np.ones(2), t),
    "searchsorted_numpy_int": lambda T, F, t: T.searchsorted(t, np.int64(1)),
    "kl_div_reduction_first": lambda T, F, t: F.kl_div(t, np.ones(2), reduction="bad"),
    "kl_div_float_target": lambda T, F, t: F.kl_div(t, 1., reduction="sum"),
    "gaussian_int_var": lambda T, F, t: F.gaussian_nll_loss(t, t, 1),
    "gaussian_list_var": lambda T, F, t: F.gaussian_nll_loss(t, t, [1., 2.]),
    "gaussian_list_input": lambda T, F, t: F.gaussian_nll_loss([1., 2.], t, t),
    "gaussian_float32_array_target": lambda T, F, t: F.gaussian_nll_loss(
        t, np.ones(2, np.float32), t),
    "gaussian_0d_int_array_target": lambda T, F, t: F.gaussian_nll_loss(t, np.array(1), t),
    "triplet_numpy_scalar": lambda T, F, t: F.triplet_margin_with_distance_loss(
        t, t, np.float64(1.)),
    "triplet_none": lambda T, F, t: F.triplet_margin_with_distance_loss(t, t, None),
    "triplet_own_distance": lambda T, F, t: F.triplet_margin_with_distance_loss(
        t, t, np.ones(2), distance_function=lambda a, b: (a - b).abs()),
    "triplet_missing": lambda T, F, t: F.triplet_margin_with_distance_loss(t, t),
    "polynomial_two_numbers": lambda T, F, t: T.special.chebyshev_polynomial_t(2, 3),
    "polynomial_missing": lambda T, F, t: T.special.hermite_polynomial_h(t),
    "polynomial_none": lambda T, F, t: T.special.legendre_polynomial_p(t, None),
    "polynomial_number_first": lambda T, F, t: T.special.laguerre_polynomial_l(2., t),
}


@pytest.mark.parametrize("name", sorted(EDGE_CALLS))
def test_ndarray_edges(name):
    # (PyTorch's __array_wrap__ draws NumPy's DeprecationWarning where arithmetic meets arrays)
    same(lambda T: EDGE_CALLS[name](T, T.nn.functional, T.tensor([1., 2.])), warnings_too=False)


# ---- operators and NumPy functions on tensors ---------------------------------------------------

OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "@", "==", "!=", "<", ">=", "&", "|", "^",
             "<<"]
TENSORS = {"float32": lambda T: T.tensor([1., 2.]), "int64": lambda T: T.tensor([1, 2]),
           "bool": lambda T: T.tensor([True, False]),
           "requires_grad": lambda T: T.tensor([1., 2.], requires_grad=True)}
ARRAYS = {"float64": lambda: np.array([2., 3.]), "int64": lambda: np.array([2, 3]),
          "float32": lambda: np.array([2., 3.], np.float32), "bool": lambda: np.array([True] * 2),
          "0d": lambda: np.array(2.)}


@pytest.mark.parametrize("side", ["tensor_first", "array_first"])
@pytest.mark.parametrize("array", sorted(ARRAYS))
@pytest.mark.parametrize("tensor", sorted(TENSORS))
@pytest.mark.parametrize("op", OPERATORS)
def test_operator_with_ndarray(op, tensor, array, side):
    """PyTorch refuses the ndarray and NumPy's dispatch decides (NOTE [ndarray operands] in
    ember/ops/operators.py): a tensor from NumPy's arithmetic, an error, or a plain bool."""
    import operator

    fn_of = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
             "//": operator.floordiv, "%": operator.mod, "**": operator.pow,
             "@": operator.matmul, "==": operator.eq, "!=": operator.ne, "<": operator.lt,
             ">=": operator.ge, "&": operator.and_, "|": operator.or_, "^": operator.xor,
             "<<": operator.lshift}[op]

    def fn(T):
        t, a = TENSORS[tensor](T), ARRAYS[array]()
        return fn_of(t, a) if side == "tensor_first" else fn_of(a, t)
    same(fn, warnings_too=False)  # (PyTorch's __array_wrap__ draws NumPy's DeprecationWarning)


@pytest.mark.parametrize("case", ["iadd", "imul", "isub_int"])
def test_inplace_operator_with_ndarray(case):
    def fn(T):
        t = T.tensor([1., 2.])
        a = np.array([2., 3.]) if case != "isub_int" else np.array([2, 3])
        if case == "iadd":
            t += a
        elif case == "imul":
            t *= a
        else:
            t -= a
        return t, t.__iadd__(a)
    same(fn, warnings_too=False)


NUMPY_CALLS = {
    "sin": lambda T: np.sin(T.tensor([1., 2.])),
    "sin_0d": lambda T: np.sin(T.tensor(2.)),
    "add": lambda T: np.add(T.tensor([1., 2.]), 1),
    "greater": lambda T: np.greater(T.tensor([1., 2.]), 1),  # (bool results become uint8)
    "exp_requires_grad": lambda T: np.exp(T.ones(2, requires_grad=True)),
    "asarray": lambda T: np.asarray(T.tensor([1., 2.])),
    "asarray_int": lambda T: np.asarray(T.tensor([1, 2])),
    "asarray_requires_grad": lambda T: np.asarray(T.ones(2, requires_grad=True)),
    "asarray_dtype": lambda T: np.asarray(T.tensor([1., 2.]), dtype=np.float64),
    "array": lambda T: np.array(T.tensor([[1., 2.]])),
    "concatenate": lambda T: np.concatenate([T.tensor([1.]), T.tensor([2.])]),
    "dot": lambda T: float(np.dot(T.tensor([1., 2.]), T.tensor([3., 4.]))),
    "matmul": lambda T: np.matmul(T.ones(2, 2), np.ones(2)),
}


@pytest.mark.parametrize("name", sorted(NUMPY_CALLS))
def test_numpy_function_on_tensor(name):
    same(lambda T: NUMPY_CALLS[name](T), warnings_too=False)


@pytest.mark.parametrize("call", ["exp", "add_other", "add_input", "matmul", "cat", "relu",
                                  "method", "exp_numpy_scalar", "add_numpy_scalar"])
def test_ndarray_argument_message(call):
    def fn(T):
        t, a = T.ones(2), np.ones(2)
        F = T.nn.functional
        return {"exp": lambda: T.exp(a), "add_other": lambda: T.add(t, a),
                "add_input": lambda: T.add(a, t), "matmul": lambda: T.matmul(t, a),
                "cat": lambda: T.cat([t, a]), "relu": lambda: F.relu(a),
                "method": lambda: t.add(a), "exp_numpy_scalar": lambda: T.exp(np.float64(2)),
                "add_numpy_scalar": lambda: T.add(t, np.float64(2))}[call]()
    same(fn)
