"""``ember.compile``: trace a call once per signature, replay it as straight NumPy afterwards.

Contract:
- ``compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
  options=None, disable=False)``: PyTorch's signature. Given a function it returns a
  ``CompiledFunction``; given a Module an ``OptimizedModule`` (``_orig_mod`` is the module);
  with no model, a decorator.
- A call computes its **signature** (the guards): grad mode, inference mode, autocast, the
  default dtype; each tensor argument's shape, dtype, strides, requires_grad, whether it has a
  ``grad_fn``, and its ``.grad``'s layout; the other arguments' values; and for the state the
  function reads (the modules, optimizers and tensors it reaches through its closure, globals
  and ``self``, found once; a global rebound later is checked by identity): every parameter's,
  buffer's and optimizer state tensor's identity and layout, the modules' ``training`` flags,
  the optimizers' hyperparameters and state keys. An unseen signature is traced (NOTE
  [tracing arrays, not ops] in _trace.py): the call runs for real with the state's arrays
  swapped for traced ones, and its NumPy calls become a program (_program.py, optimised and
  compiled to Python source). Later calls with that signature run the program on the arrays
  and write back what the call changed: arrays rebound, ``.grad`` set or cleared, version
  counters bumped as the eager ops bump them.
- Autograd: where grad mode is on and outputs require grad (and the function did not run a
  backward pass itself), the backward pass is traced too, from placeholder gradients, and the
  call becomes one autograd node, ``CompiledFunctionBackward``, whose backward replays it (as
  PyTorch's AOTAutograd; double backward through it raises PyTorch's error). A function that
  runs ``backward()`` and ``optimizer.step()`` itself is one program that updates the
  parameters, gradients and optimizer state in place.
- Graph breaks (``GraphBreak`` from the tracer: a value read into Python, a data-dependent
  shape, a hook, ``print``, a write into an untracked array, a backward pass reaching a tensor
  the compiler did not see): the call runs eagerly and the signature stays eager (the reason is
  kept: ``explain``); with ``fullgraph=True`` the break raises ``Unsupported`` instead. A trace
  that changed the structure of the state (an optimizer's first step creates its state) is a
  warm-up: its results stand and the next call traces again. More than ``recompile_limit``
  signatures: eager from then on, with PyTorch's warning.
- ``explain(fn, *args, **kwargs)`` (or ``explain(fn)(*args)``): what compiling ``fn`` does with
  these arguments (``ExplainOutput``: graph and break counts, reasons, ops per graph, guards,
  compile time, the program's source). ``reset()`` forgets every compiled program.
"""

from __future__ import annotations

import builtins
import operator
import threading
import time
import types
import warnings

import numpy as np

from .. import _modes
from .. import backend as _backend
from .. import dtypes as _dt
from .._pytree import tree_flatten, tree_unflatten
from ..autograd import engine as _engine
from ..autograd import graph as _graph
from ..autograd.grad_mode import STATE
from ..tensor import Tensor, wrap
from . import _trace
from ._program import GuardMiss, Program, Ref
from ._trace import GraphBreak, Recorder, Traced

__all__ = ["compile", "CompiledFunction", "OptimizedModule", "Unsupported", "explain",
           "ExplainOutput", "reset", "config", "disable"]

if _trace.BACKEND not in _backend.backends():
    _backend.register(_trace.BACKEND)


class Unsupported(RuntimeError):
    """A graph break under ``fullgraph=True`` (PyTorch's ``torch._dynamo.exc.Unsupported``)."""


class _Config:
    """``ember.compiler.config`` (PyTorch's ``torch._dynamo.config`` names)."""

    recompile_limit = 8
    guard_miss_limit = 8  # value-guard misses before a signature runs eagerly for good
    cache_size_limit = 8  # (PyTorch's older name of the same limit)
    reuse_buffers = True
    verbose = False


_Config.cache_size_limit = property(  # (PyTorch's older name of the same limit)
    lambda self: self.recompile_limit, lambda self, v: setattr(self, "recompile_limit", v))
config = _Config()
_ALL: list = []  # every CompiledFunction (reset() clears their caches)


# ---- the tracing mode: op names for messages, and what a program cannot replay -------------
class _TraceMode(_modes.Mode):
    """Active while tracing: names the op being traced (for break reasons and comments) and
    turns Tensor-level escapes (``numpy()``, hooks) into breaks. Ops still run as they do
    eagerly: the tracer records their NumPy calls (``arrays_ok``: array-level fast paths stay
    on, so the trace takes eager's paths)."""

    thread_local = True
    arrays_ok = True

    def wrap(self, key, fn):
        name = key.name if key.space != "Tensor" else f"Tensor.{key.name}"

        def named(*args, **kwargs):
            rec = _trace.current()
            if rec is None or rec.op is not None:
                return fn(*args, **kwargs)
            rec.op = name
            try:
                return fn(*args, **kwargs)
            finally:
                rec.op = None
        if key.name not in _USER_SHAPED and key.name != "__getitem__":
            return named

        def refuse(*args, **kwargs):
            # the user's own call of an op whose result's size depends on the values (an op's
            # internal steps are guarded on their shapes instead: _trace.py)
            rec = _trace.current()
            if rec is not None and rec.open and rec.op is None and (
                    key.name != "__getitem__" or _bool_index(args[1:2])):
                rec.fail(f"{name} has a data-dependent output shape")
            return named(*args, **kwargs)
        return refuse


_USER_SHAPED = frozenset({"nonzero", "argwhere", "masked_select", "unique",
                          "unique_consecutive", "bincount", "nonzero_static"})


def _bool_index(items):
    """Whether an index holds a boolean mask (a tensor, an array or a list of bools)."""
    for x in items:
        if isinstance(x, tuple):
            if _bool_index(x):
                return True
        elif isinstance(x, Tensor):
            if x._data.dtype == np.bool_:
                return True
        elif isinstance(x, list) and x and all(isinstance(v, bool) for v in x):
            return True
    return False


def _any_traced(args):
    for a in args:
        if isinstance(a, Tensor) and type(a._data) is Traced:
            return True
    return False


def _naming_rule(call_rule):
    """The engine's rule runner, naming the node whose rule runs (the program's comments,
    and: a rule's own calls are not the user's)."""
    def named(node, *args):
        rec = _trace.current()
        if rec is None or rec.op is not None:
            return call_rule(node, *args)
        rec.op = node.name()
        try:
            return call_rule(node, *args)
        finally:
            rec.op = None
    return named


_PRINT = builtins.print


def _refuse_print(*args, **kwargs):
    rec = _trace.current()
    if rec is not None and rec.open:
        rec.fail("print() is a Python side effect a replay would skip")
    return _PRINT(*args, **kwargs)


def _tensor_refusal(name, original):
    def refuse(self, *args, **kwargs):
        rec = _trace.current()
        if type(self._data) is Traced and rec is not None and rec.open:
            rec.fail(f"Tensor.{name}() on a traced tensor" +
                     (" reads its values" if name in ("numpy", "__array__") else ""))
        if name in ("numpy", "__array__") and type(self._data) is Traced:
            a = np.asarray(self._data._a)
            if name == "__array__" and args and args[0] is not None:
                a = a.astype(args[0])
            return a
        return original(self, *args, **kwargs)
    return refuse


# ---- finding the state a function reads ------------------------------------------------------
def _is_module(x):
    from ..nn.modules.module import Module

    return isinstance(x, Module)


def _is_optimizer(x):
    from ..optim.optimizer import Optimizer

    return isinstance(x, Optimizer)


def _code_names(code, acc):
    acc.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_names(c, acc)
    return acc


class _Reach:
    """What a function reaches besides its arguments: modules, optimizers, tensors, and the
    globals they were found under (checked by identity on each call)."""

    def __init__(self, fn):
        self.modules: list = []
        self.optimizers: list = []
        self.tensors: list = []
        self.globals: list = []  # (dict, name, object)
        self._seen: set = set()
        target = fn
        if _is_module(fn):
            self._add(fn)
            target = type(fn).forward
        self_obj = getattr(target, "__self__", None)
        if self_obj is not None:
            self._add(self_obj, depth=1)
            target = target.__func__
        code = getattr(target, "__code__", None)
        if code is None:
            return
        for cell in getattr(target, "__closure__", None) or ():
            try:
                self._add(cell.cell_contents, depth=1)
            except ValueError:  # (an empty cell)
                pass
        glb = getattr(target, "__globals__", {})
        for name in sorted(_code_names(code, set())):
            if name in glb:
                before = len(self._seen)
                self._add(glb[name], depth=1)
                if len(self._seen) != before:
                    self.globals.append((glb, name, glb[name]))
        for d in getattr(target, "__defaults__", None) or ():
            self._add(d, depth=1)

    def _add(self, x, depth=0):
        if id(x) in self._seen:
            return
        if isinstance(x, Tensor):
            self._seen.add(id(x))
            self.tensors.append(x)
        elif _is_module(x):
            self._seen.add(id(x))
            self.modules.append(x)
        elif _is_optimizer(x):
            self._seen.add(id(x))
            self.optimizers.append(x)
        elif depth > 0 and isinstance(x, (list, tuple)) and len(x) <= 64:
            for v in x:
                self._add(v, depth - 1)
        elif depth > 0 and isinstance(x, dict) and len(x) <= 64:
            for v in x.values():
                self._add(v, depth - 1)
        elif depth > 0 and not isinstance(x, (type, types.ModuleType, types.FunctionType)) \
                and hasattr(x, "__dict__") and not callable(x):
            for v in vars(x).values():
                if isinstance(v, Tensor) or _is_module(v) or _is_optimizer(v):
                    self._add(v, 0)

    def current(self) -> bool:
        """Whether the globals found still name the same objects."""
        for glb, name, obj in self.globals:
            if glb.get(name) is not obj:
                return False
        return True


def _module_hooks(modules):
    from ..nn.modules import module as mh

    if (mh._global_forward_pre_hooks or mh._global_forward_hooks
            or mh._global_backward_pre_hooks or mh._global_backward_hooks):
        return "a global module hook is registered"
    for top in modules:
        for m in top.modules():
            if m._forward_pre_hooks or m._forward_hooks or m._backward_hooks or \
                    m._backward_pre_hooks:
                return f"module {type(m).__name__} has hooks (their Python runs once, at " \
                       "trace time)"
    return None


def _tensor_hooks(t):
    extra = t._extra
    return extra is not None and bool(getattr(extra, "hooks", None) or
                                      getattr(extra, "post_acc_hooks", None) or
                                      getattr(extra, "retains_grad", False))


def _layout(a):
    return (a.shape, a.dtype, a.strides) if type(a) is np.ndarray else \
        (a.shape, a.dtype, getattr(a, "strides", None), type(a))


def _tensor_sig(t):
    g = t._grad
    return (_layout(t._data), t._requires_grad, t._grad_fn is None,
            None if g is None else _layout(g._data))


def _value_key(x):
    try:
        hash(x)
        return (type(x), x)
    except TypeError:
        return ("id", id(x))


def _opt_key(opt):
    groups = []
    for g in opt.param_groups:
        items = []
        for k, v in sorted(g.items()):
            if k == "params":
                items.append((k, tuple(id(p) for p in v)))
            elif isinstance(v, Tensor):
                items.append((k, id(v)))
            else:
                items.append((k, _value_key(v)))
        groups.append(tuple(items))
    state = tuple((id(p), tuple(sorted(s.keys()))) for p, s in opt.state.items())
    return tuple(groups), state


class _Entry:
    """One signature's outcome: a compiled program, or eager with its reason."""

    __slots__ = ("fn", "bwd", "eager", "reason", "state_slots", "effects", "outputs",
                 "spec", "source", "bwd_source", "ops", "compile_time", "aot", "stats",
                 "residual_checks", "bwd_copies", "n_outs", "diff_mask", "bumps", "misses",
                 "snapshot", "lock")

    def __init__(self):
        self.fn = self.bwd = None
        self.eager = False
        self.reason = None
        self.source = self.bwd_source = ""
        self.ops = []
        self.compile_time = 0.0
        self.aot = False
        self.stats = {}
        self.misses = 0
        self.snapshot = None  # (input positions, generators) a late guard's miss restores
        # (a program's reused buffers serve one call at a time: a call that finds the program
        # busy, from another thread or from inside itself, runs eagerly)
        self.lock = threading.Lock()


def _same(xs, ys) -> bool:
    if len(xs) != len(ys):
        return False
    for x, y in zip(xs, ys):
        if x is not y:
            return False
    return True


class _Plan:
    """The state a function reads, found once and checked cheaply on each call: the
    modules' tree (each submodule's children, parameters and buffers, by identity), the
    optimizers' groups and state, and the tensors found directly. ``fixed`` are their
    tensors in program-input order (after the tensor arguments), each once."""

    def __init__(self, reach):
        self.reach = reach
        self.mods = []
        seen = set()
        for top in reach.modules:
            for m in top.modules():
                if id(m) not in seen:
                    seen.add(id(m))
                    self.mods.append(m)
        self.snap = []
        for m in self.mods:
            for d in (m._modules, m._parameters, m._buffers):
                self.snap.append((d, tuple(d.values())))
        self.opt_snap = [self._opt_structure(o) for o in reach.optimizers]
        fixed = []
        ids = set()

        def add(t):
            if t is not None and id(t) not in ids:
                ids.add(id(t))
                fixed.append(t)
        for top in reach.modules:
            for p in top.parameters():
                add(p)
            for b in top.buffers():
                add(b)
        for opt in reach.optimizers:
            for g in opt.param_groups:
                for p in g["params"]:
                    add(p)
            for st in opt.state.values():
                for v in st.values():
                    if isinstance(v, Tensor):
                        add(v)
        for t in reach.tensors:
            add(t)
        self.fixed = fixed
        self.fixed_ids = ids

    @staticmethod
    def _opt_structure(opt):
        return (tuple(tuple(g["params"]) for g in opt.param_groups),
                tuple((p, tuple(st)) for p, st in opt.state.items()))

    def valid(self) -> bool:
        for d, vals in self.snap:
            if len(d) != len(vals) or not all(map(operator.is_, d.values(), vals)):
                return False
        for opt, (groups, state) in zip(self.reach.optimizers, self.opt_snap):
            if len(opt.param_groups) != len(groups) or len(opt.state) != len(state):
                return False
            for g, ps in zip(opt.param_groups, groups):
                if not _same(g["params"], ps):
                    return False
            for (p, keys), (p2, st) in zip(state, opt.state.items()):
                if p is not p2 or len(st) != len(keys):
                    return False
        return True

    def key(self):
        parts = [tuple([m.training for m in self.mods])]
        parts += [(_layout(t._data), t._requires_grad, t._grad_fn is None,
                   None if t._grad is None else _layout(t._grad._data)) for t in self.fixed]
        for opt in self.reach.optimizers:
            for g in opt.param_groups:
                parts.append(tuple(_value_key(v) for k, v in g.items() if k != "params"))
        return tuple(parts)

    def state(self, arg_tensors):
        """The program's input tensors: the tensor arguments, then the fixed ones."""
        out = []
        ids = set()
        for t in arg_tensors:
            if id(t) not in ids:
                ids.add(id(t))
                out.append(t)
        if not ids & self.fixed_ids:
            out += self.fixed
        else:
            out += [t for t in self.fixed if id(t) not in ids]
        # (then the gradients they hold: a backward pass accumulates into them in place)
        grads = [t._grad for t in out if t._grad is not None]
        return out + grads if grads else out


class CompiledFunction:
    """A function under ``ember.compile`` (see the module docstring)."""

    def __init__(self, fn, fullgraph=False, dynamic=None, mode=None, options=None, call=None):
        self._fn = call if call is not None else fn
        self._target = fn
        self._fullgraph = fullgraph
        self._dynamic = dynamic
        self._mode = mode
        self._options = dict(options or {})
        self._reach = None
        self._plan = None
        self._cache: dict = {}
        self._breaks: list = []  # (signature count, reason)
        self._limit_warned = False
        self._warm = False
        self.__wrapped__ = fn
        for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
            try:
                setattr(self, attr, getattr(fn, attr))
            except (AttributeError, TypeError):
                pass
        _ALL.append(self)

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return types.MethodType(self, obj)

    def __repr__(self):
        return f"<ember.compile of {getattr(self._fn, '__qualname__', self._fn)!r}>"

    # ---- the call ---------------------------------------------------------------------------
    def _signature(self, plan, leaves):
        ac = _AUTOCAST[0]
        if ac is None:
            from ..amp import autocast_mode as ac

            _AUTOCAST[0] = ac
        tensor_sigs = []
        others = []
        seen: dict = {}
        fixed = plan.fixed_ids
        for k, x in enumerate(leaves):
            if isinstance(x, Tensor):
                # (which arguments are the same tensor, or a tensor the state holds, decides
                # the program's inputs)
                tensor_sigs.append((id(x) if id(x) in fixed else 0,
                                    seen.setdefault(id(x), k), _tensor_sig(x)))
            else:
                others.append(_value_key(x))
        return (STATE.enabled, STATE.inference, _dt.get_default_dtype(),
                (ac.is_autocast_enabled("cpu"), ac.get_autocast_dtype("cpu"),
                 ac.is_autocast_enabled("cuda"), ac.get_autocast_dtype("cuda")),
                tuple(tensor_sigs), tuple(others), plan.key())

    def __call__(self, *args, **kwargs):
        rec = _trace.current()
        if rec is not None:
            # (called while another compiled function is being traced: its calls become part
            # of that trace, as torch.compile inlines a compiled function it meets)
            return self._fn(*args, **kwargs)
        if self._reach is None or not self._reach.current():
            self._reach = _Reach(self._target)
            self._plan = None
            self._cache.clear()
        reach = self._reach
        leaves = []
        try:
            spec = _structure((args, kwargs), leaves)
        except _Slow:  # (namedtuples, OrderedDicts...: the general pytree)
            leaves, spec = tree_flatten((args, kwargs))
        for x in leaves:  # (modules and optimizers given as arguments are state too)
            if not isinstance(x, Tensor) and id(x) not in reach._seen and \
                    (_is_module(x) or _is_optimizer(x)):
                reach._add(x)
                self._plan = None
        plan = self._plan
        if plan is None or not plan.valid():
            plan = self._plan = _Plan(reach)
        key = (self._signature(plan, leaves), spec)
        entry = self._cache.get(key)
        if entry is None:
            if reach.optimizers and not self._warm:
                # an optimizer makes its state on its first step: that call runs eagerly
                self._warm = True
                return self._fn(*args, **kwargs)
            if len(self._cache) >= config.recompile_limit:
                if not self._limit_warned:
                    self._limit_warned = True
                    warnings.warn(
                        f"ember.compile hit config.recompile_limit ({config.recompile_limit}): "
                        f"function {getattr(self._fn, '__name__', self._fn)!r} runs eagerly "
                        "for new signatures from now on. To find the cause, see "
                        "ember.compiler.explain.", stacklevel=2)
                return self._fn(*args, **kwargs)
            return self._trace(key, reach, args, kwargs, leaves)
        if entry.eager or not entry.lock.acquire(blocking=False):
            return self._fn(*args, **kwargs)
        try:
            return self._replay(entry, reach, args, kwargs, leaves)
        finally:
            entry.lock.release()

    # ---- tracing ----------------------------------------------------------------------------
    def _trace(self, key, reach, args, kwargs, leaves):
        t0 = time.perf_counter()
        entry = _Entry()
        hooks = _module_hooks(reach.modules)
        arg_tensors = [x for x in leaves if isinstance(x, Tensor)]
        state = self._plan.state(arg_tensors)
        if hooks is None:
            for t in state:
                if _tensor_hooks(t):
                    hooks = "a tensor the function reads has hooks"
                    break
                if type(t._data) is not np.ndarray:
                    # (the tracer models NumPy's arrays: CUDA and meta tensors run eagerly)
                    hooks = f"ember.compile traces CPU tensors; this call has a {t.device} tensor"
                    break
        if hooks is not None:
            return self._eager(key, entry, hooks, args, kwargs)
        try:
            result = self._record(entry, reach, state, args, kwargs)
        except _Warmup as w:
            return w.result
        except GraphBreak as e:
            self._cache.pop(key, None)
            if e.result is not _NO_RESULT:  # (the call ran to its end: its result stands)
                self._note_break(key, entry, e.reason)
                return e.result
            return self._eager(key, entry, e.reason, args, kwargs)
        except Unsupported:
            self._cache.pop(key, None)
            raise
        entry.compile_time = time.perf_counter() - t0
        self._cache[key] = entry
        return result

    def _note_break(self, key, entry, reason):
        """This signature runs eagerly from now on (under fullgraph: the break raises)."""
        if self._fullgraph:
            raise Unsupported(reason)
        entry.eager = True
        entry.reason = reason
        self._cache[key] = entry
        self._breaks.append(reason)

    def _eager(self, key, entry, reason, args, kwargs):
        self._note_break(key, entry, reason)
        return self._fn(*args, **kwargs)

    def _record(self, entry, reach, state, args, kwargs):
        rec = Recorder()
        rec.fullgraph = self._fullgraph
        real = [t._data for t in state]
        grads_before = {id(t): t._grad for t in state}
        versions = [None if t._vc is None else t._vc[0] for t in state]
        structure = [_opt_key(o)[1] for o in reach.optimizers]
        inputs = []
        known = {id(t) for t in state}
        swaps = _modes.Swaps()
        mode = _TraceMode()
        ran_backward = [False]
        accumulate = _graph.accumulate_grad

        def checked_accumulate(var, grad, create_graph, owned=False):
            ran_backward[0] = True
            if id(var) not in known and rec.open:
                rec.fail("backward() reaches a tensor that requires grad which the compiler "
                         "did not see (pass it as an argument, or make it a parameter of a "
                         "module the function uses)")
            return accumulate(var, grad, create_graph, owned)

        broke = None
        result = _NO_RESULT
        aot = None
        try:
            for t in state:
                tr = rec.input(t._data)
                inputs.append(tr._i)
                t._data = tr
            swaps.set(_graph, "accumulate_grad", checked_accumulate)
            swaps.set(_engine, "_call_rule", _naming_rule(_engine._call_rule))
            swaps.set(builtins, "print", _refuse_print)
            for name in ("numpy", "__array__", "register_hook", "retain_grad",
                         "register_post_accumulate_grad_hook"):
                swaps.set(Tensor, name, _tensor_refusal(name, getattr(Tensor, name)))
            _trace.swap_rng(swaps)
            _trace._CUR[0] = rec
            _modes.enter(mode)
            try:
                result = self._fn(*args, **kwargs)
                if STATE.enabled and not ran_backward[0] and rec.open:
                    # a guard in the traced backward pass can fall back (recomputing the call
                    # eagerly) only when the forward changed nothing
                    rec.no_guards = rec.wrote_state
                    rec.snap_inputs_fwd = set(rec.snap_inputs)
                    aot = self._trace_backward(rec, state, tree_flatten(result)[0])
                # (which variable each tensor's array is, before they become plain again)
                vars_of = {}
                for x in tree_flatten(result)[0]:
                    if isinstance(x, Tensor):
                        vars_of[id(x)] = _var_of(rec, x)
                for t in state:
                    if t._grad is not None:
                        vars_of[id(t._grad)] = _var_of(rec, t._grad)
                if aot is not None:
                    for g in aot[4]:
                        if g is not None:
                            vars_of[id(g)] = _var_of(rec, g)
            except GraphBreak as e:
                broke = e
            finally:
                _modes.exit(mode)
                _trace._CUR[0] = None
                rec.open = False
                swaps.restore()
        finally:
            # whatever happened, every array the call touched is a plain one again
            for t in state:
                _untrace(t)
                if t._grad is not None:
                    _untrace(t._grad)
            if result is not _NO_RESULT:
                for x in tree_flatten(result)[0]:
                    if isinstance(x, Tensor):
                        _untrace(x)
            for o in reach.optimizers:
                for s in o.state.values():
                    for v in s.values():
                        if isinstance(v, Tensor):
                            _untrace(v)
        if broke is not None:  # (only under fullgraph: a break raises there)
            raise Unsupported(broke.reason) from broke
        if rec.broken is not None:
            # the call ran to its end for real (the tracer computes as it records): its result
            # stands, and this signature runs eagerly from now on
            broke = GraphBreak(rec.broken)
            broke.result = result
            raise broke
        if [_opt_key(o)[1] for o in reach.optimizers] != structure:
            raise _Warmup(result)
        # ---- what the call changed ------------------------------------------------------------
        effects = []  # (state position, output index or None): its .grad after the call
        new_grads = {}  # id of a .grad the call made -> the position of its tensor
        extra_outputs = []
        bumps = []
        cur = {id(t): t for t in state}
        for k, (t, a, v0) in enumerate(zip(state, real, versions)):  # noqa: B007
            if t._data is not a:
                raise GraphBreak("the call rebinds a tensor's array (.data = ...): not replayed")
            if v0 is not None and t._vc is not None and t._vc[0] != v0:
                bumps.append((k, t._vc[0] - v0))
            g0, g1 = grads_before[id(t)], t._grad
            if g1 is not g0:
                if g1 is None:
                    effects.append((k, None))
                else:
                    gv = _known(vars_of, g1)
                    effects.append((k, len(extra_outputs)))
                    extra_outputs.append(gv)
                    new_grads[id(g1)] = k
        # ---- the outputs ------------------------------------------------------------------
        out_leaves, out_spec = tree_flatten(result)
        out_slots = []
        user_outputs = []
        shared = {id(t._vc) for t in state if t._vc is not None}
        position = {id(t): k for k, t in enumerate(state)}
        for x in out_leaves:
            if isinstance(x, Tensor):
                if id(x) in cur:
                    out_slots.append(("state", position[id(x)]))
                elif id(x) in new_grads:  # (the .grad the call made: the same tensor)
                    out_slots.append(("grad", new_grads[id(x)]))
                elif x._vc is not None and id(x._vc) in shared:
                    raise GraphBreak("the call returns a view of its input (a view's autograd "
                                     "metadata and shared version counter are not replayed)")
                else:
                    out_slots.append(("new", len(user_outputs), x._requires_grad))
                    user_outputs.append(_known(vars_of, x))
            elif type(x) is _trace.TracedScalar:
                out_slots.append(("scalar", len(user_outputs)))
                user_outputs.append(Ref(x._i))
            else:
                out_slots.append(("const", x))
        entry.state_slots = len(state)
        entry.effects = effects
        entry.outputs = (out_slots, _builder(result, out_spec))
        entry.bumps = bumps
        entry.ops = sorted({ins.op for ins in rec.instrs if ins.op})
        snap = rec.snap_inputs if aot is None else getattr(rec, "snap_inputs_fwd", set())
        if snap or rec.snap_engines:
            entry.snapshot = ([k for k, i in enumerate(inputs) if i in snap],
                              list(rec.snap_engines))
        if aot is None:
            prog = Program(rec.instrs, inputs, user_outputs + extra_outputs, rec.vals)
            prog.optimize(reuse_buffers=config.reuse_buffers)
            entry.fn = prog.build("compiled_fn")
            entry.source = entry.fn.__ember_source__
            entry.stats = prog.stats
            entry.n_outs = len(user_outputs)
            return result
        split, placeholders, diff_in, diff_out, grads = aot
        fwd_instrs, bwd_instrs = rec.instrs[:split], rec.instrs[split:]
        defined_bwd = set(placeholders)
        for ins in bwd_instrs:
            from ._program import out_vars
            defined_bwd.update(out_vars(ins.out, []))
        needed = []
        for ins in bwd_instrs:
            from ._program import refs
            for i in refs(ins.args, refs(ins.kwargs, [])):
                if i not in defined_bwd and i not in needed:
                    needed.append(i)
        grads_out = []
        for g in grads:
            grads_out.append(None if g is None else _known(vars_of, g))
        for g in grads_out:
            if type(g) is Ref and g.i not in defined_bwd and g.i not in needed:
                needed.append(g.i)
        bwd_prog = Program(bwd_instrs, needed + placeholders, grads_out, rec.vals)
        bwd_prog.optimize(reuse_buffers=False)
        fwd_prog = Program(fwd_instrs, inputs, user_outputs + extra_outputs +
                           [Ref(i) for i in needed], rec.vals)
        fwd_prog.optimize(reuse_buffers=config.reuse_buffers)
        entry.fn = fwd_prog.build("compiled_forward")
        entry.bwd = bwd_prog.build("compiled_backward")
        entry.source = entry.fn.__ember_source__
        entry.bwd_source = entry.bwd.__ember_source__
        entry.stats = {"forward": fwd_prog.stats, "backward": bwd_prog.stats}
        entry.aot = True
        entry.n_outs = len(user_outputs)
        entry.diff_mask = (diff_in, diff_out)
        written = set()
        for ins in bwd_prog.instrs:
            written.update(ins.writes)
        entry.bwd_copies = [k for k, i in enumerate(needed + placeholders) if i in written]
        return result

    def _trace_backward(self, rec, state, out_leaves):
        """Trace the backward pass of the call's differentiable outputs (AOTAutograd)."""
        from ..autograd import grad as _grad

        diff_out = [k for k, x in enumerate(out_leaves) if isinstance(x, Tensor) and
                    x._requires_grad and x.dtype.is_floating_point]
        diff_in = [k for k, t in enumerate(state) if t._requires_grad]
        if not diff_out or not diff_in:
            return None
        split = len(rec.instrs)
        placeholders = []
        grad_outputs = []
        for k in diff_out:
            x = out_leaves[k]
            tr = rec.input(np.ones(x._data.shape, x._data.dtype))
            placeholders.append(tr._i)
            grad_outputs.append(wrap(tr))
        grads = _grad([out_leaves[k] for k in diff_out], [state[k] for k in diff_in],
                      grad_outputs=grad_outputs, retain_graph=True, allow_unused=True,
                      materialize_grads=False)
        return split, placeholders, diff_in, diff_out, list(grads)

    # ---- replay -----------------------------------------------------------------------------
    def _replay(self, entry, reach, args, kwargs, leaves):
        state = self._plan.state([x for x in leaves if isinstance(x, Tensor)])
        arrays = [t._data for t in state]
        saved = None
        if entry.snapshot is not None:  # (see _restore)
            idx, engines = entry.snapshot
            saved = ([arrays[k].copy() for k in idx], [e.state_bytes() for e in engines])
        try:
            if entry.aot:
                return self._replay_aot(entry, state, arrays, (self, args, kwargs))
            res = entry.fn(*arrays)
        except GuardMiss:
            # a value the trace read into Python differs: this call runs eagerly instead. A
            # guard before any write leaves nothing to undo; a later one (after, say, a
            # BatchNorm's running statistics or a dropout draw) finds the inputs written and
            # the generators drawn from until then put back as they were
            if saved is not None:
                for k, a in zip(entry.snapshot[0], saved[0]):
                    np.copyto(arrays[k], a)
                for e, blob in zip(entry.snapshot[1], saved[1]):
                    e.load_state_bytes(blob)
            entry.misses += 1
            if entry.misses >= config.guard_miss_limit:
                entry.eager = True
                entry.reason = "a value guard failed repeatedly"
                self._breaks.append(entry.reason)
            return self._fn(*args, **kwargs)
        return self._finish(entry, state, res)

    def _finish(self, entry, state, res, outs=None):
        for k, n in entry.bumps:
            vc = state[k]._vc
            if vc is not None:
                vc[0] += n
        n_outs = entry.n_outs
        for k, idx in entry.effects:
            state[k]._grad = None if idx is None else wrap(res[n_outs + idx])
        slots, spec = entry.outputs
        values = []
        for slot in slots:
            kind = slot[0]
            if kind == "new":
                values.append(outs[slot[1]] if outs is not None else wrap(res[slot[1]]))
            elif kind == "state":
                values.append(state[slot[1]])
            elif kind == "grad":
                values.append(state[slot[1]]._grad)
            elif kind == "scalar":
                values.append(res[slot[1]])
            else:
                values.append(slot[1])
        return spec(values)

    def _replay_aot(self, entry, state, arrays, call):
        diff_in, diff_out = entry.diff_mask
        inputs = [state[k] for k in diff_in]
        box = [(call, state, [None if t._vc is None else t._vc[0] for t in state])]
        outs = _CompiledFunction.apply(entry, arrays, box, *inputs)
        if not isinstance(outs, tuple):
            outs = (outs,)
        return self._finish(entry, state, box[1], outs=list(outs))


_NO_RESULT = object()
_AUTOCAST = [None]  # (ember.amp.autocast_mode, imported on the first call: amp loads lazily)
GraphBreak.result = _NO_RESULT


class _Warmup(Exception):
    """The trace changed the state's structure (an optimizer made its state): its result
    stands, and the next call traces again."""

    def __init__(self, result):
        super().__init__("warm-up")
        self.result = result


def _var_of(rec, t):
    """The program variable holding tensor ``t``'s array at the end of the call (None: an
    array the trace did not compute, a constant)."""
    d = t._data
    if type(d) is Traced and d._t is rec:
        return Ref(d._i)
    return None


class _Slow(Exception):
    """A container the fast flattening does not know (the general pytree handles it)."""


def _structure(x, leaves):
    """Append ``x``'s leaves to ``leaves`` and give a hashable key of its structure, for plain
    tuples, lists and dicts (the arguments' usual shape; the cost of every call)."""
    t = type(x)
    if t is tuple or t is list:
        return (t, tuple([_structure(v, leaves) for v in x]))
    if t is dict:
        return (dict, tuple([(k, _structure(v, leaves)) for k, v in x.items()]))
    if isinstance(x, (tuple, list, dict)):
        raise _Slow
    leaves.append(x)
    return None


def _builder(result, spec):
    """How a replay assembles its outputs from the flat values: directly for a tensor or a
    plain tuple/list of leaves, else through the pytree."""
    t = type(result)
    if spec.type is None:  # (a single leaf)
        return lambda values: values[0]
    if (t is tuple or t is list) and all(
            not isinstance(v, (tuple, list, dict)) for v in result):
        return (lambda values: tuple(values)) if t is tuple else list
    return lambda values: tree_unflatten(values, spec)


def _untrace(t):
    """``t``'s array as a plain one again (NumPy's scalars become 0-d arrays, as ops make)."""
    d = t._data
    if type(d) is Traced:
        a = d._a
        t._data = a if type(a) is np.ndarray else np.asarray(a)


def _known(vars_of, t):
    v = vars_of.get(id(t))
    if v is None:
        raise GraphBreak("the call returns or stores a tensor whose array the trace did not "
                         "compute (a constant tensor)")
    return v


class _CompiledFunction:
    """The autograd side of a compiled call: built on ``autograd.Function`` on first use."""

    _fn = None

    @classmethod
    def apply(cls, entry, arrays, box, *inputs):
        if cls._fn is None:
            cls._fn = _make_function()
        return cls._fn.apply(entry, arrays, box, *inputs)


def _make_function():
    from ..autograd.function import Function

    class CompiledFunction(Function):
        @staticmethod
        def forward(ctx, entry, arrays, box, *inputs):
            res = entry.fn(*arrays)
            ctx.call, ctx.state, ctx.versions = box[0]
            box.append(res)
            ctx.inputs = inputs
            n = entry.n_outs
            extra = sum(1 for e in entry.effects if e[1] is not None)
            ctx.entry = entry
            ctx.residuals = res[n + extra:]
            outs = []
            nondiff = []
            slots = entry.outputs[0]
            for slot in slots:
                if slot[0] == "new":
                    o = wrap(res[slot[1]])
                    outs.append(o)
                    if not slot[2] or not o.dtype.is_floating_point:
                        nondiff.append(o)  # (as eager's: lstsq's singular values...)
            if nondiff:
                ctx.mark_non_differentiable(*nondiff)
            return tuple(outs) if len(outs) != 1 else outs[0]

        @staticmethod
        def backward(ctx, *grads):
            entry = ctx.entry
            diff_in, diff_out = entry.diff_mask
            slots = entry.outputs[0]
            new_k = [k for k, s in enumerate(slots) if s[0] == "new"]
            gs = []
            for pos in diff_out:
                j = new_k.index(pos) if pos in new_k else None
                g = grads[j] if j is not None else None
                gs.append(g._data if g is not None else None)
            args = list(ctx.residuals) + gs
            for k in entry.bwd_copies:
                args[k] = args[k].copy()
            try:
                res = entry.bwd(*args)
            except GuardMiss:
                return (None, None, None, *_recompute(ctx, grads))
            if STATE.enabled:  # (create_graph: the gradients' own backward refuses, as PyTorch)
                from ..ops._registry import record

                node = _double_backward_node()
                outs = [None if r is None else record(node, r, ctx.inputs) for r in res]
            else:
                outs = [None if r is None else wrap(r) for r in res]
            return (None, None, None, *outs)

    CompiledFunction.__name__ = "CompiledFunction"
    return CompiledFunction


_DOUBLE = []


def _recompute(ctx, grads):
    """A backward replay's value guard failed: the gradients of the call computed eagerly
    (its forward changed nothing, so running it again is safe), as long as no input changed
    since the forward (else eager's error)."""
    from ..autograd import grad as _grad
    from ..autograd.grad_mode import enable_grad

    cf, args, kwargs = ctx.call
    for t, v in zip(ctx.state, ctx.versions):
        if v is not None and t._vc is not None and t._vc[0] != v:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: [{t.type()} {list(t.shape)}] is at version "
                f"{t._vc[0]}; expected version {v} instead.")
    entry = ctx.entry
    diff_in, diff_out = entry.diff_mask
    with enable_grad():
        outs = tree_flatten(cf._fn(*args, **kwargs))[0]
    roots, gs = [], []
    slots = entry.outputs[0]
    new_k = [k for k, s in enumerate(slots) if s[0] == "new"]
    for pos in diff_out:
        j = new_k.index(pos) if pos in new_k else None
        g = grads[j] if j is not None else None
        if g is not None and outs[pos].requires_grad:
            roots.append(outs[pos])
            gs.append(g)
    inputs = [ctx.state[k] for k in diff_in]
    if not roots:
        return [None] * len(inputs)
    return list(_grad(roots, inputs, grad_outputs=gs, allow_unused=True))


def _double_backward_node():
    if not _DOUBLE:
        from ..ops._registry import node_class

        def refuse(ctx, *grads):
            raise RuntimeError("torch.compile with aot_autograd does not currently support "
                               "double backward")
        _DOUBLE.append(node_class("CompiledFunctionBackwardBackward", refuse, refuse))
    return _DOUBLE[0]


def _optimized_module_class():
    """PyTorch's OptimizedModule: a Module whose one child is the compiled module
    (``_orig_mod``, so state_dict keys gain the ``_orig_mod.`` prefix, as PyTorch's do), whose
    calls go through the compiled function, and whose other attributes are the module's."""
    global OptimizedModule
    if OptimizedModule is not None:
        return OptimizedModule
    from ..nn.modules.module import Module

    class _OptimizedModule(Module):
        def __init__(self, mod, compiled):
            super().__init__()
            self._orig_mod = mod
            object.__setattr__(self, "_compiled", compiled)
            self.training = mod.training

        def __call__(self, *args, **kwargs):
            return self._compiled(*args, **kwargs)

        def forward(self, *args, **kwargs):
            return self._compiled(*args, **kwargs)

        def __getattr__(self, name):
            if name == "_orig_mod":
                return self._modules["_orig_mod"]
            return getattr(self._orig_mod, name)

    _OptimizedModule.__name__ = _OptimizedModule.__qualname__ = "OptimizedModule"
    OptimizedModule = _OptimizedModule
    return OptimizedModule


OptimizedModule = None  # (the class, made on first use: nn loads lazily)


def disable(fn=None, recursive=True, *, reason=None):
    """``torch.compiler.disable``: ``fn`` always runs eagerly; called while a function is
    being traced, it is a graph break."""
    if fn is None:
        return lambda f: disable(f, recursive, reason=reason)

    def eager(*args, **kwargs):
        rec = _trace.current()
        if rec is not None and rec.open:
            rec.fail(f"{getattr(fn, '__name__', 'a function')} is marked "
                     f"ember.compiler.disable" + (f" ({reason})" if reason else ""))
        return fn(*args, **kwargs)
    eager.__wrapped__ = fn
    for attr in ("__name__", "__qualname__", "__doc__"):
        try:
            setattr(eager, attr, getattr(fn, attr))
        except (AttributeError, TypeError):
            pass
    return eager


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor",  # noqa: A001
            mode=None, options=None, disable=False):
    """``torch.compile``: see the module docstring."""
    if model is None:
        def decorate(fn):
            return compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                           mode=mode, options=options, disable=disable)
        return decorate
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if not callable(model):
        raise RuntimeError(f"compile(): expected a callable or a Module, got "
                           f"{type(model).__name__}")
    if disable:
        return model
    if _is_module(model):
        compiled = CompiledFunction(model, fullgraph, dynamic, mode, options,
                                    call=model._plain_call)
        return _optimized_module_class()(model, compiled)
    return CompiledFunction(model, fullgraph, dynamic, mode, options)


def reset():
    """Forget every compiled program (``torch._dynamo.reset``)."""
    for cf in _ALL:
        cf._cache.clear()
        cf._reach = None
        cf._plan = None
        cf._breaks.clear()
        cf._limit_warned = False
        cf._warm = False


class ExplainOutput:
    """What compiling a function does with some arguments (``torch._dynamo.explain``'s)."""

    def __init__(self, graph_count, graph_break_count, break_reasons, op_count, ops_per_graph,
                 out_guards, compile_times, sources):
        self.graph_count = graph_count
        self.graph_break_count = graph_break_count
        self.break_reasons = break_reasons
        self.op_count = op_count
        self.ops_per_graph = ops_per_graph
        self.out_guards = out_guards
        self.compile_times = compile_times
        self.sources = sources

    def __str__(self):
        lines = [f"Graph Count: {self.graph_count}",
                 f"Graph Break Count: {self.graph_break_count}",
                 f"Op Count: {self.op_count}", "Break Reasons:"]
        for k, r in enumerate(self.break_reasons):
            lines.append(f"  Break Reason {k + 1}:\n    Reason: {r}")
        lines.append("Ops per Graph:")
        for k, ops in enumerate(self.ops_per_graph):
            lines.append(f"  Ops {k + 1}:")
            lines.extend(f"    {op}" for op in ops)
        lines.append(f"Compile Times: {self.compile_times}")
        return "\n".join(lines)

    __repr__ = __str__


def explain(fn, *args, **kwargs):
    """``torch._dynamo.explain``: ``explain(fn)(*args)`` or ``explain(fn, *args)``."""
    def run(*args, **kwargs):
        cf = CompiledFunction(fn)
        try:
            cf(*args, **kwargs)
        finally:
            _ALL.remove(cf)
        entries = list(cf._cache.values())
        graphs = [e for e in entries if not e.eager]
        reasons = [e.reason for e in entries if e.eager]
        ops = [e.ops for e in graphs]
        sources = [e.source + (("\n" + e.bwd_source) if e.bwd_source else "") for e in graphs]
        guards = [k for k, e in cf._cache.items()]
        return ExplainOutput(len(graphs), len(reasons), reasons, sum(len(o) for o in ops), ops,
                             guards, [f"{e.compile_time * 1e3:.1f} ms" for e in graphs],
                             sources)
    if args or kwargs:
        return run(*args, **kwargs)
    return run
