"""Run a generated program on ember and on PyTorch and compare everything observable.

``check(prog)`` returns a list of ``Mismatch``es (empty: the libraries agree). Compared, on
identical inputs (the program's NumPy arrays handed to both):

- ``fwd``: the value, dtype, shape and requires_grad of every step's result right after the
  step, and of every named value at the end (in-place ops change earlier values); a step that
  raises must raise the same exception class on the other side, at the same step.
- ``backward`` / ``grad``: the leaves' gradients of ``loss = sum_k (out_k * W_k).sum()`` over
  every float value that requires grad (fixed random weights ``W_k``), through
  ``loss.backward()`` and through ``autograd.grad``; error classes must agree.
- ``grad2``: ``autograd.grad(create_graph=True)``, then the gradient of
  ``sum_k (g_k * V_k).sum()``.
- ``jvp`` / ``fwd_ad``: the tangents of every float value, through ``func.jvp`` and through
  ``autograd.forward_ad`` (dual_level / make_dual / unpack_dual).
  For ``grad2``, ``jvp`` and ``fwd_ad`` a PyTorch error skips the check (ember may support
  more); an ember error where PyTorch succeeds is a mismatch.

Tolerances follow the dtype (float16 1e-2, float32 1e-4, float64 1e-7 relative, with an absolute
part scaled by the reference's magnitude, for summation order). When the only mismatches are
values and the program has float16/float32 data, both libraries rerun it with every float
upcast to float64 and compared at float64 tolerance: if that agrees, the difference was
rounding and the program passes.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

from .gen import FLOATS, NAME_RE
from .gen import upcast as _upcast

RTOL = {"float16": 1e-2, "bfloat16": 2e-2, "float32": 1e-4, "float64": 1e-7}
CHECKS = ("fwd", "backward", "grad", "grad2", "jvp", "fwd_ad")
LENIENT = ("grad2", "jvp", "fwd_ad")  # PyTorch raising skips these


@dataclass(frozen=True)
class Mismatch:
    check: str  # one of CHECKS
    where: str  # e.g. "step 3 (v2)" or "x0.grad"
    kind: str  # value / dtype / shape / requires_grad / error / none
    detail: str

    def __str__(self):
        return f"[{self.check}] {self.where}: {self.kind}: {self.detail}"


class Raised:
    def __init__(self, exc, where=None):
        self.kind = type(exc).__name__
        self.msg = str(exc).split("\n")[0][:160]
        self.where = where

    def __repr__(self):
        return f"{self.kind}({self.msg!r})"


# ---------------------------------------------------------------- executing one library

_CODE_CACHE = {}


def _compile(code):
    c = _CODE_CACHE.get(code)
    if c is None:
        if len(_CODE_CACHE) > 20000:
            _CODE_CACHE.clear()
        c = _CODE_CACHE[code] = compile(code, "<fuzz>", "exec")
    return c


def _lib(name):
    if name == "torch":
        import torch
        return torch
    import ember
    return ember


def _code(prog, upcast):
    lines = [s.code for s in prog.steps]  # with prog.raises the last one raises in PyTorch
    return [_upcast(c) for c in lines] if upcast else lines


def _inputs(lib, prog, upcast, requires_grad=True):
    out = {}
    for inp in prog.inputs:
        data = inp.data
        if upcast and inp.dtype in FLOATS:
            data = data.astype(np.float64)
        out[inp.name] = lib.tensor(data.copy(), requires_grad=inp.requires_grad and requires_grad)
    return out


_WEIGHTS = {}


def _weights(prog, name, t, salt):
    """Fixed random weights for value ``name`` (same on both sides; cached, as both libraries
    and the shrinker's reruns ask for the same ones)."""
    key = (prog.seed, salt, name, tuple(t.shape))
    w = _WEIGHTS.get(key)
    if w is None:
        if len(_WEIGHTS) > 5000:
            _WEIGHTS.clear()
        rng = np.random.default_rng([*prog.seed, salt, int(name[1:]), name[0] == "v"])
        shape = tuple(t.shape)
        w = _WEIGHTS[key] = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0],
                                                                         size=shape)
    return w


def _exec_steps(lib, lines, ns, snaps=None):
    for i, code in enumerate(lines):
        try:
            exec(_compile(code), ns)
        except Exception as exc:  # noqa: BLE001 - recorded and compared
            return Raised(exc, i)
        if snaps is not None:
            out = code.split("=", 1)[0].strip() if NAME_RE.fullmatch(
                code.split("=", 1)[0].strip()) else None
            snaps.append(_desc(ns[out]) if out else None)
    return None


def _is_tensor(lib, v):
    return isinstance(v, lib.Tensor)


def _desc(v):
    """(shape, dtype, requires_grad, data copy) of a tensor; a repr for anything else."""
    if hasattr(v, "detach") and hasattr(v, "dtype"):
        d = v.detach()
        if getattr(d, "_is_zerotensor", None) is not None and d._is_zerotensor():
            # PyTorch's ZeroTensor has no numpy(), and its tolist() can crash the process
            name = str(d.dtype).split(".")[-1]
            arr = np.zeros(tuple(d.shape), name if name != "bfloat16" else "float32")
        else:
            arr = d.numpy().copy() if hasattr(d, "numpy") else np.array(d._data)
        return ("T", tuple(v.shape), str(v.dtype).split(".")[-1], bool(v.requires_grad), arr)
    return ("V", repr(v))


def _env(lib, prog, ns):
    return {k: v for k, v in ns.items() if NAME_RE.fullmatch(k) and _is_tensor(lib, v)}


def _float_names(lib, env, need_grad):
    return [k for k, v in env.items() if v.is_floating_point()
            and (not need_grad or v.requires_grad)]


def _loss(lib, prog, env, names, salt):
    total = None
    for k in names:
        v = env[k]
        if not v.is_floating_point() or not v.requires_grad:
            continue
        w = lib.tensor(_weights(prog, k, v, salt)).to(v.dtype)
        term = (v * w).sum()
        total = term if total is None else total + term
    return total


def run_lib(libname, prog, upcast=False, grad_names=None, checks=CHECKS):
    """The observations of ``checks`` ("fwd" always) for one library: {check: result or
    Raised}."""
    lib = _lib(libname)
    F = lib.nn.functional
    lines = _code(prog, upcast)
    body = lines[:-1] if prog.raises else lines
    leaves = [i.name for i in prog.inputs if i.requires_grad]
    res = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # -- forward values
        ns0 = {"torch": lib, "F": F, **_inputs(lib, prog, upcast)}
        snaps = []
        err = _exec_steps(lib, lines, ns0, snaps)
        env = _env(lib, prog, ns0)
        res["fwd"] = (snaps, err, {k: _desc(v) for k, v in env.items()})
        if grad_names is None:
            grad_names = _float_names(lib, env, True)
        res["grad_names"] = grad_names
        if not leaves:
            return res

        def forward():
            ns = {"torch": lib, "F": F, **_inputs(lib, prog, upcast)}
            err = _exec_steps(lib, body, ns)
            if err is not None:
                raise RuntimeError(f"forward raised {err!r}")
            return ns

        # -- backward(), on the values of the run above (snapshots are copies) unless it raised
        try:
            if "backward" not in checks:
                raise _Skip
            ns = ns0 if err is None else forward()
            loss = _loss(lib, prog, _env(lib, prog, ns), grad_names, 1)
            if loss is None:
                res["backward"] = None
            else:
                loss.backward()
                res["backward"] = [_grad_desc(ns[k].grad) for k in leaves]
        except _Skip:
            pass
        except Exception as exc:  # noqa: BLE001
            res["backward"] = Raised(exc)
        # -- autograd.grad, then second order
        try:
            if "grad" not in checks and "grad2" not in checks:
                raise _Skip
            ns = forward()
            loss = _loss(lib, prog, _env(lib, prog, ns), grad_names, 1)
            if loss is None:
                res["grad"] = None
            else:
                xs = [ns[k] for k in leaves]
                gs = lib.autograd.grad(loss, xs, create_graph=True, allow_unused=True)
                res["grad"] = [_grad_desc(g) for g in gs]
                try:
                    s = None
                    for k, g in zip(leaves, gs):
                        if g is not None and g.requires_grad:
                            w = lib.tensor(_weights(prog, k, g, 2)).to(g.dtype)
                            s = (g * w).sum() if s is None else s + (g * w).sum()
                    if s is None:
                        res["grad2"] = None
                    else:
                        g2 = lib.autograd.grad(s, xs, allow_unused=True)
                        res["grad2"] = [_grad_desc(g) for g in g2]
                except Exception as exc:  # noqa: BLE001
                    res["grad2"] = Raised(exc)
        except _Skip:
            pass
        except Exception as exc:  # noqa: BLE001
            res["grad"] = Raised(exc)
        # -- forward mode: func.jvp and forward_ad
        tangents = {k: _weights(prog, k, ns_t, 3) for k, ns_t in
                    ((i.name, i.data) for i in prog.inputs if i.requires_grad)}
        prim = _inputs(lib, prog, upcast, requires_grad=False)
        tang = [lib.tensor(tangents[k]).to(prim[k].dtype) for k in leaves]

        def f(*xs):
            ns = {"torch": lib, "F": F, **prim, **dict(zip(leaves, xs))}
            err = _exec_steps(lib, body, ns)
            if err is not None:
                raise RuntimeError(f"forward raised {err!r}")
            env = _env(lib, prog, ns)
            return tuple(env[k] for k in grad_names if k in env and env[k].is_floating_point())

        try:
            if "jvp" not in checks:
                raise _Skip
            _, tout = lib.func.jvp(f, tuple(prim[k] for k in leaves), tuple(tang))
            res["jvp"] = [_grad_desc(t) for t in tout]
        except _Skip:
            pass
        except Exception as exc:  # noqa: BLE001
            res["jvp"] = Raised(exc)
        # fresh inputs: the jvp run's in-place ops changed those it captured
        prim.update(_inputs(lib, prog, upcast, requires_grad=False))
        try:
            if "fwd_ad" not in checks:
                raise _Skip
            fa = lib.autograd.forward_ad
            with fa.dual_level():
                duals = [fa.make_dual(prim[k], t) for k, t in zip(leaves, tang)]
                outs = f(*duals)
                res["fwd_ad"] = [_grad_desc(fa.unpack_dual(o).tangent) for o in outs]
        except _Skip:
            pass
        except Exception as exc:  # noqa: BLE001
            res["fwd_ad"] = Raised(exc)
    return res


class _Skip(Exception):  # noqa: N818 - control flow, not an error
    """A check not asked for."""


def _grad_desc(g):
    return None if g is None else _desc(g)


# ---------------------------------------------------------------- comparing


def _close(a, b, dtype, tight=False):
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "biu" or b.dtype.kind in "biu" or a.size == 0:
        return np.array_equal(a, b)
    rtol = 1e-7 if tight else RTOL.get(dtype, 1e-7)
    a64 = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    b64 = b.astype(np.complex128 if b.dtype.kind == "c" else np.float64)
    fin = np.isfinite(b64)
    scale = float(np.abs(b64[fin]).max()) if fin.any() else 0.0
    atol = rtol * (1.0 + scale)
    # assert_allclose(rtol=4 rtol, atol, equal_nan) without its exception and report
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.abs(a64 - b64) <= atol + rtol * 4 * np.abs(b64)
    if ok.all():
        return True
    same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))  # equal infs, NaN and NaN
    return bool((ok | same).all())


def _cmp_desc(out, check, where, mine, ref, tight, zero_none=False):
    if mine is None or ref is None:
        if mine is None and ref is None:
            return
        other = ref if mine is None else mine
        if zero_none and other[0] == "T" and not np.any(other[4]):
            return
        out.append(Mismatch(check, where, "none", f"ember {'None' if mine is None else 'tensor'}"
                            f", torch {'None' if ref is None else 'tensor'}"))
        return
    if mine[0] != ref[0] or mine[0] == "V":
        if mine != ref:
            out.append(Mismatch(check, where, "type", f"ember {mine[:2]}, torch {ref[:2]}"))
        return
    if mine[1] != ref[1]:
        out.append(Mismatch(check, where, "shape", f"ember {mine[1]}, torch {ref[1]}"))
        return
    # NOTE: tangent dtypes are not compared: PyTorch's own differ between func.jvp and
    # forward_ad for 0-d float16/float32 values times a Python float (float64 tangents)
    if mine[2] != ref[2] and check not in ("jvp", "fwd_ad"):
        out.append(Mismatch(check, where, "dtype", f"ember {mine[2]}, torch {ref[2]}"))
        return
    if check == "fwd" and mine[3] != ref[3]:
        out.append(Mismatch(check, where, "requires_grad", f"ember {mine[3]}, torch {ref[3]}"))
    if not _close(mine[4], ref[4].astype(mine[4].dtype) if mine[2] != ref[2] else ref[4],
                  mine[2], tight):
        out.append(Mismatch(check, where, "value", _diff(mine[4], ref[4])))


def _diff(a, b):
    try:
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        with np.errstate(invalid="ignore"):
            err = np.abs(a64 - b64)
        err[np.isnan(a64) & np.isnan(b64)] = 0
        if err.size and np.isnan(err).all():
            return f"ember {a64.ravel()[:4]!r}, torch {b64.ravel()[:4]!r}"
        i = int(np.nanargmax(np.where(np.isnan(err), np.inf, err))) if err.size else 0
        return (f"max |diff| {np.nanmax(err) if err.size else 0:.3g} at flat {i}: "
                f"ember {a64.ravel()[i]!r}, torch {b64.ravel()[i]!r}")
    except Exception:  # noqa: BLE001
        return f"ember {a!r}, torch {b!r}"


def compare(mine, ref, prog, tight=False):
    out = []
    m_snaps, m_err, m_env = mine["fwd"]
    r_snaps, r_err, r_env = ref["fwd"]
    steps = prog.steps
    for i, (a, b) in enumerate(zip(m_snaps, r_snaps)):
        _cmp_desc(out, "fwd", f"step {i} ({steps[i].out})", a, b, tight)
    if (m_err is None) != (r_err is None) or (m_err and (m_err.kind != r_err.kind or
                                                         m_err.where != r_err.where)):
        out.append(Mismatch("fwd", f"step {(m_err or r_err).where}", "error",
                            f"ember {m_err!r}, torch {r_err!r}"))
        return out
    for k in r_env:
        if k in m_env:
            _cmp_desc(out, "fwd", f"final {k}", m_env[k], r_env[k], tight)
    for check in CHECKS[1:]:
        if check not in ref and check not in mine:
            continue
        a, b = mine.get(check), ref.get(check)
        if isinstance(b, Raised) and check in LENIENT:
            continue
        if isinstance(a, Raised) or isinstance(b, Raised):
            if not (isinstance(a, Raised) and isinstance(b, Raised) and a.kind == b.kind):
                out.append(Mismatch(check, "call", "error", f"ember {a!r}, torch {b!r}"))
            continue
        if a is None or b is None:
            # NOTE: no second-order graph on one side and an all-zero gradient on the other
            # are the same answer (whether a first-order gradient "requires grad" when it
            # is constant differs between the libraries and is not observable in values)
            if a is None and b is None:
                continue
            n = len(a if a is not None else b)
            a, b = (a if a is not None else [None] * n), (b if b is not None else [None] * n)
            if check != "grad2" and not (a == b):
                out.append(Mismatch(check, "call", "none", "ember None or torch None"))
                continue
        names = ([i.name for i in prog.inputs if i.requires_grad]
                 if check in ("backward", "grad", "grad2") else ref["grad_names"])
        if len(a) != len(b):
            out.append(Mismatch(check, "outputs", "shape", f"{len(a)} vs {len(b)}"))
            continue
        alt = ref.get("fwd_ad") if check == "jvp" else None
        for i, (k, x, y) in enumerate(zip(names, a, b)):
            label = f"{k} tangent" if check in ("jvp", "fwd_ad") else f"{k}.grad"
            zero_none = check in ("jvp", "fwd_ad", "grad2")
            got = []
            _cmp_desc(got, check, label, x, y, tight, zero_none=zero_none)
            if got and isinstance(alt, list) and len(alt) == len(b):
                # NOTE: PyTorch's two forward modes disagree at some non-finite points
                # (func.jvp decomposes prod as products of the others, forward_ad divides the
                # result: inf vs nan at an infinite factor): ember matching either one is
                # PyTorch's behaviour
                again = []
                _cmp_desc(again, check, label, x, alt[i], tight, zero_none=zero_none)
                if not again:
                    got = []
            out.extend(got)
    return out


def check(prog, checks=CHECKS):
    """Mismatches between ember and PyTorch on ``prog`` (after the float64 rounding rescue),
    in ``checks`` ("fwd" always; the shrinker asks only for those that failed)."""
    ref = run_lib("torch", prog, checks=checks)
    mine = run_lib("ember", prog, grad_names=ref["grad_names"], checks=checks)
    bad = compare(mine, ref, prog)
    if bad and all(m.kind == "value" for m in bad) and _has_low_precision(prog):
        ref64 = run_lib("torch", prog, upcast=True, checks=checks)
        mine64 = run_lib("ember", prog, upcast=True, grad_names=ref64["grad_names"],
                         checks=checks)
        if not compare(mine64, ref64, prog, tight=True):
            return []
    return bad


def _has_low_precision(prog):
    return (any(i.dtype in ("float16", "float32") for i in prog.inputs)
            or any(re.search(r"float16|float32|half|float\(", s.code) for s in prog.steps))


def signature(bad):
    """What kind of failure this is (shrinking keeps it): the set of (check, kind)."""
    return frozenset((m.check, m.kind) for m in bad)
