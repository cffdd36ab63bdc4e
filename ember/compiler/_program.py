"""A recorded program: its instructions, the optimisations on them, and its Python source.

Contract:
- ``Ref(i)``: variable ``i`` inside an argument template (a traced array's place).
- ``Instr(kind, fn, args, kwargs, out, writes, fresh, op)``: one recorded call. ``kind`` is
  ``call`` (``fn(*args, **kwargs)``), ``method`` (``args[0].fn(*args[1:])``), ``attr``
  (``args[0].fn``), ``getitem``/``setitem``, ``scalar`` (Python arithmetic on numbers read
  from arrays) or ``rng`` (a random draw: never removed, merged or folded). ``out`` is the
  result's structure (``Ref``, ``("tuple", parts)``, ``("namedtuple", cls, parts)``,
  ``("list", parts)``, ``("const", value)``); ``writes`` the variables the call writes into;
  ``fresh`` whether its results are new memory (else they may be views of its array
  arguments); ``op`` the ember op that made the call (printed as a comment).
- ``Program(instrs, inputs, outputs, vals)``: ``inputs`` the variables bound to the arguments,
  ``outputs`` a list of templates returned as a tuple. ``optimize()`` runs the passes:
  common subexpressions, constant folding, dead code, buffer reuse; ``source()`` is the
  program as Python source; ``build()`` compiles it into a function of the input arrays.

NOTE [passes keep eager's values]: every pass preserves the exact NumPy calls that produce
what the program returns: dead code removes calls nothing observes (random draws are always
kept: they advance the generator), common subexpressions merge identical pure calls whose
arguments were not written in between, folding evaluates calls with no variable argument once
(at compile time, on the same NumPy), and buffer reuse gives a ufunc an ``out=`` array of its
result's shape and dtype that no live value occupies, which NumPy fills with the same values.
Aliasing is tracked by families: a call whose result may be a view (``fresh`` false) puts it
in its arguments' family, and a write into one member is a write into all.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Ref", "Instr", "Program", "GuardMiss"]


class GuardMiss(Exception):
    """A replay's value guard failed: the caller runs the function eagerly instead."""


class Ref:
    """A variable inside an argument template."""

    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i

    def __repr__(self):
        return f"v{self.i}"


class Instr:
    """One recorded call (see the module docstring)."""

    __slots__ = ("kind", "fn", "args", "kwargs", "out", "writes", "fresh", "op")

    def __init__(self, kind, fn, args, kwargs, out, writes, fresh, op):
        self.kind = kind
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.out = out
        self.writes = writes
        self.fresh = fresh
        self.op = op


def refs(x, acc):
    """Collect the variables referenced in template ``x`` into ``acc``."""
    t = type(x)
    if t is Ref:
        acc.append(x.i)
    elif t is tuple or t is list:
        for v in x:
            refs(v, acc)
    elif t is dict:
        for v in x.values():
            refs(v, acc)
    elif t is slice:
        refs(x.start, acc)
        refs(x.stop, acc)
        refs(x.step, acc)
    return acc


def out_vars(out, acc):
    if type(out) is Ref:
        acc.append(out.i)
    elif out[0] in ("tuple", "list"):
        for p in out[1]:
            out_vars(p, acc)
    elif out[0] == "namedtuple":
        for p in out[2]:
            out_vars(p, acc)
    return acc


def substitute(x, sub):
    """Template ``x`` with variables replaced as ``sub`` says (a Ref or a constant)."""
    t = type(x)
    if t is Ref:
        return sub.get(x.i, x)
    if t is tuple:
        return tuple(substitute(v, sub) for v in x)
    if t is list:
        return [substitute(v, sub) for v in x]
    if t is dict:
        return {k: substitute(v, sub) for k, v in x.items()}
    if t is slice:
        return slice(substitute(x.start, sub), substitute(x.stop, sub), substitute(x.step, sub))
    return x


def _key(x):
    """A hashable identity of a template (constants by identity unless plain numbers)."""
    t = type(x)
    if t is Ref:
        return ("r", x.i)
    if t is tuple or t is list:
        return (t.__name__, *(_key(v) for v in x))
    if t is dict:
        return ("d", *((k, _key(v)) for k, v in sorted(x.items())))
    if t is slice:
        return ("s", _key(x.start), _key(x.stop), _key(x.step))
    if t in (int, float, bool, str, complex) or x is None or x is Ellipsis:
        return (t.__name__, x)
    return ("id", id(x))


_SHAPE_ONLY = frozenset({"zeros_like", "ones_like", "full_like"})


class _Families:
    """Union-find over variables: which may share memory."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, i):
        p = self.parent.get(i, i)
        if p == i:
            return i
        root = self.find(p)
        self.parent[i] = root
        return root

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def families(instrs):
    fam = _Families()
    for ins in instrs:
        if ins.fresh:
            continue
        outs = out_vars(ins.out, [])
        if not outs:
            continue
        args = refs(ins.args, [])
        refs(ins.kwargs, args)
        if ins.kind == "call" and getattr(ins.fn, "__name__", "") in _SHAPE_ONLY:
            continue  # (a new array shaped like its argument)
        for o in outs:
            for a in args:
                fam.union(o, a)
    return fam


class Program:
    """A recorded program (see the module docstring)."""

    def __init__(self, instrs, inputs, outputs, vals):
        self.instrs = list(instrs)
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.vals = vals  # var -> value at recording time (for folding and buffer shapes)
        self.consts: dict = {}  # (filled by source())
        self.stats = {"recorded": len(self.instrs)}

    # ---- passes -------------------------------------------------------------------------------
    def optimize(self, reuse_buffers=True):
        self.cse()
        self.fold()
        self.dce()
        if reuse_buffers:
            self.reuse()
        self.stats["kept"] = len(self.instrs)
        return self

    def _written_families(self, fam):
        written = set()
        for ins in self.instrs:
            for w in ins.writes:
                written.add(fam.find(w))
        for i in self.inputs:  # (the caller's arrays: they may change between calls)
            written.add(fam.find(i))
        return written

    def cse(self):
        fam = families(self.instrs)
        written = self._written_families(fam)
        version: dict = {}
        seen: dict = {}
        sub: dict = {}
        kept = []
        merged = 0
        for ins in self.instrs:
            if sub:
                ins.args = substitute(ins.args, sub)
                ins.kwargs = substitute(ins.kwargs, sub)
            outs = out_vars(ins.out, [])
            if (ins.kind != "rng" and not ins.writes and type(ins.out) is Ref
                    and fam.find(ins.out.i) not in written):
                args = refs(ins.args, [])
                refs(ins.kwargs, args)
                key = (ins.kind, id(ins.fn) if not isinstance(ins.fn, str) else ins.fn,
                       _key(ins.args), _key(ins.kwargs),
                       tuple(version.get(fam.find(a), 0) for a in args))
                prev = seen.get(key)
                if prev is not None and all(fam.find(a) not in written or True for a in args):
                    sub[ins.out.i] = Ref(prev)
                    merged += 1
                    continue
                seen[key] = ins.out.i
            for w in ins.writes:
                f = fam.find(w)
                version[f] = version.get(f, 0) + 1
            del outs
            kept.append(ins)
        self.instrs = kept
        self.outputs = [substitute(o, sub) for o in self.outputs]
        self.stats["merged"] = merged

    def fold(self):
        fam = families(self.instrs)
        written = self._written_families(fam)
        sub: dict = {}
        kept = []
        folded = 0
        for ins in self.instrs:
            if sub:
                ins.args = substitute(ins.args, sub)
                ins.kwargs = substitute(ins.kwargs, sub)
            if ins.kind in ("call", "scalar") and not ins.writes and type(ins.out) is Ref \
                    and fam.find(ins.out.i) not in written:
                args = refs(ins.args, [])
                refs(ins.kwargs, args)
                shape_only = ins.kind == "call" and \
                    getattr(ins.fn, "__name__", "") in _SHAPE_ONLY and len(args) == 1 and \
                    args == refs(ins.args[:1], [])
                if not args or shape_only:
                    sub[ins.out.i] = self.vals[ins.out.i]
                    folded += 1
                    continue
            kept.append(ins)
        self.instrs = kept
        self.outputs = [substitute(o, sub) for o in self.outputs]
        self.stats["folded"] = folded

    def dce(self):
        fam = families(self.instrs)
        used = set()
        live = {fam.find(i) for i in self.inputs}
        for o in self.outputs:
            for i in refs(o, []):
                used.add(i)
                live.add(fam.find(i))
        kept = []
        for ins in reversed(self.instrs):
            outs = out_vars(ins.out, [])
            need = ins.kind in ("rng", "guard") or any(o in used for o in outs) or \
                any(fam.find(w) in live for w in ins.writes)
            if not need:
                continue
            kept.append(ins)
            args = refs(ins.args, [])
            refs(ins.kwargs, args)
            for a in args:
                used.add(a)
                live.add(fam.find(a))
            for w in ins.writes:
                used.add(w)
        kept.reverse()
        self.stats["removed"] = len(self.instrs) - len(kept)
        self.instrs = kept

    def reuse(self):
        """Give fresh ufunc results an ``out=`` buffer kept between calls, where no value that
        outlives the call (an output, anything viewing it) can be in that buffer."""
        fam = families(self.instrs)
        escaped = set()
        for o in self.outputs:
            for i in refs(o, []):
                escaped.add(fam.find(i))
        for i in self.inputs:
            escaped.add(fam.find(i))
        # the last position each family is read (its members' uses)
        last: dict = {}
        for pos, ins in enumerate(self.instrs):
            args = refs(ins.args, [])
            refs(ins.kwargs, args)
            for a in args + list(ins.writes):
                last[fam.find(a)] = pos
        free: dict = {}  # (shape, dtype) -> buffers free now
        busy: list = []  # (last position, key, buffer) of buffers in use
        nbuf = 0
        for pos, ins in enumerate(self.instrs):
            # buffers whose value is dead before this instruction are free again
            still = []
            for end, key, buf in busy:
                if end < pos:
                    free.setdefault(key, []).append(buf)
                else:
                    still.append((end, key, buf))
            busy = still
            if not (ins.kind == "call" and isinstance(ins.fn, np.ufunc) and ins.fresh and
                    type(ins.out) is Ref and "out" not in ins.kwargs and ins.fn.nout == 1):
                continue
            v = ins.out.i
            f = fam.find(v)
            val = self.vals.get(v)
            if f in escaped or not isinstance(val, np.ndarray) or val.ndim == 0 or \
                    val.size < 64:
                continue
            if ins.kwargs and set(ins.kwargs) - {"dtype", "casting"}:
                continue
            key = (val.shape, val.dtype.str)
            pool = free.get(key)
            if pool:
                buf = pool.pop()
            else:
                buf = np.empty(val.shape, val.dtype)
                nbuf += 1
            ins.kwargs = dict(ins.kwargs, out=buf)
            ins.writes = ()
            busy.append((last.get(f, pos), key, buf))
        self.stats["buffers"] = nbuf

    # ---- source -------------------------------------------------------------------------------
    def source(self, name="program"):
        consts: dict = {}
        ids: dict = {}

        def const(x):
            k = id(x)
            n = ids.get(k)
            if n is None:
                base = _const_name(x) or f"c{len(ids)}"
                n, j = base, 1
                while n in consts:
                    j += 1
                    n = f"{base}_{j}"
                ids[k] = n
                consts[n] = x
            return n

        def r(x):
            t = type(x)
            if t is Ref:
                return f"v{x.i}"
            if t is tuple:
                inner = ", ".join(r(v) for v in x)
                return f"({inner},)" if len(x) == 1 else f"({inner})"
            if t is list:
                return "[" + ", ".join(r(v) for v in x) + "]"
            if t is dict:
                return "{" + ", ".join(f"{k!r}: {r(v)}" for k, v in x.items()) + "}"
            if t is slice:
                return f"slice({r(x.start)}, {r(x.stop)}, {r(x.step)})"
            if x is None or x is Ellipsis or t is bool:
                return repr(x)
            if t is int or t is str:
                return repr(x)
            if t is float and np.isfinite(x):
                return repr(x)
            return const(x)

        def call_args(ins, skip=0):
            parts = [r(a) for a in ins.args[skip:]]
            parts += [f"{k}={r(v)}" for k, v in ins.kwargs.items()]
            return ", ".join(parts)

        # last use of each variable, to free intermediates as eager would
        last: dict = {}
        for pos, ins in enumerate(self.instrs):
            for a in refs(ins.args, refs(ins.kwargs, [])):
                last[a] = pos
        keep = set()
        for o in self.outputs:
            keep.update(refs(o, []))
        lines = [f"def {name}({', '.join(f'v{i}' for i in self.inputs)}):"]
        defined = set(self.inputs)
        for pos, ins in enumerate(self.instrs):
            k = ins.kind
            if k in ("call", "rng", "scalar"):
                if k == "scalar":
                    expr = f"{const(ins.fn)}({call_args(ins)})"
                else:
                    expr = f"{const(ins.fn)}({call_args(ins)})"
            elif k == "method":
                expr = f"{r(ins.args[0])}.{ins.fn}({call_args(ins, 1)})"
            elif k == "attr":
                expr = f"{r(ins.args[0])}.{ins.fn}"
            elif k == "getitem":
                expr = f"{r(ins.args[0])}[{r(ins.args[1])}]"
            elif k == "guard":
                expr = None
                lines.append(f"    if {const(ins.fn)}({r(ins.args[0])}) != {r(ins.out[1])}: "
                             f"raise {const(_MISS)}" + (f"  # {ins.op}" if ins.op else ""))
            elif k == "setitem":
                expr = None
                lines.append(f"    {r(ins.args[0])}[{r(ins.args[1])}] = {r(ins.args[2])}"
                             + (f"  # {ins.op}" if ins.op else ""))
            else:  # pragma: no cover - every kind is above
                raise AssertionError(k)
            if expr is not None:
                comment = f"  # {ins.op}" if ins.op else ""
                out = ins.out
                if type(out) is Ref:
                    lines.append(f"    v{out.i} = {expr}{comment}")
                    defined.add(out.i)
                elif out[0] == "const":
                    lines.append(f"    {expr}{comment}")
                else:
                    lines.append(f"    _r = {expr}{comment}")
                    for path, i in _leaves(out, ()):
                        lines.append(f"    v{i} = _r" + "".join(f"[{p}]" for p in path))
                        defined.add(i)
            dead = sorted(i for i, p in last.items() if p == pos and i not in keep
                          and i in defined)
            if dead:
                lines.append("    del " + ", ".join(f"v{i}" for i in dead))
        outs = ", ".join(r(o) for o in self.outputs)
        lines.append(f"    return ({outs}{',' if len(self.outputs) == 1 else ''})")
        self.consts = consts
        return "\n".join(lines) + "\n"

    def build(self, name="program"):
        src = self.source(name)
        ns = dict(self.consts)
        exec(compile(src, f"<ember compiled {name}>", "exec"), ns)  # noqa: S102
        fn = ns[name]
        fn.__ember_source__ = src
        return fn


_MISS = GuardMiss("a value guard failed")


def _const_name(x):
    """A readable name for a constant of the generated source (None: ``c<k>``)."""
    if x is _MISS:
        return "guard_failed"
    if isinstance(x, np.ufunc):
        return f"np_{x.__name__}"
    owner = getattr(x, "__self__", None)
    if isinstance(owner, np.ufunc):  # (np.add.reduce)
        return f"np_{owner.__name__}_{x.__name__}"
    if isinstance(x, np.dtype):
        return x.name if x.name.isidentifier() else None
    if isinstance(x, type) and issubclass(x, np.generic):
        return x.__name__
    if isinstance(x, np.ndarray):
        return "buf" if x.ndim else None
    name = getattr(x, "__name__", None)
    if callable(x) and isinstance(name, str) and name.isidentifier() and \
            not name.startswith("<"):
        module = getattr(x, "__module__", "") or ""
        return f"np_{name}" if module.startswith("numpy") else name.lstrip("_") or None
    return None


def _leaves(out, path):
    if type(out) is Ref:
        yield path, out.i
        return
    parts = out[2] if out[0] == "namedtuple" else out[1] if out[0] != "const" else ()
    for k, p in enumerate(parts):
        yield from _leaves(p, (*path, k))
