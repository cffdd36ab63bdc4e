"""Mixed precision against PyTorch 2.13 on CPU: ``autocast`` (which ops run in the autocast
dtype, which in float32, which widen; nesting, ``enabled=False``, the decorator, the weight
cast cache, ``custom_fwd``/``custom_bwd``, the state functions of ``torch``) and
``GradScaler`` (a training loop with an injected overflow, several optimizers, state dicts).

bfloat16 rounding can differ in the last bit between the libraries (PyTorch sums some products
natively in bfloat16 on CPUs with AVX-512 BF16), so values compare with a tolerance that
follows the dtype (tests/oracle.py's floor for the half types, looser where a result went
through several half-precision roundings).
"""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

import ember
from ember import _modes
from ember.amp import _policy, autocast_mode
from tests.oracle import describe, same, torch

# (rtol, atol) of a value that went through a few roundings in the half type
_LOOSE = {"bfloat16": (3e-2, 3e-2), "float16": (4e-3, 4e-3)}


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


@pytest.fixture(autouse=True)
def _no_leftover_state():
    """Every test starts and ends with autocast off (a failing test must not leak it)."""
    yield
    for m in (ember, torch):
        for kind in ("cpu", "cuda"):
            m.set_autocast_enabled(kind, False)
        m.set_autocast_dtype("cpu", m.bfloat16)
        m.set_autocast_dtype("cuda", m.float16)
        m.set_autocast_cache_enabled(True)
        m.clear_autocast_cache()
    assert autocast_mode._MODE not in _modes.active_modes()


# ---- every op of tests/opinfo under autocast ------------------------------------------------

def _records():
    from tests.opinfo import RECORDS

    return RECORDS


def _inputs(m, rec, sample, dtype):
    out = []
    for k, a in enumerate(sample):
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                a = m.tensor(a, dtype=getattr(m, dtype)).requires_grad_(k not in rec.nondiff)
            else:
                a = m.tensor(a)
        out.append(a)
    return out


def _signature(m, rec, args, autocast_dtype=None):
    """What a record's call gives: its outputs (or the exception) and, when they are
    differentiable, the gradients of their float32 sum."""
    try:
        if autocast_dtype is None:
            out = rec.fn(m, *args)
        else:
            with m.autocast("cpu", dtype=getattr(m, autocast_dtype)):
                out = rec.fn(m, *args)
    except Exception as exc:  # noqa: BLE001 - the error is the result
        return exc, None
    outs = [o for o in _flat(out) if isinstance(o, m.Tensor)]
    diff = [a for a in args if isinstance(a, m.Tensor) and a.requires_grad]
    heads = [o for o in outs if o.requires_grad]
    grads = None
    if diff and heads:
        total = sum(o.float().sum() for o in heads)
        try:
            grads = m.autograd.grad(total, diff, allow_unused=True)
        except RuntimeError as exc:
            grads = exc
    return outs, grads


def _kind(result):
    """Dtypes of the outputs, or the error's class: what ``plain`` runs must agree on."""
    if isinstance(result, Exception):
        return type(result).__name__
    return [str(o.dtype) for o in result]


def _compare_tensors(mine, ref, rtol, atol, where):
    a, b = describe(mine), describe(ref)
    assert a[1:3] == b[1:3], f"{where}: ember {a[1:3]} != torch {b[1:3]}"
    if np.issubdtype(a[6].dtype, np.floating) or np.issubdtype(a[6].dtype, np.complexfloating):
        np.testing.assert_allclose(a[6], b[6], rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=where)
    else:
        np.testing.assert_array_equal(a[6], b[6], err_msg=where)


# PyTorch's own backward fails under autocast for these composites (a float32 gradient meets
# the half-precision result of an inner matmul, or an inner op writes in place to a saved
# tensor); ember's runs, and their forward values are compared all the same
GRAD_FAILS = {"linalg_pinv", "linalg_pinv_hermitian", "linalg_cond_fro", "linalg_cond_1",
              "affine_grid_3d"}

# (autocast dtype, input dtype): the float32 inputs of a mixed-precision model, inputs already
# in the autocast dtype (the float32 list casts them up), the other half type (which PyTorch's
# promotion rejects), and float64 (never cast). (float16 autocast on float16 or bfloat16
# inputs mirrors the bfloat16 sweeps: left out for time, each sweep is ~10 s.)
SWEEPS = [("bfloat16", "float32"), ("float16", "float32"), ("bfloat16", "bfloat16"),
          ("bfloat16", "float16"), ("bfloat16", "float64")]


def _check(mine, ref, rtol, atol, where, plain_ref=None):
    """Assert two ``_signature`` results match (``plain_ref``: PyTorch's result without
    autocast, to tell an error autocast made from the op's own)."""
    assert _kind(mine[0]) == _kind(ref[0]), \
        f"{where}: ember {_kind(mine[0])} != torch {_kind(ref[0])}"
    if isinstance(ref[0], Exception):
        if plain_ref is not None and not isinstance(plain_ref[0], Exception):
            assert str(mine[0]) == str(ref[0]), where  # (autocast made the error)
        return
    for k, (a, b) in enumerate(zip(mine[0], ref[0])):
        _compare_tensors(a, b, rtol, atol, f"{where} output {k}")
    if plain_ref is not None and isinstance(plain_ref[1], Exception):
        return  # (the op's backward fails without autocast: not autocast's business)
    if isinstance(ref[1], Exception):
        assert where.split("[")[0] in GRAD_FAILS, f"{where}: torch's backward: {ref[1]}"
        return
    assert isinstance(mine[1], Exception) == isinstance(ref[1], Exception), where
    if mine[1] is not None and ref[1] is not None:
        for k, (a, b) in enumerate(zip(mine[1], ref[1])):
            assert (a is None) == (b is None), f"{where} grad {k}"
            if a is not None:
                _compare_tensors(a, b, 5e-2, 5e-2, f"{where} grad {k}")


@pytest.mark.parametrize("autocast_dtype,input_dtype", SWEEPS)
def test_every_recorded_op_under_cpu_autocast(autocast_dtype, input_dtype):
    """Each op of tests/opinfo, on each of its samples, in ember and PyTorch under CPU
    autocast: the same output dtypes and shapes, values within the half type's tolerance,
    the same error (class and message) where autocast makes one, and gradients of the same
    dtype and value. A sample is compared when the two libraries agree on it without
    autocast, to the same tolerance (a disagreement there is the op's own, covered by
    tests/ops)."""
    rtol, atol = _LOOSE[autocast_dtype]
    compared, failures = 0, []
    for rec in _records():
        for i, sample in enumerate(rec.samples(np.random.default_rng(0))):
            where = f"{rec.name}[{i}]"
            plain_mine = _signature(ember, rec, _inputs(ember, rec, sample, input_dtype))
            plain_ref = _signature(torch, rec, _inputs(torch, rec, sample, input_dtype))
            try:
                _check(plain_mine, plain_ref, rtol, atol, where)
            except AssertionError:
                continue
            compared += 1
            mine = _signature(ember, rec, _inputs(ember, rec, sample, input_dtype),
                              autocast_dtype)
            ref = _signature(torch, rec, _inputs(torch, rec, sample, input_dtype),
                             autocast_dtype)
            try:
                _check(mine, ref, rtol, atol, where, plain_ref)
            except AssertionError as exc:
                lines = [ln for ln in str(exc).splitlines() if ln.strip()]
                failures.append(" ".join([where, *lines[:4]]))
    assert not failures, "\n".join(failures)
    assert compared > 900  # (the sweep cannot pass by comparing nothing)


def test_the_tables_cover_every_listed_op_ember_publishes():
    """Every aten op with an AutocastCPU / AutocastCUDA kernel in PyTorch 2.13 that ember
    publishes under the same name has a policy (NOTE [autocast tables] in _policy.py); the
    ones ember publishes under another name are in ``RENAMED``."""
    from ember import _records

    renamed = {"cross_entropy_loss": [("F", "cross_entropy")],
               "grid_sampler": [("F", "grid_sample")], "_lu_with_info": [("torch", "lu")],
               "nll_loss2d": [("F", "nll_loss")]}
    spaces = {s: _records.namespace(s) for s in ("torch", "Tensor", "F", "linalg", "special")}
    names = torch._C._dispatch_get_all_op_names()
    checked = 0
    for key, device_type in (("AutocastCPU", "cpu"), ("AutocastCUDA", "cuda")):
        listed = {n.split("::")[1].split(".")[0] for n in names
                  if torch._C._dispatch_has_kernel_for_dispatch_key(n, key)}
        for name in sorted(listed):
            pubs = [(s, name) for s in ("torch", "Tensor", "F") if name in spaces[s]]
            for prefix, space in (("linalg_", "linalg"), ("special_", "special")):
                if name.startswith(prefix) and name[len(prefix):] in spaces[space]:
                    pubs.append((space, name[len(prefix):]))
            pubs += renamed.get(name, [])
            for space, attr in pubs:
                checked += 1
                assert _policy.lookup(device_type, space, attr) is not None, \
                    (device_type, space, attr)
    assert checked > 150


# ---- the policies, op by op ------------------------------------------------------------------

def _leaf(m, shape, seed, dtype="float32"):
    data = np.random.default_rng(seed).standard_normal(shape)
    return m.tensor(data, dtype=getattr(m, dtype), requires_grad=True)


def _run_and_grads(m, call, shapes, dtype="float32", autocast_dtype="bfloat16"):
    """``call(m, *leaves)`` under CPU autocast, then backward of its float32 sum: the output
    and each leaf's gradient (their dtypes, values and grad_fn names are compared)."""
    leaves = [_leaf(m, s, k, dtype) for k, s in enumerate(shapes)]
    with m.autocast("cpu", dtype=getattr(m, autocast_dtype)):
        out = call(m, *leaves)
    out.float().sum().backward()
    return out, [leaf.grad for leaf in leaves]


F_ = lambda m: m.nn.functional  # noqa: E731

LOWER = {
    "linear": (lambda m, x, w, b: F_(m).linear(x, w, b), [(4, 3), (5, 3), (5,)]),
    "matmul": (lambda m, x, y: m.matmul(x, y), [(2, 4, 3), (3, 5)]),
    "operator": (lambda m, x, y: x @ y, [(4, 3), (3, 2)]),
    "mm": (lambda m, x, y: m.mm(x, y), [(4, 3), (3, 2)]),
    "bmm": (lambda m, x, y: x.bmm(y), [(2, 4, 3), (2, 3, 2)]),
    "addmm": (lambda m, b, x, y: m.addmm(b, x, y), [(4, 2), (4, 3), (3, 2)]),
    "baddbmm": (lambda m, b, x, y: m.baddbmm(b, x, y, alpha=0.5), [(2, 4, 2), (2, 4, 3),
                                                                     (2, 3, 2)]),
    "conv1d": (lambda m, x, w: F_(m).conv1d(x, w, padding=1), [(2, 3, 8), (4, 3, 3)]),
    "conv2d": (lambda m, x, w, b: F_(m).conv2d(x, w, b, stride=2), [(1, 2, 7, 7), (3, 2, 3, 3),
                                                                    (3,)]),
    "conv_transpose2d": (lambda m, x, w: F_(m).conv_transpose2d(x, w, stride=2),
                         [(1, 2, 4, 4), (2, 3, 3, 3)]),
    "prelu": (lambda m, x, w: F_(m).prelu(x, w), [(2, 3, 4), (3,)]),
    "einsum": (lambda m, x, y: m.einsum("bij,bjk->bik", x, y), [(2, 3, 4), (2, 4, 2)]),
    "tensordot": (lambda m, x, y: m.tensordot(x, y, dims=1), [(2, 3), (3, 4)]),
    "multi_dot": (lambda m, x, y, z: m.linalg.multi_dot([x, y, z]), [(2, 3), (3, 4), (4, 2)]),
}


@pytest.mark.parametrize("autocast_dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", sorted(LOWER))
def test_lower_precision_ops_run_in_the_autocast_dtype(name, autocast_dtype):
    """The matmuls and convolutions: the result in the autocast dtype, its grad_fn the op's,
    the float32 leaves' gradients float32 (they flow back through the casts)."""
    call, shapes = LOWER[name]
    tol = _LOOSE[autocast_dtype]
    same(lambda m: _run_and_grads(m, call, shapes, autocast_dtype=autocast_dtype),
         rtol=tol[0], atol=tol[1])


def test_the_casts_are_recorded_as_to_copy():
    def fn(m):
        x, w = _leaf(m, (2, 3), 0), _leaf(m, (4, 3), 1)
        with m.autocast("cpu"):
            y = F_(m).linear(x, w)
        names = [f.name() if f is not None else None for f, _ in y.grad_fn.next_functions]
        casts = [f for f, _ in y.grad_fn.next_functions if f is not None]
        return y, names, [[g.name() for g, _ in c.next_functions if g] for c in casts]

    same(fn)


FP32 = {
    "mse_loss": (lambda m, x, y: F_(m).mse_loss(x, y), [(3, 4), (3, 4)]),
    "l1_loss": (lambda m, x, y: F_(m).l1_loss(x, y, reduction="sum"), [(3, 4), (3, 4)]),
    "cross_entropy": (lambda m, x: F_(m).cross_entropy(x, m.tensor([0, 2, 1])), [(3, 4)]),
    "nll_loss": (lambda m, x: F_(m).nll_loss(x.log_softmax(1), m.tensor([0, 2, 1])),
                 [(3, 4)]),
    "bce_with_logits": (lambda m, x, y: F_(m).binary_cross_entropy_with_logits(x, y.sigmoid()),
                        [(3, 4), (3, 4)]),
    "kl_div": (lambda m, x, y: F_(m).kl_div(x.log_softmax(1), y.softmax(1),
                                            reduction="batchmean"), [(3, 4), (3, 4)]),
    "prod": (lambda m, x: x.prod(1), [(3, 4)]),
    "cdist": (lambda m, x, y: m.cdist(x, y), [(3, 4), (2, 4)]),
    "trace": (lambda m, x: m.trace(x), [(3, 3)]),
    "pad_reflect": (lambda m, x: F_(m).pad(x, (1, 2), mode="reflect"), [(2, 3, 4)]),
    "max_pool3d": (lambda m, x: F_(m).max_pool3d(x, 2), [(1, 2, 4, 4, 4)]),
}


@pytest.mark.parametrize("name", sorted(FP32))
def test_float32_ops_cast_half_inputs_up(name):
    """Losses, ``prod``, ``cdist``, reflection padding...: a bfloat16 input is cast to float32
    and the result is float32."""
    call, shapes = FP32[name]
    same(lambda m: _run_and_grads(m, call, shapes, dtype="bfloat16"), rtol=3e-2, atol=3e-2)


UNLISTED = {
    # (float32 on CUDA, not on CPU; exp: the gradient of a plain sum of it is zero)
    "layer_norm": lambda m, x: F_(m).layer_norm(x, (4,)).exp(),
    "softmax": lambda m, x: x.softmax(-1),
    "sum": lambda m, x: x.sum(0),
    "exp": lambda m, x: x.exp(),
    "add": lambda m, x: x + x,
    "relu": lambda m, x: F_(m).relu(x),
    "mv": lambda m, x: m.mv(x, x[0]),  # (a matmul on CUDA's list, not on CPU's)
    "einsum_no_contraction": lambda m, x: m.einsum("ij,ij->ij", x, x),
}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("name", sorted(UNLISTED))
def test_unlisted_ops_run_in_their_input_dtype(name, dtype):
    same(lambda m: _run_and_grads(m, lambda m, x: UNLISTED[name](m, x), [(3, 4)], dtype=dtype),
         rtol=3e-2, atol=3e-2)


def test_float64_is_never_cast():
    same(lambda m: _run_and_grads(m, lambda m, x, y: x @ y, [(2, 3), (3, 2)], dtype="float64"))
    same(lambda m: _run_and_grads(m, lambda m, x: F_(m).mse_loss(x, x * 2), [(3,)],
                                  dtype="float64"))


@pytest.mark.parametrize("call", [
    lambda m, a, b: m.cat([a, b]),
    lambda m, a, b: m.cat([b, a]),
    lambda m, a, b: m.stack([a, b]),
    lambda m, a, b: m.hstack([a, b]),
    lambda m, a, b: m.index_copy(a, 0, m.tensor([2, 0]), b[:2]),
    lambda m, a, b: a.index_copy(0, m.tensor([1]), b[:1]),
], ids=["cat", "cat_reversed", "stack", "hstack", "index_copy", "index_copy_method"])
@pytest.mark.parametrize("dtypes", [("bfloat16", "float32"), ("float32", "bfloat16"),
                                    ("bfloat16", "bfloat16"), ("float16", "float32"),
                                    ("float32", "float16"), ("float16", "bfloat16"),
                                    ("float64", "bfloat16"), ("bfloat16", "float64")],
                         ids=lambda d: "-".join(d))
def test_promote_ops_widen_mixed_inputs(call, dtypes):
    """``cat``, ``stack``, ``index_copy`` run in the widest floating type of their arguments
    (float64 does not count), and a half type other than the autocast dtype met before any
    float32 is PyTorch's error."""
    def fn(m):
        a = m.tensor(np.linspace(-1, 1, 3), dtype=getattr(m, dtypes[0]), requires_grad=True)
        b = m.tensor(np.linspace(2, 3, 3), dtype=getattr(m, dtypes[1]), requires_grad=True)
        with m.autocast("cpu"):
            out = call(m, a, b)
        out.float().sum().backward()
        return out, a.grad, b.grad

    same(fn)


def test_out_and_in_place_variants_are_not_cast():
    """PyTorch lists the functional overloads only: ``out=`` and in-place calls run as
    called."""
    def fn(m):
        a, b = m.ones(2, 3), m.ones(3, 2)
        out = m.empty(2, 2)
        with m.autocast("cpu"):
            r = m.mm(a, b, out=out)
            c = m.zeros(2, 2).addmm_(a, b)
        return r, out, c

    same(fn)


def test_integer_and_bool_tensors_are_not_cast():
    same(lambda m: _autocast_call(m, lambda: m.tensor([[1, 2], [3, 4]]) @ m.tensor([1, 1])))


def _autocast_call(m, thunk, **kwargs):
    with m.autocast("cpu", **kwargs):
        return thunk()


# ---- a model --------------------------------------------------------------------------------

def _mlp_step(m, autocast_dtype="bfloat16", backward_inside=False):
    """A small MLP's forward and backward under autocast: outputs, loss and every
    parameter's gradient (float32, as the parameters)."""
    m.manual_seed(0)
    model = m.nn.Sequential(m.nn.Linear(6, 16), m.nn.GELU(), m.nn.LayerNorm(16),
                            m.nn.Linear(16, 16), m.nn.Tanh(), m.nn.Linear(16, 3))
    x = m.randn(8, 6)
    y = m.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    with m.autocast("cpu", dtype=getattr(m, autocast_dtype)):
        logits = model(x)
        loss = m.nn.functional.cross_entropy(logits, y)
        if backward_inside:
            loss.backward()
    if not backward_inside:
        loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    return logits, loss, grads


@pytest.mark.parametrize("autocast_dtype", ["bfloat16", "float16"])
def test_mlp_forward_and_backward(autocast_dtype):
    def fn(m):
        logits, loss, grads = _mlp_step(m, autocast_dtype)
        return logits, loss, grads

    tol = _LOOSE[autocast_dtype]
    same(fn, rtol=tol[0], atol=tol[1])


def test_backward_inside_the_region():
    """``loss.backward()`` inside the region: the backward of each op runs on what its
    forward saved (PyTorch's engine runs CPU backward in the region's thread)."""
    same(lambda m: _mlp_step(m, backward_inside=True), rtol=3e-2, atol=3e-2)


@pytest.mark.parametrize("make", [
    lambda m: (m.nn.LSTM(4, 5), (3, 2, 4)),
    lambda m: (m.nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True), (2, 3, 4)),
    lambda m: (m.nn.LSTM(4, 5, proj_size=2), (3, 2, 4)),
    lambda m: (m.nn.GRU(4, 5), (3, 2, 4)),
    lambda m: (m.nn.RNN(4, 5), (3, 2, 4)),
    lambda m: (m.nn.LSTMCell(4, 5), (2, 4)),
    lambda m: (m.nn.MultiheadAttention(8, 2, batch_first=True), (2, 3, 8)),
    lambda m: (m.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
               (2, 3, 8)),
    lambda m: (m.nn.Sequential(m.nn.Conv2d(2, 3, 3), m.nn.BatchNorm2d(3), m.nn.ReLU(),
                               m.nn.MaxPool2d(2)), (2, 2, 6, 6)),
    lambda m: (m.nn.Bilinear(3, 3, 2), (4, 3)),
], ids=["lstm", "lstm_stacked", "lstm_proj", "gru", "rnn", "lstm_cell", "mha", "encoder",
        "convnet", "bilinear"])
def test_modules_under_autocast(make):
    """What each module gives under CPU autocast: an LSTM layer without projection is
    PyTorch's oneDNN kernel, in the autocast dtype throughout; with a projection, and GRU and
    RNN, the cell steps mix; attention and convolutions follow their ops."""
    def fn(m):
        m.manual_seed(0)
        module, shape = make(m)
        x = m.randn(*shape)
        with m.autocast("cpu"):
            if isinstance(module, m.nn.MultiheadAttention):
                out = module(x, x, x)
            elif isinstance(module, m.nn.Bilinear):
                out = module(x, x.flip(0))
            else:
                out = module(x)
        outs = _flat(out)
        sum(o.float().sum() for o in outs).backward()
        # (detached: under autocast ember composes the LSTM layer PyTorch runs as one oneDNN
        # node, so the outputs' grad_fn names differ; dtypes and values are compared)
        return [o.detach() for o in outs], {n: p.grad for n, p in module.named_parameters()}

    # (PyTorch warns once that oneDNN has no LSTM projections, with or without autocast)
    same(fn, rtol=5e-2, atol=5e-2, warnings_too=False)


@pytest.mark.parametrize("transform", ["vmap", "grad", "jvp", "double_backward"])
def test_with_the_function_transforms(transform):
    """Autocast composes with vmap, ``func.grad``, ``func.jvp`` and double backward (each is
    a mode or a graph over the same cast ops)."""
    def fn(m):
        x = m.tensor(np.arange(12.0).reshape(3, 4) / 7, dtype=m.float32)
        w = m.tensor(np.linspace(-1, 1, 8).reshape(4, 2), dtype=m.float32)
        with m.autocast("cpu"):
            if transform == "vmap":
                return m.vmap(lambda r: r @ w)(x)
            if transform == "grad":
                return m.func.grad(lambda w: (x @ w).float().pow(2).sum())(w)
            if transform == "jvp":
                return m.func.jvp(lambda w: x @ w, (w,), (m.ones_like(w),))
            w.requires_grad_()
            y = (x @ w).float().pow(2).sum()
            g, = m.autograd.grad(y, w, create_graph=True)
            return y, g, m.autograd.grad(g.sum(), w)

    # (PyTorch's jvp warns about torch.jit.script internally)
    same(fn, rtol=3e-2, atol=3e-2, warnings_too=transform != "jvp")


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_recomputes_under_the_forward_autocast_state(reentrant):
    """``utils.checkpoint`` recomputes its region in backward, after the autocast region has
    exited: it re-enters the forward's autocast state, as PyTorch's (the non-reentrant
    variant would otherwise find float32 tensors where bfloat16 ones were saved)."""
    def fn(m):
        m.manual_seed(0)
        lin = m.nn.Linear(3, 4)
        x = m.randn(2, 3, requires_grad=True)

        def body(v):
            return F_(m).linear(v, lin.weight, lin.bias).relu().exp()

        with m.autocast("cpu"):
            y = m.utils.checkpoint.checkpoint(body, x, use_reentrant=reentrant)
        y.float().sum().backward()
        return y, x.grad, lin.weight.grad

    same(fn, rtol=3e-2, atol=3e-2)


# ---- regions: nesting, enabled=False, the decorator, threads -------------------------------

def test_nested_regions():
    def fn(m):
        a, b = m.ones(2, 2), m.ones(2, 2)
        seen = []

        def probe():
            seen.append(((a @ b).dtype, m.is_autocast_enabled("cpu"),
                         m.get_autocast_dtype("cpu")))

        probe()
        with m.autocast("cpu"):
            probe()
            with m.autocast("cpu", enabled=False):
                probe()
                with m.autocast("cpu", dtype=m.float16):
                    probe()
                probe()
            with m.autocast("cpu", dtype=m.float16):
                probe()
                with m.autocast("cpu", dtype=m.float64):  # (warns, disables)
                    probe()
                probe()
            probe()
        probe()
        return seen

    same(fn)


def test_a_failing_region_restores_the_state():
    def fn(m):
        try:
            with m.autocast("cpu"):
                raise ValueError("boom")
        except ValueError:
            pass
        return m.is_autocast_enabled("cpu"), (m.ones(2, 2) @ m.ones(2, 2)).dtype

    same(fn)
    assert autocast_mode._MODE not in _modes.active_modes()


def test_decorator_form():
    def fn(m):
        @m.autocast("cpu")
        def forward(x, w):
            return x @ w, m.is_autocast_enabled("cpu")

        @m.amp.autocast("cpu", enabled=False)
        def plain(x, w):
            return x @ w

        x, w = m.ones(2, 3), m.ones(3, 2)
        with m.autocast("cpu"):
            inner = plain(x, w)
        return forward(x, w), inner, m.is_autocast_enabled("cpu")

    same(fn)
    same(lambda m: m.autocast("cpu")(3))


def test_the_state_is_per_thread():
    def fn(m):
        seen = {}

        def other():
            seen["thread"] = ((m.ones(2, 2) @ m.ones(2, 2)).dtype,
                              m.is_autocast_enabled("cpu"))

        with m.autocast("cpu"):
            t = threading.Thread(target=other)
            t.start()
            t.join()
            seen["main"] = (m.ones(2, 2) @ m.ones(2, 2)).dtype
        return seen

    same(fn)


def test_no_mode_is_active_outside_a_region():
    """Zero cost with autocast off: the mode is on the stack only while some device type's
    autocast is enabled in the thread."""
    assert autocast_mode._MODE not in _modes.active_modes()
    with ember.autocast("cpu"):
        assert autocast_mode._MODE in _modes.active_modes()
        with ember.autocast("cpu", enabled=False):
            assert autocast_mode._MODE not in _modes.active_modes()
        assert autocast_mode._MODE in _modes.active_modes()
    assert autocast_mode._MODE not in _modes.active_modes()
    with pytest.warns(UserWarning, match="CUDA is not available"):
        with ember.autocast("cuda"):
            assert autocast_mode._MODE not in _modes.active_modes()


# ---- the weight cast cache ------------------------------------------------------------------

@pytest.mark.parametrize("cache_enabled", [None, True, False])
def test_a_weight_is_cast_once_per_region(cache_enabled):
    """PyTorch caches the autocast-dtype copy of a float32 leaf that requires grad: two uses
    of a weight share one ToCopyBackward0 node (unless ``cache_enabled=False``), and the cache
    is dropped when the outermost region exits."""
    def fn(m):
        w = _leaf(m, (3, 3), 0)
        x = m.ones(2, 3)
        with m.autocast("cpu", cache_enabled=cache_enabled):
            a, b = x @ w, x @ w
            with m.autocast("cpu"):
                c = x @ w
            inner_cache = m.is_autocast_cache_enabled()
        with m.autocast("cpu", cache_enabled=cache_enabled):
            d = x @ w

        def cast(t):
            return t.grad_fn.next_functions[1][0]
        return (cast(a) is cast(b), cast(a) is cast(c), cast(a) is cast(d), inner_cache,
                m.is_autocast_cache_enabled())

    same(fn)


def test_non_leaf_and_view_weights_are_not_cached():
    def fn(m):
        w = _leaf(m, (3, 3), 0)
        x = m.ones(2, 3)
        with m.autocast("cpu"):
            v = w[:2].t()
            h = w * 2
            return ((x @ v).grad_fn.next_functions[1][0] is
                    (x @ v).grad_fn.next_functions[1][0],
                    (x @ h).grad_fn.next_functions[1][0] is
                    (x @ h).grad_fn.next_functions[1][0])

    same(fn)


# ---- custom Functions ---------------------------------------------------------------------

def _custom_function(m, cast_inputs, device_type="cpu", deprecated=False):
    seen = []
    if deprecated:
        fwd_deco = m.cuda.amp.custom_fwd(cast_inputs=cast_inputs)
        bwd_deco = m.cuda.amp.custom_bwd
    else:
        fwd_deco = m.amp.custom_fwd(device_type=device_type, cast_inputs=cast_inputs)
        bwd_deco = m.amp.custom_bwd(device_type=device_type)

    class MatMul(m.autograd.Function):
        @staticmethod
        @fwd_deco
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            seen.append(("forward", a.dtype, b.dtype, m.is_autocast_enabled(device_type)))
            return a @ b

        @staticmethod
        @bwd_deco
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            seen.append(("backward", g.dtype, m.is_autocast_enabled(device_type),
                         (g @ b.t()).dtype))
            return g @ b.t(), a.t() @ g

    return MatMul, seen


@pytest.mark.parametrize("cast_inputs", [None, "float32", "bfloat16"])
@pytest.mark.parametrize("inside", [True, False])
def test_custom_fwd_and_custom_bwd(cast_inputs, inside):
    """``custom_fwd(cast_inputs=dtype)`` inside a region casts the floating inputs and runs
    forward with autocast off; without ``cast_inputs`` forward runs under the region;
    ``custom_bwd`` runs backward under the state forward ran under (backward here runs after
    the region has exited)."""
    def fn(m):
        fn_cls, seen = _custom_function(
            m, None if cast_inputs is None else getattr(m, cast_inputs))
        a, b = _leaf(m, (2, 3), 0), _leaf(m, (3, 2), 1)
        with m.autocast("cpu", enabled=inside):
            out = fn_cls.apply(a, b)
        out.float().sum().backward()
        return out, a.grad, b.grad, seen

    same(fn)


def test_custom_fwd_arguments():
    same(lambda m: m.amp.custom_fwd(device_type=1))
    same(lambda m: m.amp.custom_bwd(device_type=None))


def test_cuda_custom_fwd_spellings_warn_and_delegate():
    def fn(m):
        fn_cls, seen = _custom_function(m, m.float32, deprecated=True)
        out = fn_cls.apply(_leaf(m, (2, 3), 0), _leaf(m, (3, 2), 1))
        out.sum().backward()
        return out, seen

    same(fn)


# ---- the state functions -------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda m: (m.is_autocast_enabled(), m.is_autocast_enabled("cpu"),
               m.is_autocast_enabled("cuda:0"), m.is_autocast_enabled("mps")),
    lambda m: [m.get_autocast_dtype(d) for d in ("cpu", "cuda", "mps", "xpu", "hpu", "xla")],
    lambda m: m.get_autocast_dtype("meta"),
    lambda m: m.is_autocast_enabled("meta"),
    lambda m: m.is_autocast_enabled("foo"),
    lambda m: m.get_autocast_dtype(1),
    lambda m: m.set_autocast_enabled("cpu", 1),
    lambda m: m.set_autocast_dtype("cpu", "x"),
    lambda m: (m.set_autocast_enabled("cpu", True), m.is_autocast_enabled("cpu"),
               (m.ones(1, 2) @ m.ones(2, 1)).dtype),
    lambda m: (m.set_autocast_enabled(True), m.is_autocast_enabled(),
               m.is_autocast_enabled("cuda")),
    lambda m: (m.set_autocast_dtype("cpu", m.float16), m.get_autocast_dtype("cpu"),
               m.autocast("cpu").fast_dtype),
    lambda m: (m.set_autocast_cpu_enabled(True), m.is_autocast_cpu_enabled(),
               m.get_autocast_cpu_dtype(), m.get_autocast_gpu_dtype()),
    lambda m: (m.set_autocast_cpu_dtype(m.float16), m.set_autocast_gpu_dtype(m.bfloat16),
               m.get_autocast_dtype("cpu"), m.get_autocast_dtype("cuda")),
    lambda m: (m.get_autocast_ipu_dtype(), m.get_autocast_xla_dtype(),
               m.is_autocast_ipu_enabled(), m.is_autocast_xla_enabled()),
    lambda m: (m.is_autocast_cache_enabled(), m.set_autocast_cache_enabled(False),
               m.is_autocast_cache_enabled()),
    lambda m: (m.autocast_increment_nesting(), m.autocast_increment_nesting(),
               m.autocast_decrement_nesting(), m.autocast_decrement_nesting(),
               m.clear_autocast_cache()),
    lambda m: (m.get_autocast_dtype("hip"), m.amp.is_autocast_available("hip")),
    lambda m: m.autocast("hip"),
    lambda m: m.is_autocast_enabled("hip"),
    lambda m: m.autocast("meta"),
    lambda m: m.autocast("xyz"),
    lambda m: m.autocast("cpu", dtype=m.float64).fast_dtype,
    lambda m: m.autocast("mps", dtype=m.float32)._enabled,
    lambda m: (m.autocast("mps").fast_dtype, m.amp.is_autocast_available("mps"),
               m.amp.is_autocast_available("meta")),
], ids=lambda c: "call")
def test_state_functions(call):
    same(call)


def test_cuda_autocast_follows_cuda_is_available(monkeypatch):
    """With CUDA available, ``autocast('cuda')`` enables itself (float16, the CPU path's code)
    and leaves CPU tensors alone; ``GradScaler('cuda')`` stays enabled."""
    monkeypatch.setattr(ember.cuda, "is_available", lambda: True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        region = ember.autocast("cuda")
        scaler = ember.amp.GradScaler("cuda")
    assert region._enabled and scaler.is_enabled()
    with region:
        assert ember.is_autocast_enabled("cuda") and not ember.is_autocast_enabled("cpu")
        assert ember.get_autocast_dtype("cuda") is ember.float16
        assert autocast_mode._MODE in _modes.active_modes()
        assert (ember.ones(2, 2) @ ember.ones(2, 2)).dtype is ember.float32
    monkeypatch.setattr(ember.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    with pytest.raises(RuntimeError, match="does not support bfloat16"):
        ember.autocast("cuda", dtype=ember.bfloat16)
    assert _policy.lookup("cuda", "Tensor", "__matmul__") == _policy.LOWER
    assert _policy.lookup("cuda", "torch", "exp") == _policy.FP32
    assert _policy.lookup("cuda", "F", "softmax") == _policy.FP32_OPT_DTYPE
    assert _policy.lookup("cuda", "F", "binary_cross_entropy") == _policy.BANNED


def test_binary_cross_entropy_is_float32_on_cpu():
    """(Banned under CUDA autocast, as PyTorch's; on CPU it is in the float32 list.)"""
    same(lambda m: _run_and_grads(
        m, lambda m, x, y: F_(m).binary_cross_entropy(x.sigmoid(), y.sigmoid()),
        [(3,), (3,)], dtype="bfloat16"))


# ---- GradScaler --------------------------------------------------------------------------------

def _scaler_loop(m, steps=7, inf_at=(2, 5), autocast=True, init_scale=2.0 ** 10,
                 growth_interval=2):
    """A few mixed-precision training steps with overflowing gradients injected: the loss,
    scale and growth tracker after each step, which steps were skipped, the parameters."""
    m.manual_seed(0)
    model = m.nn.Sequential(m.nn.Linear(4, 8), m.nn.ReLU(), m.nn.Linear(8, 1))
    opt = m.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = m.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=growth_interval)
    x, y = m.randn(16, 4), m.randn(16, 1)
    seen = []
    for step in range(steps):
        opt.zero_grad()
        with m.autocast("cpu", enabled=autocast):
            loss = m.nn.functional.mse_loss(model(x), y)
        scaled = scaler.scale(loss)
        if step in inf_at:
            scaled = scaled * float("inf")
        scaled.backward()
        before = [p.detach().clone() for p in model.parameters()]
        scaler.step(opt)
        skipped = all(bool((p == b).all()) for p, b in zip(model.parameters(), before))
        scaler.update()
        seen.append((loss.detach(), scaler.get_scale(), scaler._get_growth_tracker(), skipped))
    return seen, dict(model.named_parameters()), scaler.state_dict()


@pytest.mark.parametrize("autocast", [True, False])
def test_grad_scaler_training_loop(autocast):
    same(lambda m: _scaler_loop(m, autocast=autocast), rtol=3e-2, atol=3e-2,
         warnings_too=False)


def test_grad_scaler_two_optimizers_and_unscale_clip():
    def fn(m):
        m.manual_seed(0)
        a, b = m.nn.Linear(3, 3), m.nn.Linear(3, 1)
        opt_a, opt_b = m.optim.SGD(a.parameters(), lr=0.1), m.optim.Adam(b.parameters())
        scaler = m.amp.GradScaler("cpu", init_scale=8.0, growth_interval=1)
        x = m.randn(5, 3)
        seen = []
        for step in range(4):
            opt_a.zero_grad()
            opt_b.zero_grad()
            with m.autocast("cpu"):
                loss = b(a(x)).float().pow(2).mean()
            out = scaler.scale(loss * (float("nan") if step == 1 else 1.0))
            out.backward()
            scaler.unscale_(opt_a)
            m.nn.utils.clip_grad_norm_(a.parameters(), 0.5)
            scaler.step(opt_a)
            scaler.step(opt_b)
            scaler.update()
            seen.append(scaler.get_scale())
        return seen, dict(a.named_parameters()), dict(b.named_parameters())

    same(fn, rtol=3e-2, atol=3e-2, warnings_too=False)


@pytest.mark.parametrize("call", [
    lambda m, s, opt: (s.unscale_(opt), s.unscale_(opt)),
    lambda m, s, opt: (s.step(opt), s.unscale_(opt)),
    lambda m, s, opt: (s.step(opt), s.step(opt)),
    lambda m, s, opt: s.step(opt, closure=lambda: None),
    lambda m, s, opt: (s.update(), s.get_scale()),
    lambda m, s, opt: (s.update(2.0), s.get_scale()),
    lambda m, s, opt: s.update(2),
    lambda m, s, opt: (s.update(m.tensor(3.0)), s.get_scale()),
    lambda m, s, opt: s.update(m.tensor([3.0, 1.0])),
    lambda m, s, opt: s.update(m.tensor(3.0, requires_grad=True)),
    lambda m, s, opt: s.step(m.optim.SGD([m.zeros(1, requires_grad=True)], lr=0.1)),
    lambda m, s, opt: (s.unscale_(opt), opt.param_groups[0]["params"][0].grad),
    lambda m, s, opt: list(s.scale(iter([m.ones(1), m.ones(2)]))),
    lambda m, s, opt: s.scale([m.ones(1), (m.ones(1), [m.ones(1)])]),
    lambda m, s, opt: s.scale(3.0),
    lambda m, s, opt: (s.set_growth_factor(3.0), s.set_backoff_factor(0.25),
                       s.set_growth_interval(5), s.get_growth_factor(), s.get_backoff_factor(),
                       s.get_growth_interval(), s.state_dict()),
], ids=lambda c: "call")
def test_grad_scaler_steps_and_errors(call):
    def fn(m):
        w = m.tensor([1.0, -2.0], requires_grad=True)
        opt = m.optim.SGD([w], lr=0.1)
        s = m.amp.GradScaler("cpu", init_scale=4.0)
        s.scale((w * w).sum()).backward()
        return call(m, s, opt), w

    same(fn)


def test_grad_scaler_half_gradients():
    """bfloat16 gradients are unscaled (the product rounded once); float16 ones are refused,
    as PyTorch's."""
    def fn(m, dtype):
        w = m.tensor([1.0, 2.0], dtype=dtype, requires_grad=True)
        opt = m.optim.SGD([w], lr=0.1)
        s = m.amp.GradScaler("cpu", init_scale=3.0)
        s.scale((w * m.tensor([1.1, 0.7], dtype=dtype)).sum()).backward()
        s.unscale_(opt)
        return w.grad

    same(lambda m: fn(m, m.bfloat16))
    same(lambda m: fn(m, m.float16))


def test_grad_scaler_state_dict_and_pickle():
    def fn(m):
        seen, params, state = _scaler_loop(m, steps=4, inf_at=(1,))
        s = m.amp.GradScaler("cpu")
        s.load_state_dict(state)
        clone = pickle.loads(pickle.dumps(s))
        fresh = m.amp.GradScaler("cpu")
        fresh.scale(m.ones(1))
        return (state, s.state_dict(), clone.state_dict(), clone.get_scale(),
                {k: v for k, v in vars(clone).items()
                 if k not in ("_per_optimizer_states", "_scale", "_growth_tracker")},
                pickle.loads(pickle.dumps(fresh)).state_dict())

    same(fn, rtol=3e-2, atol=3e-2, warnings_too=False)


def test_grad_scaler_pickled_mid_iteration_refuses():
    def fn(m):
        w = m.tensor([1.0], requires_grad=True)
        opt = m.optim.SGD([w], lr=0.1)
        s = m.amp.GradScaler("cpu")
        s.scale(w.sum()).backward()
        s.unscale_(opt)
        return pickle.dumps(s)

    same(fn)
