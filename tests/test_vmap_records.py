"""``vmap`` over every op record of tests/opinfo (issue 14): each op batched by its rule gives
what a per-sample loop gives.

For each record and each sample shape, three (nested: six) samples of the same shapes are
drawn with different seeds and stacked along a new dim; ``vmap(f)`` of the stack must equal
ember's own per-sample loop ``stack([f(x) for x in samples])``: values (tolerance by dtype),
dtype and shape, for every output. The modes:

- ``batched``: every tensor argument stacked, ``in_dims=0``;
- ``unbatched_ints``: integer/bool tensor arguments (indices, targets) held unbatched with
  ``in_dims=None`` (only records that take one);
- ``moved``: the batch dim last in every input (``in_dims=-1``) and at dim 1 of every output
  with a dim (``out_dims=1``);
- ``nested``: ``vmap(vmap(f))`` over a 2x3 batch;
- ``grad``: ``vmap(grad(lambda *x: weighted sum of f(*x)))`` against per-sample ``grad``
  (float64; differentiable records only).

Non-tensor arguments are held by the mapped function (vmap maps tensors only). A handful of
records are also checked against PyTorch's ``torch.func.vmap`` through ``tests/oracle.same``.

Known gaps are listed in ``XFAIL`` below, ``record name -> reason`` for every mode, or
``"record name/mode" -> reason`` for one mode; they are strict xfails, so a fixed gap fails
until its entry is removed.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.func import grad, vmap
from ember.utils._pytree import tree_structure

from .opinfo import RECORDS

XFAIL = {
    'allclose': 'returns a bool (PyTorch refuses too)',
    'argwhere': 'data-dependent shape (PyTorch refuses too)',
    'as_strided/moved': 'no rule (strides of the physical tensor)',
    'as_strided_': 'no rule (strides of the physical tensor)',
    'as_strided_expanded/moved': 'no rule (strides of the physical tensor)',
    'as_strided_overlap': 'no rule (strides of the physical tensor)',
    'as_strided_transposed/moved': 'no rule (strides of the physical tensor)',
    'equal': 'returns a bool (PyTorch refuses too)',
    'getitem_bool_mask': 'data-dependent shape (PyTorch refuses too)',
    'index_fill_tensor/unbatched_ints': 'batched 0-d fill value: no rule',
    'index_select_0d/batched': '0-d self with batched index keeps a dim',
    'index_select_0d/moved': '0-d self with batched index keeps a dim',
    'index_select_0d/nested': '0-d self with batched index keeps a dim',
    'linalg_lu_solve': 'operands of other ranks do not broadcast',
    'masked_select/batched': 'data-dependent shape (PyTorch refuses too)',
    'masked_select/grad': 'data-dependent shape (PyTorch refuses too)',
    'masked_select/moved': 'data-dependent shape (PyTorch refuses too)',
    'masked_select/nested': 'data-dependent shape (PyTorch refuses too)',
    'masked_select_0d': 'data-dependent shape (PyTorch refuses too)',
    'nonzero': 'data-dependent shape (PyTorch refuses too)',
    'nonzero_tuple': 'data-dependent shape (PyTorch refuses too)',
    'searchsorted': 'batched sorted sequence: no rule',
    'setitem_mask': 'data-dependent shape (PyTorch refuses too)',
    'storage_offset': 'returns an int (PyTorch refuses too)',
    'unique': 'data-dependent shape (PyTorch refuses too)',
    'unique_consecutive': 'data-dependent shape (PyTorch refuses too)',
    'unique_dim': 'data-dependent shape (PyTorch refuses too)',
}

N = 3  # samples per batch (nested: 2 x N)
TOL = {"float32": (1e-4, 1e-5), "float64": (1e-9, 1e-10), "float16": (2e-3, 1e-4),
       "bfloat16": (1.6e-2, 1e-3), "complex64": (1e-4, 1e-5), "complex128": (1e-9, 1e-10)}
MODES = ("batched", "unbatched_ints", "moved", "nested", "grad")


# ---- building batches ------------------------------------------------------------------------

def _draw(rec, seeds):
    """Per sample index: the argument tuples drawn with each seed, where every seed gives the
    same shapes and the same non-array arguments (so they can be stacked)."""
    drawn = [list(rec.samples(np.random.default_rng(s))) for s in seeds]
    out = []
    for i in range(min(len(d) for d in drawn)):
        group = [d[i] for d in drawn]
        if _consistent(group):
            out.append(group)
    return out


def _consistent(group):
    first = group[0]
    for other in group[1:]:
        if len(other) != len(first):
            return False
        for a, b in zip(first, other):
            if isinstance(a, np.ndarray) != isinstance(b, np.ndarray):
                return False
            if isinstance(a, np.ndarray):
                if a.shape != b.shape or a.dtype != b.dtype:
                    return False
            elif not _equal(a, b):
                return False
    return True


def _equal(a, b):
    try:
        return bool(a == b) if not isinstance(a, (tuple, list)) else (
            len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b)))
    except Exception:  # noqa: BLE001 - objects without a plain == are not the same
        return a is b


def _is_float(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _is_tensor_arg(a):
    return isinstance(a, np.ndarray)


def _tensor(a, dtype):
    if _is_float(a):
        return ember.tensor(a, dtype=getattr(ember, dtype))
    return ember.tensor(a)


def _mapped(rec, consts, positions):
    """``rec.fn`` as a function of the tensor arguments at ``positions`` only."""

    def f(*ts):
        args = list(consts)
        for p, t in zip(positions, ts):
            args[p] = t
        return rec.fn(ember, *args)

    return f


def _leaves(out):
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    return [out]


def _compare(got, want, path="output"):
    """``got`` (a vmap result's leaves) against ``want`` (ndarrays with their dtype names)."""
    assert len(got) == len(want), f"{path}: {len(got)} outputs, the loop gave {len(want)}"
    for j, (g, (w, dtype)) in enumerate(zip(got, want)):
        assert isinstance(g, ember.Tensor), f"{path}[{j}]: {type(g)} is not a tensor"
        assert str(g.dtype) == dtype, f"{path}[{j}]: dtype {g.dtype}, the loop gave {dtype}"
        assert tuple(g.shape) == w.shape, f"{path}[{j}]: shape {tuple(g.shape)} != {w.shape}"
        name = dtype.replace("torch.", "").replace("ember.", "")
        rtol, atol = TOL.get(name, (0, 0))
        data = g.detach()._data
        if name == "bfloat16":
            data, w = data.astype(np.float32), w.astype(np.float32)
        np.testing.assert_allclose(data, w, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{path}[{j}]")


def _loop(f, per_sample):
    """The per-sample loop: each output stacked over the samples (``per_sample`` holds the
    argument tuples of each sample)."""
    outs = [_leaves(f(*args)) for args in per_sample]
    want = []
    for j in range(len(outs[0])):
        col = [o[j] for o in outs]
        assert all(isinstance(c, ember.Tensor) for c in col), "the op returned a non-tensor"
        want.append((np.stack([c.detach()._data for c in col]), str(col[0].dtype)))
    return want


# ---- the modes -------------------------------------------------------------------------------

def _run_batched(rec, hold_ints, dtype="float32"):
    for group in _draw(rec, range(N)):
        consts = list(group[0])
        positions = [p for p, a in enumerate(consts) if _is_tensor_arg(a)]
        f = _mapped(rec, consts, positions)
        held = [hold_ints and not _is_float(consts[p]) for p in positions]
        per_sample = [[_tensor(group[0 if h else s][p], dtype) for p, h in zip(positions, held)]
                      for s in range(N)]
        stacked = [_tensor(consts[p], dtype) if h else
                   _tensor(np.stack([g[p] for g in group]), dtype)
                   for p, h in zip(positions, held)]
        in_dims = tuple(None if h else 0 for h in held)
        _compare(_leaves(vmap(f, in_dims=in_dims)(*stacked)), _loop(f, per_sample))


def _run_moved(rec, dtype="float32"):
    for group in _draw(rec, range(N)):
        consts = list(group[0])
        positions = [p for p, a in enumerate(consts) if _is_tensor_arg(a)]
        f = _mapped(rec, consts, positions)
        per_sample = [[_tensor(group[s][p], dtype) for p in positions] for s in range(N)]
        stacked = [_tensor(np.stack([g[p] for g in group], axis=-1), dtype) for p in positions]
        want = _loop(f, per_sample)
        out_dims = tuple(1 if w.ndim > 1 else 0 for w, _ in want)
        # out_dims take the outputs' own structure (a list, a return type): PyTorch's vmap
        # refuses a plain tuple for those
        spec = tree_structure(f(*per_sample[0]))
        got = vmap(f, in_dims=-1, out_dims=spec.unflatten(out_dims))(*stacked)
        _compare(_leaves(got), [(np.moveaxis(w, 0, d), t) for (w, t), d in zip(want, out_dims)])


def _run_nested(rec, dtype="float32"):
    for group in _draw(rec, range(2 * N)):
        consts = list(group[0])
        positions = [p for p, a in enumerate(consts) if _is_tensor_arg(a)]
        f = _mapped(rec, consts, positions)
        per_sample = [[_tensor(group[s][p], dtype) for p in positions] for s in range(2 * N)]
        stacked = [_tensor(np.stack([g[p] for g in group]).reshape(2, N, *group[0][p].shape),
                           dtype) for p in positions]
        want = [(w.reshape(2, N, *w.shape[1:]), t) for w, t in _loop(f, per_sample)]
        _compare(_leaves(vmap(vmap(f))(*stacked)), want)


def _weighted_total(f):
    """A scalar of every floating output of ``f``, each weighted by fixed values (so that the
    gradient of ops like softmax, whose plain sum is constant, is not trivially zero)."""

    def total(*ts):
        acc = 0
        for j, o in enumerate(_leaves(f(*ts))):
            if isinstance(o, ember.Tensor) and o.is_floating_point():
                w = np.random.default_rng(100 + j).uniform(0.5, 1.5, size=tuple(o.shape))
                acc = acc + (o * ember.tensor(w, dtype=o.dtype)).sum()
        return acc

    return total


def _run_grad(rec):
    dtype = "float64"
    for group in _draw(rec, range(N)):
        consts = list(group[0])
        positions = [p for p, a in enumerate(consts) if _is_tensor_arg(a)]
        diff = tuple(j for j, p in enumerate(positions)
                     if _is_float(consts[p]) and p not in rec.nondiff)
        g = grad(_weighted_total(_mapped(rec, consts, positions)), argnums=diff)
        per_sample = [[_tensor(group[s][p], dtype) for p in positions] for s in range(N)]
        stacked = [_tensor(np.stack([gr[p] for gr in group]), dtype) for p in positions]
        want = _loop(g, per_sample)
        _compare(_leaves(vmap(g)(*stacked)), want, "grad")


def _applies(rec, mode):
    draws = _draw(rec, range(N))
    if not draws:
        return False
    if mode == "unbatched_ints":  # (and a float tensor left to map over)
        return any(isinstance(a, np.ndarray) and a.dtype.kind != "f"
                   for group in draws for a in group[0]) and any(
            _is_float(a) for group in draws for a in group[0])
    if mode == "grad":
        return rec.gradcheck and any(
            _is_float(a) and p not in rec.nondiff for group in draws
            for p, a in enumerate(group[0]))
    return any(_is_tensor_arg(a) for group in draws for a in group[0])


RUN = {"batched": lambda rec: _run_batched(rec, False),
       "unbatched_ints": lambda rec: _run_batched(rec, True),
       "moved": _run_moved, "nested": _run_nested, "grad": _run_grad}

CASES = [(rec, mode) for rec in RECORDS for mode in MODES if _applies(rec, mode)]


def _id(rec, mode, seen={}):  # noqa: B006 - counts repeated record names across calls
    key = (rec.name, mode)
    seen[key] = seen.get(key, 0) + 1
    return f"{rec.name}/{mode}" + (f"#{seen[key]}" if seen[key] > 1 else "")


IDS = [_id(rec, mode) for rec, mode in CASES]


@pytest.mark.parametrize("rec,mode", CASES, ids=IDS)
def test_vmap_matches_loop(rec, mode, request):
    reason = XFAIL.get(f"{rec.name}/{mode}") or XFAIL.get(rec.name)
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    RUN[mode](rec)


def test_xfail_names_are_records():
    names = {rec.name for rec in RECORDS}
    for key in XFAIL:
        name, _, mode = key.partition("/")
        assert name in names, key
        assert mode in ("", *MODES), key
    assert list(XFAIL) == sorted(XFAIL), "keep XFAIL ordered"


# ---- against PyTorch's torch.func.vmap -------------------------------------------------------

ORACLE = ["kron", "hstack", "vstack", "dstack", "diag_embed", "diagflat",
          "cdist", "matrix_power", "tensordot", "trace", "tril", "take_along_dim", "index_add",
          "index_copy", "scatter_add", "conv_transpose2d", "batch_norm_train_no_affine",
          "special_zeta", "linalg_vector_norm"]


def _oracle_case(name):
    rec = next(r for r in RECORDS if r.name == name)
    group = _draw(rec, range(N))[0]
    consts = list(group[0])
    positions = [p for p, a in enumerate(consts) if _is_tensor_arg(a)]
    stacked = [np.stack([g[p] for g in group]) for p in positions]
    return rec, consts, positions, stacked


@pytest.mark.parametrize("name", [n for n in ORACLE if any(r.name == n for r in RECORDS)])
def test_vmap_matches_pytorch(name):
    from .oracle import same

    rec, consts, positions, stacked = _oracle_case(name)

    def run(T):
        def f(*ts):
            args = list(consts)
            for p, t in zip(positions, ts):
                args[p] = t
            return rec.fn(T, *args)

        tensors = [T.tensor(a, dtype=T.float64) if a.dtype.kind == "f" else T.tensor(a)
                   for a in stacked]
        return T.func.vmap(f)(*tensors)

    # (PyTorch warns of a slow path where it has no rule of its own, as for diagflat; ember
    # has a rule: the warnings are not compared)
    same(run, rtol=1e-7, atol=1e-9, warnings_too=False)


def test_batch_norm_training_with_running_stats_is_refused_as_pytorch():
    from .oracle import same

    x = np.random.default_rng(0).standard_normal((3, 4, 2))

    def run(T):
        rm, rv = T.zeros(2), T.ones(2)
        return T.func.vmap(lambda v: T.nn.functional.batch_norm(v, rm, rv, training=True))(
            T.tensor(x))

    same(run)
    # without running statistics each sample is normalised by its own batch statistics
    same(lambda T: T.func.vmap(lambda v: T.nn.functional.batch_norm(
        v, None, None, training=True))(T.tensor(x)))


# ---- printing a batched value ----------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda T: T.arange(6.0).reshape(2, 3), lambda T: T.tensor([[1, 2], [3, 4]]),
    lambda T: T.arange(24.0).reshape(2, 3, 4) / 7,
])
def test_batched_value_prints_as_pytorch(make):
    from .oracle import same

    def run(T):
        seen = []

        def f(x):
            seen.append(repr(x))
            seen.append(str(x * 2))
            T.func.vmap(lambda y: seen.append(repr(y)) or y)(x)
            return x

        T.func.vmap(f)(make(T))
        T.func.vmap(f, in_dims=0)(make(T))
        seen.append(repr(make(T)))  # a plain tensor again after the vmap
        return seen

    same(run)
