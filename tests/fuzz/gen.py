"""Seeded generator of random ember/PyTorch programs, represented as data.

A ``Program`` is a list of ``Input`` specs (name, shape, dtype, requires_grad and the exact
values, as a float64/int64/bool NumPy array) and a list of ``Step``s, each one line of Python
source (``v3 = torch.sin(x0) * v1``) that refers to earlier names. The same lines run under
``torch`` = PyTorch or ``torch`` = ember (``F`` is ``torch.nn.functional``), print as a runnable
snippet, and shrink by dropping lines or shrinking inputs.

``generate(seed, index)`` is deterministic: it draws 3-12 steps from ``OPS``, the op table. An
``Op`` is a small record: a name, a ``build(g)`` that returns the source of one expression
(or a full statement) from the values available so far, or None when nothing fits, and a
``weight``. New ops are added by appending a record. The generator runs each candidate line on
PyTorch to learn the result's shape/dtype (PyTorch is the spec, so it is also the shape oracle);
a line PyTorch rejects is dropped, or, now and then, kept as the program's last step so that
error classes get compared too.

Avoiding discontinuities (so that differences are real, not rounding at a kink): float inputs
are distinct values of magnitude 0.5-1.5 with random signs (no zeros, no ties, away from the
kinks of relu/abs/sign/floor at 0 and at integers only through the jitter in the 1/256 grid);
index tensors for scatter/index_copy are permutations (no duplicate writes); linalg inputs are
made well conditioned by construction (``tanh(A) + (n+1) I``, ``B B^T + n I``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

FLOATS = ("float16", "float32", "float64")
NAME_RE = re.compile(r"\b([xv]\d+)\b")


@dataclass
class Input:
    name: str
    dtype: str  # numpy/torch dtype name: float16/32/64, int64, int32, bool
    data: np.ndarray  # the exact values (already rounded to dtype)
    requires_grad: bool = False

    @property
    def shape(self):
        return self.data.shape


@dataclass
class Step:
    code: str  # one Python statement
    out: str | None = None  # the name it binds, if any

    def uses(self):
        names = set(NAME_RE.findall(self.code))
        names.discard(self.out)
        if self.out is not None and re.search(rf"\b{self.out}\b", self.code.split("=", 1)[1]):
            names.add(self.out)
        return names


@dataclass
class Program:
    seed: tuple
    inputs: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    raises: bool = False  # the last step raised in PyTorch at generation time

    def source(self, lib="torch"):
        """A runnable snippet (``lib`` is "torch" or "ember")."""
        head = "import torch" if lib == "torch" else "import ember as torch"
        lines = [head, "import numpy as np", "F = torch.nn.functional"]
        for inp in self.inputs:
            vals = repr([float(v) if inp.dtype in FLOATS else (bool(v) if inp.dtype == "bool"
                                                              else int(v))
                         for v in inp.data.ravel()])
            rg = ", requires_grad=True" if inp.requires_grad else ""
            lines.append(f"{inp.name} = torch.tensor(np.array({vals}, dtype='{inp.dtype}')"
                         f".reshape({tuple(inp.shape)}){rg})")
        lines += [s.code for s in self.steps]
        return "\n".join(lines)


# ---------------------------------------------------------------- values


def float_values(rng, shape, dtype):
    """Distinct values of magnitude 0.5-1.5, random signs, exactly representable in dtype."""
    n = int(np.prod(shape, dtype=np.int64))
    grid = 0.5 + rng.choice(256, size=n, replace=n > 256) / 256.0
    if dtype != "float16":
        grid = grid + rng.uniform(0, 1 / 512, size=n)
    vals = grid * rng.choice([-1.0, 1.0], size=n)
    return vals.astype(dtype).reshape(shape)


def make_input(rng, name, shape, dtype, requires_grad=False):
    if dtype in FLOATS:
        data = float_values(rng, shape, dtype)
    elif dtype == "bool":
        data = rng.random(shape) < 0.5
    else:
        data = rng.integers(-6, 7, size=shape).astype(dtype)
    return Input(name, dtype, np.asarray(data), requires_grad and dtype in FLOATS)


# ---------------------------------------------------------------- generation context


class Gen:
    """What a builder sees: the rng, the values so far (run on PyTorch) and helpers."""

    def __init__(self, rng, prog, env, fdtype):
        self.rng = rng
        self.prog = prog
        self.env = env  # name -> torch value
        self.fdtype = fdtype  # the program's main float dtype
        self.added = []  # inputs added by the builder being run

    # -- choosing values
    def names(self, pred=lambda t: True):
        import torch

        def usable(t):
            try:
                return pred(t)
            except RuntimeError:  # (reading grad_fn/is_leaf of a stale multi-output view)
                return False
        return [n for n, t in self.env.items() if isinstance(t, torch.Tensor) and usable(t)]

    def pick(self, pred=lambda t: True, floats=True, min_dim=0, max_numel=10**9):
        def ok(t):
            return ((not floats or t.is_floating_point()) and t.dim() >= min_dim
                    and t.numel() <= max_numel and pred(t))
        names = self.names(ok)
        return names[self.rng.integers(len(names))] if names else None

    def t(self, name):
        return self.env[name]

    def choice(self, seq):
        return seq[self.rng.integers(len(seq))]

    def coin(self, p=0.5):
        return self.rng.random() < p

    def dim(self, name, allow_none=False):
        d = self.t(name).dim()
        if d == 0:
            return self.choice([0, -1]) if not allow_none else None
        return int(self.rng.integers(-d, d))

    # -- new values
    def new_input(self, shape, dtype=None, requires_grad=True):
        dtype = dtype or self.fdtype
        name = f"x{len(self.prog.inputs) + len(self.added)}"
        inp = make_input(self.rng, name, tuple(shape), dtype, requires_grad)
        self.added.append(inp)
        import torch
        self.env[name] = torch.tensor(inp.data.copy(), requires_grad=inp.requires_grad)
        return name

    def ints(self, values):
        return f"torch.tensor({list(map(int, values))})"

    def index_tensor(self, shape, high):
        vals = self.rng.integers(0, max(high, 1), size=shape)
        return f"torch.tensor({vals.tolist()})"

    def perm_index(self, n, k):
        """k distinct indices < n (no duplicate writes)."""
        return self.ints(self.rng.permutation(n)[:k])


# ---------------------------------------------------------------- the op table


@dataclass
class Op:
    name: str
    build: object  # Gen -> str (an expression, or "stmt:<statement>") or None
    weight: float = 1.0


OPS: list[Op] = []


def op(name, weight=1.0):
    def deco(fn):
        OPS.append(Op(name, fn, weight))
        return fn
    return deco


# NOTE: ops with a restricted domain mostly get an argument inside it: NaNs from log(-x) would
# otherwise flood every later gradient; one time in five they get the raw value (NaN handling
# is compared too).
_DOMAIN = {"sqrt": "{a}.abs()", "log": "{a}.abs()", "rsqrt": "{a}.abs()", "log2": "{a}.abs()",
           "log1p": "{a}.abs()", "logit": "torch.sigmoid({a})"}


def _unary(name, tmpl):
    def build(g):
        a = g.pick()
        if a is None:
            return None
        if name in _DOMAIN and g.coin(0.8):
            a = _DOMAIN[name].format(a=a)
        return tmpl.format(a=a)
    OPS.append(Op(name, build))


for _n in ["sin", "cos", "tanh", "sigmoid", "exp", "neg", "abs", "sqrt", "log", "reciprocal",
           "square", "rsqrt", "erf", "expm1", "log1p", "relu", "floor", "round", "sign",
           "trunc", "frac", "atan", "asinh", "sinh", "log2", "erfc", "logit", "sinc", "deg2rad"]:
    _unary(_n, f"torch.{_n}({{a}})")
for _n, _t in [("clamp", "{a}.clamp(-0.7, 0.9)"), ("clamp_min", "{a}.clamp(min=0.3)"),
               ("pow_scalar", "{a}.abs() ** 1.5"), ("rpow", "2 ** {a}"),
               ("half_cast", "{a}.half()"),
               ("double_cast", "{a}.double()"), ("float_cast", "{a}.float()"),
               ("to_int", "{a}.to(torch.int64)"), ("nan_to_num", "torch.nan_to_num({a}.log())"),
               ("F.gelu", "F.gelu({a})"), ("F.gelu_tanh", "F.gelu({a}, approximate='tanh')"),
               ("F.silu", "F.silu({a})"), ("F.elu", "F.elu({a})"), ("F.selu", "F.selu({a})"),
               ("F.celu", "F.celu({a}, 0.7)"), ("F.leaky_relu", "F.leaky_relu({a}, 0.1)"),
               ("F.hardtanh", "F.hardtanh({a})"), ("F.softplus", "F.softplus({a}, beta=2)"),
               ("F.mish", "F.mish({a})"), ("F.hardswish", "F.hardswish({a})"),
               ("F.hardsigmoid", "F.hardsigmoid({a})"), ("F.logsigmoid", "F.logsigmoid({a})"),
               ("F.softsign", "F.softsign({a})"), ("F.relu6", "F.relu6({a} * 4)"),
               ("F.tanhshrink", "F.tanhshrink({a})"), ("F.hardshrink", "F.hardshrink({a}, 0.3)"),
               ("F.softshrink", "F.softshrink({a}, 0.3)"),
               ("F.threshold", "F.threshold({a}, 0.2, -1.0)"),
               ("F.dropout0", "F.dropout({a}, 0.0)")]:
    _unary(_n, _t)


def _other(g, a):
    """A second operand for a binary op with `a`: a broadcast-compatible value, a Python scalar
    or a fresh input of a broadcastable shape."""
    ta = g.t(a)
    r = g.rng.random()
    if r < 0.2:
        return g.choice(["2", "-1.5", "True", "3", "0.5"])
    if r < 0.6:
        cands = g.names(lambda t: _broadcasts(t.shape, ta.shape))
        cands = [c for c in cands if c != a] or cands
        if cands:
            return g.choice(cands)
    shape = [d if g.coin(0.7) else 1 for d in ta.shape]
    shape = shape[int(g.rng.integers(0, len(shape) + 1)):] if g.coin(0.3) else shape
    dt = g.choice([g.fdtype] * 4 + ["int64", "bool", "float64", "float32"])
    return g.new_input(shape, dt)


def _broadcasts(s1, s2):
    for a, b in zip(reversed(s1), reversed(s2)):
        if a != b and a != 1 and b != 1:
            return False
    return True


def _binary(name, tmpl, weight=1.0):
    def build(g):
        a = g.pick(floats=g.coin(0.85))
        if a is None:
            return None
        return tmpl.format(a=a, b=_other(g, a))
    OPS.append(Op(name, build, weight))


for _n, _t in [("add", "{a} + {b}"), ("sub", "torch.sub({a}, {b}, alpha=2)"), ("mul", "{a} * {b}"),
               ("div", "{a} / {b}"), ("rsub", "{b} - {a}"), ("maximum", "torch.maximum({a}, {b})"),
               ("minimum", "torch.minimum({a}, {b})"), ("pow", "{a}.abs() ** {b}"),
               ("atan2", "torch.atan2({a}, {b})"), ("hypot", "torch.hypot({a}, {b})"),
               ("fmod", "torch.fmod({a}, {b})"), ("remainder", "torch.remainder({a}, {b})"),
               ("floor_divide", "torch.floor_divide({a}, {b})"),
               ("gt", "{a} > {b}"), ("le", "{a} <= {b}"), ("eq", "torch.eq({a}, {b})"),
               ("logical_and", "torch.logical_and({a}, {b})"),
               ("xlogy", "torch.xlogy({a}, {b}.abs())"), ("lerp", "torch.lerp({a}, {b}, 0.3)"),
               ("copysign", "torch.copysign({a}, {b})"), ("logaddexp", "torch.logaddexp({a}, {b})"),
               ("addcmul", "torch.addcmul({a}, {b}, {a}, value=0.5)"),
               ("where", "torch.where({a} > 0, {a}, {b})"),
               ("mse", "F.mse_loss({a}, {b})"), ("l1", "F.l1_loss({a}, {b}, reduction='sum')"),
               ("smooth_l1", "F.smooth_l1_loss({a}, {b}, beta=0.5)"),
               ("huber", "F.huber_loss({a}, {b}, reduction='none')")]:
    _binary(_n, _t, 1.5 if _n in ("add", "mul", "sub", "div") else 1.0)


# -- reductions


# NOTE [median of an expanded tensor]: PyTorch's ``median(dim)`` along a dim of stride 0 (an
# ``expand``) reads past the data (``x.expand(2, 4, 1).median(0)`` gives 6e-322 for one
# element): a PyTorch bug, so median never draws such an input.
_STRIDE0_BUGGY = ("median_dim",)


def _red(name, tmpl, floats=True):
    def build(g):
        a = g.pick(floats=floats, pred=(lambda t: 0 not in t.stride())
                   if name in _STRIDE0_BUGGY else (lambda t: True))
        if a is None:
            return None
        d = g.dim(a)
        kd = g.coin()
        return tmpl.format(a=a, d=d, kd=kd)
    OPS.append(Op(name, build))


for _n, _t in [("sum", "{a}.sum()"), ("sum_dim", "{a}.sum({d}, keepdim={kd})"),
               ("mean", "{a}.mean({d}, keepdim={kd})"), ("mean_all", "torch.mean({a})"),
               ("prod", "{a}.prod({d}, keepdim={kd})"), ("amax", "{a}.amax({d}, keepdim={kd})"),
               ("amin", "torch.amin({a}, ({d},))"), ("max_dim", "{a}.max({d}, keepdim={kd})[0]"),
               ("min_dim_idx", "{a}.min({d})[1]"), ("max_all", "{a}.max()"),
               ("std", "{a}.std({d}, keepdim={kd})"), ("var", "torch.var({a}, {d}, correction=0)"),
               ("logsumexp", "torch.logsumexp({a}, {d}, keepdim={kd})"),
               ("norm", "{a}.norm()"), ("norm_dim", "torch.norm({a}, dim={d}, keepdim={kd})"),
               ("vector_norm", "torch.linalg.vector_norm({a}, ord=3, dim={d})"),
               ("argmax", "{a}.argmax({d})"), ("any", "({a} > 0).any({d})"),
               ("nansum", "{a}.nansum({d})"), ("var_mean", "torch.var_mean({a}, {d})[0]"),
               ("median_dim", "{a}.median({d})[0]"), ("aminmax", "torch.aminmax({a}, dim={d})[1]"),
               ("count_nonzero", "torch.count_nonzero({a} > 0, {d})"),
               ("sum_int", "{a}.sum({d})")]:
    _red(_n, _t, floats=_n != "sum_int")

# -- scans and sorting
for _n, _t in [("cumsum", "{a}.cumsum({d})"), ("cumprod", "torch.cumprod({a}, {d})"),
               ("cummax", "{a}.cummax({d})[0]"), ("cummin", "torch.cummin({a}, {d})[0]"),
               ("logcumsumexp", "torch.logcumsumexp({a}, {d})"),
               ("sort", "{a}.sort({d}, descending={kd})[0]"), ("sort_idx", "{a}.sort({d})[1]"),
               ("argsort", "torch.argsort({a}, {d})"), ("msort", "torch.msort({a})"),
               ("softmax", "torch.softmax({a}, {d})"), ("log_softmax", "F.log_softmax({a}, {d})"),
               ("softmin", "F.softmin({a}, {d})"), ("flip", "{a}.flip({d})"),
               ("roll", "torch.roll({a}, 1, {d})"), ("cumsum_int", "{a}.int().cumsum({d})")]:
    _red(_n, _t)


@op("topk")
def _topk(g):
    a = g.pick(min_dim=1)
    if a is None:
        return None
    d = g.dim(a)
    n = g.t(a).shape[d]
    k = int(g.rng.integers(0, n + 1))
    return f"torch.topk({a}, {k}, dim={d}, largest={g.coin()})[{g.choice([0, 0, 1])}]"


@op("kthvalue")
def _kth(g):
    a = g.pick(min_dim=1, pred=lambda t: t.numel() > 0)
    if a is None:
        return None
    d = g.dim(a)
    k = int(g.rng.integers(1, g.t(a).shape[d] + 1))
    return f"{a}.kthvalue({k}, {d})[0]"


# -- matmul / einsum


@op("matmul", 2)
def _matmul(g):
    a = g.pick(min_dim=1)
    if a is None:
        return None
    ta = g.t(a)
    cands = g.names(lambda t: t.is_floating_point() and t.dim() >= 1 and (
        (t.dim() == 1 and t.shape[0] == ta.shape[-1]) or
        (t.dim() >= 2 and t.shape[-2] == ta.shape[-1])))
    if cands and g.coin(0.6):
        return f"torch.matmul({a}, {g.choice(cands)})"
    if ta.dim() >= 2 and g.coin():
        return f"{a} @ {a}.mT"
    shape = (ta.shape[-1], int(g.rng.integers(0, 4)))[: 1 if g.coin(0.2) else 2]
    return f"{a} @ {g.new_input(shape)}"


@op("einsum")
def _einsum(g):
    a = g.pick(min_dim=1, pred=lambda t: t.dim() <= 3)
    if a is None:
        return None
    d = g.t(a).dim()
    letters = "ijk"[:d]
    eq = g.choice([f"{letters},{letters}->{letters[::-1]}", f"{letters}->",
                   f"...{letters[-1]},...{letters[-1]}->..."])
    if d >= 2 and g.t(a).shape[-1] == g.t(a).shape[-2] and g.coin():
        eq = "...ii->...i"
        return f"torch.einsum('{eq}', {a})"
    if eq.count(",") == 0:
        return f"torch.einsum('{eq}', {a})"
    return f"torch.einsum('{eq}', {a}, {a}.exp())"


@op("bmm")
def _bmm(g):
    a = g.pick(pred=lambda t: t.dim() == 3)
    return a and f"torch.bmm({a}, {a}.transpose(1, 2))"


@op("addmm")
def _addmm(g):
    a = g.pick(pred=lambda t: t.dim() == 2)
    return a and f"torch.addmm({a}.sum(0), {a}.T, {a}, beta=0.5)"


# -- indexing


@op("index_basic", 2)
def _index_basic(g):
    a = g.pick(floats=g.coin(0.9), min_dim=1)
    if a is None:
        return None
    n = g.t(a).shape[0]
    return g.choice([f"{a}[{max(n - 1, 0)}]" if n else f"{a}[1:]", f"{a}[1:]", f"{a}[..., ::2]",
                     f"{a}[:, None]", f"{a}[None, ..., -1:]", f"{a}[-1]" if n else f"{a}[:0]"])


@op("index_adv")
def _index_adv(g):
    a = g.pick(min_dim=1)
    if a is None:
        return None
    n = g.t(a).shape[0]
    idx = (g.index_tensor((int(g.rng.integers(0, 4)),), n) if n
           else "torch.tensor([], dtype=torch.int64)")
    return g.choice([f"{a}[{idx}]", f"{a}[..., {idx}]" if g.t(a).shape[-1] == n else f"{a}[{idx}]"])


@op("index_bool")
def _index_bool(g):
    a = g.pick()
    if a is None:
        return None
    masks = g.names(lambda t: t.dtype.is_floating_point is False and str(t.dtype) == "torch.bool"
                    and t.shape == g.t(a).shape)
    m = g.choice(masks) if masks else f"({a} > 0)"
    return f"{a}[{m}]"


@op("masked_select")
def _masked_select(g):
    a = g.pick()
    return a and f"torch.masked_select({a}, {a}.detach() < 0.2)"


# -- views and in-place ops


@op("clone_nonleaf", 3)
def _mul1(g):
    a = g.pick()
    return a and g.choice([f"{a} * 1", f"{a}.clone()", f"{a} + 0"])


def _layout_free(g):
    """Whether every value so far is laid out the same in ember as in PyTorch (NOTE
    [layout])."""
    import torch

    return all(t.is_contiguous() for t in g.env.values() if isinstance(t, torch.Tensor))


# NOTE [layout]: output strides differ between the libraries once a permuted tensor exists:
# PyTorch's elementwise ops keep a transposed input's layout where its scans return row-major
# outputs, NumPy (so ember) keeps the input's layout for both (about 130 ops of the op table
# differ on a transposed input). Strides are unspecified behaviour in PyTorch's documentation,
# but they decide whether ``reshape``/``flatten`` return a view (an in-place op on it then
# reaches the original) or a copy, and whether ``view`` raises. Those ops are drawn only while
# every value of the program is contiguous in PyTorch: row-major inputs and ops on them give
# row-major outputs in both libraries, and views of them have the same strides.
def _view_of(g, a):
    t = g.t(a)
    opts = [f"{a}.unsqueeze(0)"]
    if _layout_free(g):
        opts += [f"{a}.view(-1)", f"{a}.reshape(-1)", f"{a}.flatten()"]
    if t.dim() >= 2:
        opts += [f"{a}.transpose(0, 1)", f"{a}.t()" if t.dim() == 2 else f"{a}.mT",
                 f"{a}.permute({tuple(reversed(range(t.dim())))})", f"{a}.diagonal()",
                 f"{a}.unbind(1)[0]", f"{a}.select(-1, 0)" if t.shape[-1] else f"{a}.mT"]
    if t.dim() >= 1:
        opts += [f"{a}[0]" if t.shape[0] else f"{a}[1:]", f"{a}.narrow(0, 0, {t.shape[0] // 2})",
                 f"{a}.expand(2, *{a}.shape)", f"{a}.split(2, 0)[0]" if t.shape[0] else f"{a}[:]",
                 f"{a}.chunk(2, -1)[-1]" if t.shape[-1] else f"{a}[...]",
                 f"{a}[::2]"]
        if _layout_free(g):
            opts.append(f"{a}.unflatten(-1, ({t.shape[-1]}, 1))")
    if 1 in t.shape:
        opts.append(f"{a}.squeeze()")
    return g.choice(opts)


@op("view", 3)
def _view(g):
    a = g.pick(floats=g.coin(0.9))
    return a and _view_of(g, a)


_INPLACE = ["add_(1)", "mul_(2)", "sigmoid_()", "clamp_(-0.5, 0.8)", "sub_({b})", "mul_({b})",
            "exp_()", "copy_({b})", "masked_fill_({m}, 0.25)", "div_(3)", "neg_()",
            "relu_()", "tanh_()", "pow_(2)", "addcmul_({b}, {b})", "lerp_({b}, 0.5)"]


def _overlaps(u, t):
    """Whether ``u`` shares memory with ``t`` without being ``t`` (NOTE [overlap])."""
    return u is not t and u.untyped_storage().data_ptr() == t.untyped_storage().data_ptr()


# NOTE [overlap]: an in-place op whose other operand is a different view of the memory it
# writes (``v.mul_(v.diagonal())``) has no defined result: PyTorch refuses it only when both
# are dense ("unsupported operation: some elements of the input tensor and the written-to
# tensor refer to a single memory location") and otherwise reads values its own loop has
# already overwritten, where NumPy (so ember) reads them as they were. Such operands are not
# drawn; the same tensor on both sides (``v.mul_(v)``) is.
# NOTE [tangent aliasing]: ``frac(x)``'s tangent is ``x``'s tangent itself in PyTorch when the
# two tensors' storages have the same size, and a copy otherwise (its ``has_same_meta`` check:
# a 0-d loss output sits in a 2-element storage, so ``frac(smooth_l1_loss(...))`` copies where
# ``frac(x.mean())`` shares), so an in-place op on ``x`` afterwards changes ``frac(x)``'s tangent
# or not by an internal storage size. ember always shares. In-place ops are not drawn on such
# an ``x`` (or a view of it).
_SHARES_TANGENT = re.compile(r"torch\.frac\((\w+)\)")


def _tangent_shared(g, t):
    for step in g.prog.steps:
        for name in _SHARES_TANGENT.findall(step.code):
            x = g.env.get(name)
            if x is not None and (x is t or _overlaps(x, t)):
                return True
    return False


@op("inplace", 3)
def _inplace(g):
    a = g.pick(pred=lambda t: (not (t.is_leaf and t.requires_grad) or g.coin(0.05))
               and not _tangent_shared(g, t))
    if a is None:
        return None
    t = g.t(a)
    target = a
    if g.coin(0.5) and t.dim() >= 1:
        target = _view_of(g, a)
    b = g.pick(pred=lambda u: u.dim() <= t.dim() and _broadcasts(u.shape, t.shape)
               and all(x == 1 or x == y for x, y in zip(reversed(u.shape), reversed(t.shape)))
               and not _overlaps(u, t))
    b = b or "0.5"
    m = f"({a}.detach() > 0.3)" if g.coin() else f"({a}.detach()[0] > 0.3)" if t.dim() else "True"
    meth = g.choice(_INPLACE).format(b=b, m=m)
    return f"({target}).{meth}"


@op("setitem")
def _setitem(g):
    a = g.pick(min_dim=1, pred=lambda t: (not t.is_leaf or not t.requires_grad)
               and not _tangent_shared(g, t))
    if a is None:
        return None
    t = g.t(a)
    b = g.pick(pred=lambda u: _broadcasts(u.shape, t.shape[1:]) and u.dim() < t.dim()
               and not _overlaps(u, t))
    val = b or g.choice(["1.5", "-2"])
    n = t.shape[0]
    key = g.choice(["0", "1:", "...,0", f"{g.perm_index(max(n, 1), min(n, 2))}" if n else ":"])
    if key == "...,0":
        val = "0.75"
    return f"stmt:{a}[{key}] = {val}"


@op("index_put_")
def _index_put(g):
    a = g.pick(min_dim=1, pred=lambda t: not t.is_leaf and t.shape[0] > 0
               and not _tangent_shared(g, t))
    if a is None:
        return None
    n = g.t(a).shape[0]
    return f"{a}.index_put_(({g.perm_index(n, min(n, 2))},), torch.tensor(0.5, dtype={a}.dtype), " \
           f"accumulate={g.coin()})"


# -- joining and splitting


@op("cat", 2)
def _cat(g):
    a = g.pick(floats=g.coin(0.9))
    if a is None:
        return None
    t = g.t(a)
    if t.dim() == 0:
        return f"torch.stack([{a}, {a} * 2])"
    d = g.dim(a)
    shape = list(t.shape)
    shape[d] = int(g.rng.integers(0, 3))
    other = g.new_input(shape, g.choice([str(t.dtype).split(".")[1]] * 3 + ["float64"]))
    return g.choice([f"torch.cat([{a}, {other}], {d})", f"torch.cat(({other}, {a}, {a}), dim={d})",
                     f"torch.stack([{a}, {a}.exp()], {d})", f"torch.hstack([{a}, {a}])",
                     f"torch.concat([{a}], {d})"])


@op("split")
def _split(g):
    a = g.pick(min_dim=1)
    if a is None:
        return None
    d = g.dim(a)
    return g.choice([f"torch.split({a}, 2, {d})[-1]", f"{a}.chunk(3, {d})[0]",
                     f"{a}.tensor_split(2, {d})[1]", f"torch.unbind({a}, {d})[0]"])


@op("shape_misc")
def _shape_misc(g):
    a = g.pick(min_dim=1)
    if a is None:
        return None
    return g.choice([f"{a}.repeat(2, *([1] * {a}.dim()))", f"torch.tile({a}, (2,))",
                     f"{a}.repeat_interleave(2, dim=-1)", f"torch.movedim({a}, 0, -1)",
                     f"torch.tril({a}.reshape(-1, 1) * {a}.reshape(1, -1))", f"{a}.triu(1)" if
                     g.t(a).dim() >= 2 else f"torch.diag({a})", f"torch.rot90({a}.reshape(1, -1))",
                     f"torch.outer({a}.flatten(), {a}.flatten()[:3])", f"torch.diag_embed({a})",
                     f"F.pad({a}, (1, 2))", f"F.pad({a}, (1, 1), value=0.5)"])


# -- gather / scatter / index ops


def _idx_like(g, t, d, shape=None, high=None):
    shape = list(shape if shape is not None else t.shape)
    return g.index_tensor(shape, t.shape[d] if high is None else high)


@op("gather")
def _gather(g):
    a = g.pick(min_dim=1, pred=lambda t: t.numel() > 0)
    if a is None:
        return None
    t = g.t(a)
    d = g.dim(a)
    shape = list(t.shape)
    shape[d] = int(g.rng.integers(0, 4))
    return f"torch.gather({a}, {d}, {_idx_like(g, t, d, shape)})"


@op("scatter")
def _scatter(g):
    a = g.pick(pred=lambda t: t.dim() == 2 and t.numel() > 0)
    if a is None:
        return None
    t = g.t(a)
    n, m = t.shape
    # each column gets a permutation of rows: no two writes to one place
    k = int(g.rng.integers(1, n + 1))
    idx = np.stack([g.rng.permutation(n)[:k] for _ in range(m)], 1)
    src = g.pick(pred=lambda u: u.shape == (k, m)) or f"{a}[:{k}].exp()"
    idx_s = f"torch.tensor({idx.tolist()})"
    return g.choice([f"torch.scatter({a}, 0, {idx_s}, {src})",
                     f"{a}.scatter_add(0, {idx_s}, {src})",
                     f"torch.scatter_reduce({a}, 0, {idx_s}, {src}, "
                     f"'{g.choice(['sum', 'amax', 'mean', 'prod'])}', include_self={g.coin()})",
                     f"({a} * 1).scatter_(0, {idx_s}, 0.5)"])


@op("index_select")
def _index_select(g):
    a = g.pick(min_dim=1)
    if a is None:
        return None
    t = g.t(a)
    d = g.dim(a)
    n = t.shape[d]
    idx = (g.index_tensor((int(g.rng.integers(0, 4)),), n) if n
           else "torch.tensor([], dtype=torch.long)")
    return f"torch.index_select({a}, {d}, {idx})"


@op("index_add")
def _index_add(g):
    a = g.pick(min_dim=1, pred=lambda t: t.numel() > 0)
    if a is None:
        return None
    t = g.t(a)
    n = t.shape[0]
    k = int(g.rng.integers(1, n + 1))
    src = g.new_input((k,) + tuple(t.shape[1:]), str(t.dtype).split(".")[1])
    return g.choice([f"{a}.index_add(0, {g.index_tensor((k,), n)}, {src}, alpha=2)",
                     f"{a}.index_copy(0, {g.perm_index(n, k)}, {src})",
                     f"torch.index_fill({a}, 0, {g.perm_index(n, k)}, -0.5)",
                     f"torch.take({a}, {g.index_tensor((3,), t.numel())})"])


@op("masked_fill", 1.5)
def _masked_fill(g):
    a = g.pick(floats=g.coin(0.9))
    if a is None:
        return None
    return g.choice([f"{a}.masked_fill({a} > 0.5, 0.125)",
                     f"torch.where({a} < 0, {a} ** 2, {a}.exp())",
                     f"torch.where({a} > 0, {a}, 0.5)",
                     f"{a}.masked_fill(torch.tensor(True), -1.0)",
                     f"torch.masked_scatter({a}, {a} > 0, {a}.flip(list(range({a}.dim()))) * 2)"])


# -- nn.functional with parameters


@op("F.linear")
def _linear(g):
    a = g.pick(min_dim=1)
    if a is None:
        return None
    k = g.t(a).shape[-1]
    out = int(g.rng.integers(0, 4))
    w = g.new_input((out, k))
    b = g.new_input((out,)) if g.coin() else "None"
    return f"F.linear({a}, {w}, {b})"


@op("F.conv")
def _conv(g):
    fd = g.fdtype
    if g.coin():
        x = g.new_input((int(g.rng.integers(1, 3)), 2, int(g.rng.integers(3, 7))), fd)
        w = g.new_input((int(g.rng.integers(1, 4)), 2 // (grp := g.choice([1, 2])), 2), fd)
        return g.choice([f"F.conv1d({x}, {w}, stride={g.choice([1, 2])}, padding=1, groups={grp})",
                         f"F.conv1d({x}, {w}, dilation=2, groups={grp})"])
    x = g.new_input((1, 2, int(g.rng.integers(3, 6)), int(g.rng.integers(3, 6))), fd)
    w = g.new_input((3, 2, 2, 2), fd)
    b = g.new_input((3,), fd)
    return g.choice([f"F.conv2d({x}, {w}, {b}, padding=1)", f"F.conv2d({x}, {w}, stride=2)",
                     f"F.conv_transpose2d({x}, {w}.transpose(0, 1), stride=2)"])


@op("F.pool")
def _pool(g):
    a = g.pick(pred=lambda t: t.dim() in (2, 3) and t.shape[-1] >= 2)
    if a is None:
        return None
    if g.coin() and g.t(a).dim() == 3 and g.t(a).shape[-2] >= 2:
        return g.choice([f"F.max_pool2d({a}, 2)", f"F.avg_pool2d({a}, 2, stride=1)",
                         f"F.adaptive_avg_pool2d({a}, 1)",
                         f"F.max_pool2d({a}, 2, stride=1, padding=1)"])
    return g.choice([f"F.max_pool1d({a}, 2)", f"F.avg_pool1d({a}, 2, stride=1, padding=1)",
                     f"F.adaptive_max_pool1d({a}, 1)", f"F.lp_pool1d({a}, 2, 2)"])


@op("F.norm")
def _norms(g):
    a = g.pick(min_dim=1)
    if a is None:
        return None
    t = g.t(a)
    last = t.shape[-1]
    opts = [f"F.layer_norm({a}, ({last},))",
            f"F.layer_norm({a}, ({last},), {g.new_input((last,))}, {g.new_input((last,))})",
            f"F.normalize({a}, dim=-1)", f"F.rms_norm({a}, ({last},))"]
    if t.dim() >= 2:
        opts += [f"F.batch_norm({a}, None, None, training=True)",
                 f"F.group_norm({a}, 1)", f"F.instance_norm({a}.unsqueeze(0))"]
    return g.choice(opts)


@op("F.loss", 2)
def _loss(g):
    a = g.pick(min_dim=1)
    if a is None:
        return None
    t = g.t(a)
    red = g.choice(["'mean'", "'sum'", "'none'"])
    if t.dim() == 2 and g.coin(0.6):
        n, c = t.shape
        tgt = g.index_tensor((n,), c)
        # (multi_margin_loss of an empty batch: PyTorch's mean/sum read uninitialised memory,
        # 6.9e-310 one call and 0 the next, so there is nothing to compare)
        margin = [f"F.multi_margin_loss({a}, {tgt})"] if n else []
        return g.choice([f"F.cross_entropy({a}, {tgt}, reduction={red})",
                         f"F.nll_loss(F.log_softmax({a}, 1), {tgt})",
                         f"F.cross_entropy({a}, {tgt}, label_smoothing=0.1)",
                         f"F.cross_entropy({a}, torch.softmax({a}.detach() * 2, 1))", *margin])
    b = g.pick(pred=lambda u: u.shape == t.shape) or a
    return g.choice([f"F.binary_cross_entropy(torch.sigmoid({a}), torch.sigmoid({b}), "
                     f"reduction={red})",
                     f"F.binary_cross_entropy_with_logits({a}, torch.sigmoid({b}).detach())",
                     f"F.kl_div(F.log_softmax({a}, -1), F.softmax({b}, -1), reduction='batchmean')",
                     f"F.soft_margin_loss({a}, torch.sign({b}).detach())",
                     f"F.cosine_similarity({a}, {b}, dim=-1)",
                     f"F.pairwise_distance({a}, {b})",
                     f"F.poisson_nll_loss({a}, {b}.abs())",
                     f"F.gaussian_nll_loss({a}, {b}, {a}.abs() + 0.1)",
                     f"F.margin_ranking_loss({a}, {b}, torch.sign({a}).detach())",
                     f"F.hinge_embedding_loss({a}, torch.sign({b}).detach())"])


@op("F.misc")
def _fmisc(g):
    a = g.pick(min_dim=1)
    if a is None:
        return None
    t = g.t(a)
    opts = [f"F.glu({a}, -1)" if t.shape[-1] % 2 == 0 else f"F.softmax({a}, -1)",
            f"F.embedding({g.index_tensor((3,), t.shape[0])}, {a}.reshape({t.shape[0]}, -1))"
            if t.shape[0] else f"F.relu({a})",
            f"F.prelu({a}, torch.tensor([0.25], dtype={a}.dtype))",
            f"F.scaled_dot_product_attention({a}, {a}, {a})" if t.dim() >= 2 else f"F.elu({a})",
            f"F.interpolate({a}.reshape(1, 1, -1), scale_factor=2, mode='linear')",
            f"F.one_hot({g.index_tensor((3,), 4)}, 4).to({a}.dtype) * {a}.sum()"]
    return g.choice(opts)


# -- linalg on well-conditioned inputs


@op("linalg", 2)
def _linalg(g):
    n = int(g.rng.integers(1, 4))
    a = g.pick(pred=lambda t: t.dim() >= 2 and t.shape[-1] == t.shape[-2] and t.shape[-1] > 0)
    if a is None:
        a = g.new_input((n, n) if g.coin(0.7) else (2, n, n))
    n = g.t(a).shape[-1]
    dt = f"{a}.dtype"
    wc = f"({a}.tanh() + {n + 1} * torch.eye({n}, dtype={dt}))"  # diagonally dominant
    spd = f"({a} @ {a}.mT + {n} * torch.eye({n}, dtype={dt}))"
    # NOTE [distinct spectra]: derivatives through singular vectors and eigenvectors (second
    # order of svdvals/eigvalsh, eigh) divide by differences of singular values/eigenvalues; a
    # saturated tanh makes wc's repeated (ones + 5I), where LAPACK's last bits decide inf * 0
    # (PyTorch's documented instability). These ops get matrices whose spectra are spread
    # further apart than any entry's perturbation can move them (Weyl).
    spread = f"torch.diag(torch.arange(1, {n + 1}, dtype={dt}) * {2 * n + 2})"
    wcs = f"({a}.tanh() + {spread})"
    spds = f"({a}.tanh() @ {a}.tanh().mT + {spread})"
    # NOTE: PyTorch's CPU matrix_exp in float16/bfloat16 is garbage (exp(I) = -20896 I); ember
    # raises "Low precision dtypes not supported" there instead: the generator exponentiates
    # a float16 matrix in float32
    mexp = f"{a}.float()" if str(g.t(a).dtype) == "torch.float16" else a
    return g.choice([f"torch.linalg.inv({wc})", f"torch.linalg.det({wc})",
                     f"torch.linalg.slogdet({wc})[1]", f"torch.logdet({spd})",
                     f"torch.linalg.solve({wc}, {a}[..., 0])",
                     f"torch.linalg.solve({wc}, {a})",
                     f"torch.linalg.cholesky({spd})", f"torch.linalg.qr({wc})[1]",
                     f"torch.linalg.qr({wc})[0]", f"torch.linalg.svdvals({wcs})",
                     f"torch.linalg.eigvalsh({spds})", f"torch.linalg.matrix_norm({a})",
                     f"torch.linalg.matrix_norm({wcs}, ord=2)",
                     f"torch.trace({a}.reshape({n}, -1)[:, :{n}])",
                     f"torch.cholesky_solve({a}, torch.linalg.cholesky({spd}))",
                     f"torch.linalg.solve_triangular(torch.linalg.cholesky({spd}), {a}, "
                     "upper=False)",
                     f"torch.linalg.pinv({wcs})", f"torch.linalg.matrix_exp({mexp} * 0.3)",
                     f"torch.linalg.matrix_power({wc}, 2)", f"torch.linalg.eigh({spds})[0]"])


# ---------------------------------------------------------------- generation


def _base_shape(rng):
    r = rng.random()
    if r < 0.08:
        return ()
    nd = int(rng.integers(1, 4))
    shape = [int(rng.integers(1, 5)) for _ in range(nd)]
    if rng.random() < 0.08:
        shape[int(rng.integers(nd))] = 0
    return tuple(shape)


def _run_line(code, env):
    import torch
    ns = {"torch": torch, "F": torch.nn.functional}
    ns.update(env)
    exec(compile(code, "<fuzz>", "exec"), ns)
    return ns


# NOTE [NaN branches]: PyTorch's CPU kernels of the ELU family (elu, selu, celu), hardswish,
# hardtanh, relu6, hardshrink and softshrink pick a branch for a NaN input differently in
# their scalar loop (a tensor's last few elements, all of a small one: elu's gradient 1,
# hardtanh's 1) and their vectorised loop (NaN, 0): the result at NaN depends on the tensor's
# size and on the element's position, so it is PyTorch's internal inconsistency, not something
# to compare (ember follows the vectorised loop). The generator drops a line calling one of
# them when a NaN is among its operands or in its result.
NAN_BRANCHES = re.compile(r"\b(F\.(elu|selu|celu|hardswish|hardtanh|relu6|hardshrink|softshrink)"
                          r"|torch\.(selu|celu|hardshrink)|\.(hardshrink|hardtanh|relu6)_?)\(")
# The same holds for the sign bit of a NaN, which IEEE 754 leaves unspecified and no op
# interprets but copysign/signbit: NumPy's sqrt and log of a negative give -nan, PyTorch's
# +nan. A line that feeds a NaN to copysign or signbit is dropped too.
NAN_SIGNS = re.compile(r"\b(torch\.(copysign|signbit)|\.(copysign|signbit)_?)\(")


def nan_into_branches(step, env, ns):
    """Whether ``step`` feeds a NaN to an op of NOTE [NaN branches], or to one reading a NaN's
    sign (``ns``: after the line)."""
    import torch

    if not (NAN_BRANCHES.search(step.code) or NAN_SIGNS.search(step.code)):
        return False
    names = [n for n in dict.fromkeys(NAME_RE.findall(step.code)) if n in env]
    vals = [env[n] for n in names] + ([ns.get(step.out)] if step.out else [])
    return any(isinstance(v, torch.Tensor) and (v.is_floating_point() or v.is_complex())
               and bool(torch.isnan(v.detach()).any()) for v in vals)


# NOTE [logcumsumexp underflow]: PyTorch's tangent of logcumsumexp shifts every prefix by the
# slice's maximum m, cumsum(exp(x - m) * dx) / (cumsum(exp(x - m)) + 1e-13), so an output whose
# prefix maximum r lies far below m (m - r > 16: the 1e-13 is over 1e-6 of the denominator)
# gets a tangent shrunk towards 0, and exactly 0 once exp underflows or m is +inf (seed 2028
# program 6925: xlogy(x, 0) = inf at x < 0). ember keeps the exact tangent there (NOTE in
# ember/ops/scan.py), so the generator drops a logcumsumexp line with such a prefix.
LCSE = re.compile(r"torch\.logcumsumexp\(([xv]\d+), (-?\d+)\)")
LCSE_GAP = 16.0


def lcse_underflow(step, env):
    """Whether ``step`` takes logcumsumexp of a slice where PyTorch's tangent underflows."""
    import torch

    for name, dim in LCSE.findall(step.code):
        x = env.get(name)
        if not (isinstance(x, torch.Tensor) and x.dim() and x.numel()
                and x.is_floating_point()):
            continue
        a = x.detach().to(torch.float64).numpy()
        d = int(dim)
        with np.errstate(invalid="ignore"):
            m = np.max(a, axis=d, keepdims=True)
            r = np.maximum.accumulate(a, axis=d)
            if np.any(np.isfinite(r) & (m - r > LCSE_GAP)):
                return True
    return False


# NOTE [ties]: a discontinuous op (comparison, sign, floor, where on a mask, an int cast, a
# sort's indices) or a kink (relu, abs, clamp, max) whose argument is an exact-math tie gives
# whatever rounding decides: ``kl_div(log_softmax(v), softmax(v)) > 0`` compares a loss that
# is 0 up to rounding. Such a line is not a difference between the libraries, so the generator
# drops it (deterministically) before it enters a program: every candidate line is run in
# float64, without grad, on its arguments as they are and moved by +-PROBE_EPS * (1 + |x|)
# (random signs, elementwise; each argument by its own multiple of PROBE_EPS, so equal arguments
# part); it sits on a discontinuity when an integer/bool result or a
# shape changes, a NaN/inf appears or goes, or the second difference of a float result exceeds
# PROBE_TOL * (1 + |y|) (a jump, or a kink: smooth ops give ~|f''| * PROBE_EPS**2).
# A half-precision argument carries the rounding of the half-precision ops that made it (a
# float16 loss that is 0 in exact math comes out as -1.5e-4 in PyTorch and 3e-5 in ember), so
# for float16/bfloat16 arguments a second probe moves them by a few of their own ulps and checks
# only the discrete outcomes (ints, bools, shapes, NaN/inf).
PROBE_EPS = 1e-4
PROBE_TOL = 1e-6
LOWP_EPS = {"torch.float16": 4e-3, "torch.bfloat16": 3e-2}
UPCAST = [(re.compile(r"torch\.(float16|float32|half|float)\b"), "torch.float64"),
          (re.compile(r"\.(half|float)\(\)"), ".double()")]


def upcast(code):
    """``code`` with every float dtype (names and casts) made float64."""
    for pat, rep in UPCAST:
        code = pat.sub(rep, code)
    return code


def on_tie(step, env, rng):
    """Whether the line ``step`` sits on a discontinuity at the values ``env`` (NOTE [ties])."""
    import torch

    names = [n for n in dict.fromkeys(NAME_RE.findall(step.code))
             if isinstance(env.get(n), torch.Tensor)]
    base = {n: env[n].detach() for n in names}
    signs = {n: rng.choice([-1.0, 1.0], size=tuple(t.shape)) for n, t in base.items()
             if t.is_floating_point()}
    code = upcast(step.code)
    lowp = {n: LOWP_EPS.get(str(t.dtype), 0.0) for n, t in base.items()}
    # each argument moves by its own amount, so that two arguments equal at a position (``eq(x,
    # logit(sigmoid(x)))``) never move together and the tie shows
    spread = {n: 1.0 + 0.5 * k for k, n in enumerate(base)}

    def probe(scale):
        outs = []
        for s in (0.0, 1.0, -1.0):
            ns = {}
            for n, t in base.items():
                if n in signs:
                    a = t.to(torch.float64).numpy()
                    with np.errstate(all="ignore"):  # infinities and NaNs stay as they are
                        delta = np.where(np.isfinite(a),
                                         s * scale(n) * spread[n] * (1 + np.abs(a)) * signs[n],
                                         0.0)
                    ns[n] = torch.from_numpy(np.asarray(a + delta))
                else:
                    ns[n] = t.clone()
            try:
                with torch.no_grad(), _quiet():
                    ns = _run_line(code, ns)
            except Exception:  # noqa: BLE001 - the real run decides about errors
                return None
            outs.append([ns.get(n) for n in (*names, step.out)])
        return outs

    outs = probe(lambda n: PROBE_EPS)
    if outs is None:
        return False
    if any(lowp.values()):
        wide = probe(lambda n: max(PROBE_EPS, lowp[n]))
        if wide is not None and _jumps(wide, smooth=False):
            return True
    return _jumps(outs, smooth=True)


def _jumps(outs, smooth):
    """Whether the probed results ``outs`` (at 0, +eps, -eps) change discretely, or, when
    ``smooth``, bend more than a smooth function's second difference (NOTE [ties])."""
    import torch

    for y0, yp, ym in zip(*outs):
        if not isinstance(y0, torch.Tensor):
            continue
        if not (isinstance(yp, torch.Tensor) and isinstance(ym, torch.Tensor)
                and y0.shape == yp.shape == ym.shape):
            return True
        if y0.is_complex():
            continue
        a0, ap, am = (y.detach().numpy() for y in (y0, yp, ym))
        if not y0.is_floating_point():
            if not (np.array_equal(a0, ap) and np.array_equal(a0, am)):
                return True
            continue
        fin = np.isfinite(a0)
        if not (np.array_equal(fin, np.isfinite(ap)) and np.array_equal(fin, np.isfinite(am))):
            return True
        if not (np.array_equal(a0[~fin], ap[~fin], equal_nan=True)
                and np.array_equal(a0[~fin], am[~fin], equal_nan=True)):
            return True
        if not smooth:
            continue
        with np.errstate(all="ignore"):
            second = np.abs(ap[fin] - 2 * a0[fin] + am[fin])
        if np.any(second > PROBE_TOL * (1 + np.abs(a0[fin]))):
            return True
    return False


def generate(seed, index, max_tries=40):
    """The program number ``index`` of run ``seed`` (deterministic)."""
    import torch

    rng = np.random.default_rng([seed, index])
    prog = Program(seed=(seed, index))
    fdtype = str(rng.choice(FLOATS, p=[0.2, 0.5, 0.3]))
    base = _base_shape(rng)
    for i in range(int(rng.integers(1, 4))):
        shape = base[int(rng.integers(0, len(base) + 1)):] if rng.random() < 0.3 else base
        shape = tuple(1 if rng.random() < 0.15 else d for d in shape)
        dt = fdtype if i == 0 or rng.random() < 0.7 else str(rng.choice(
            ["int64", "bool", "float64", "float32", "float16", "int32"]))
        prog.inputs.append(make_input(rng, f"x{i}", shape, dt, requires_grad=rng.random() < 0.9))
    env = {inp.name: torch.tensor(inp.data.copy(), requires_grad=inp.requires_grad)
           for inp in prog.inputs}
    n_steps = int(rng.integers(3, 13))
    k = 0
    tries = 0
    while len(prog.steps) < n_steps and tries < max_tries:
        tries += 1
        opr = OPS[rng.choice(len(OPS), p=_WEIGHTS)]
        g = Gen(rng, prog, dict(env), fdtype)
        try:
            src = opr.build(g)
        except (IndexError, ValueError, ZeroDivisionError):
            src = None
        if not src:
            continue
        name = f"v{k}"
        if src.startswith("stmt:"):
            step = Step(src[5:], None)
        else:
            step = Step(f"{name} = {src}", name)
        if on_tie(step, g.env, np.random.default_rng([seed, index, tries])):
            continue
        try:
            with _quiet():
                ns = _run_line(step.code, g.env)
        except Exception:  # noqa: BLE001 - PyTorch rejected it: maybe keep it as an error step
            if rng.random() < 0.1:
                prog.inputs += g.added
                prog.steps.append(step)
                prog.raises = True
                break
            continue
        if step.out is not None and not isinstance(ns[step.out], torch.Tensor):
            continue
        if nan_into_branches(step, g.env, ns) or lcse_underflow(step, g.env):
            continue
        prog.inputs += g.added
        prog.steps.append(step)
        env = {n: v for n, v in ns.items() if NAME_RE.fullmatch(n)}
        if step.out is not None:
            k += 1
    return prog


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *a):
        self._w.__exit__(*a)


_WEIGHTS = np.array([o.weight for o in OPS], dtype=np.float64)
_WEIGHTS /= _WEIGHTS.sum()
