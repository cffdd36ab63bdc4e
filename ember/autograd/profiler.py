"""``ember.autograd.profiler``: time what ember runs, op by op, as PyTorch's profiler does.

Contract:
- ``profile(enabled=True, use_cpu=True, record_shapes=False, profile_memory=False,
  with_stack=False)`` is a context manager. Inside it, every public op called through
  ``ember.<op>``, a Tensor method or a Tensor operator is recorded as an event ``aten::<op>``;
  each backward node the engine runs is recorded as
  ``autograd::engine::evaluate_function: <node>`` with the node's own event
  (``PowBackward0``) inside it and the ops its rule runs inside that; the implicit
  gradient ``backward()`` creates for a scalar output is ``aten::ones_like``. Only work ember
  really does is recorded.
- After the block: ``function_events`` / ``events()`` (an ``EventList`` in start order; see
  profiler_util.py),
  ``key_averages(group_by_input_shape=False)``, ``table(sort_by, row_limit, ...)``,
  ``export_chrome_trace(path)``, ``self_cpu_time_total``; ``str(prof)`` is the table of all
  events, in PyTorch's layout (inside the block: ``<unfinished torch.autograd.profile>``).
- ``record_function(name)`` adds a user event around a block or a decorated function.

NOTE [zero cost when not profiling]: nothing on the op call path checks for a profiler. Entering
the first profiler swaps each published op (``ember.<name>``, ``Tensor.<name>``, Tensor operators)
for a timing wrapper and exiting the last one puts the originals back; the engine checks one
module-level flag per node (``engine.PROFILER``). Node classes get a timed ``_vjp`` (and
AccumulateGrad a timed ``accumulate``) the first time the engine runs one while profiling; they
are restored on exit too. Profilers nest: an inner one sees the events of its own block.
"""

from __future__ import annotations

import functools
import os
import threading
import traceback
from time import perf_counter_ns

from .. import _modes, _records
from .profiler_util import EventList, FunctionEvent, FunctionEventAvg

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]


# ---- recording ----------------------------------------------------------------------------

class _Recorder:
    """The events of all active profilers (one list; each profiler keeps its slice)."""

    def __init__(self):
        self.events = []
        self.stacks = {}  # thread id -> open events, innermost last
        self.engine_open = {}  # thread id -> per engine run: its open evaluate_function event
        self.t0 = perf_counter_ns()
        self.record_shapes = False
        self.profile_memory = False
        self.with_stack = False

    def begin(self, name, args=()):
        tid = threading.get_ident()
        stack = self.stacks.get(tid)
        if stack is None:
            stack = self.stacks[tid] = []
        shapes = _shapes(args) if self.record_shapes else None
        frames = _user_stack() if self.with_stack else None
        e = FunctionEvent(len(self.events), name, tid, perf_counter_ns() - self.t0, shapes,
                          frames)
        if stack:
            e.cpu_parent = stack[-1]
            stack[-1].cpu_children.append(e)
        stack.append(e)
        self.events.append(e)
        return e

    def end(self, e, result=None, args=()):
        """End ``e``; with ``profile_memory`` its memory is the bytes of the new arrays in
        ``result`` (an op's output), or else what its children allocated (a block, a node)."""
        e.end_ns = perf_counter_ns() - self.t0
        if self.profile_memory:
            if result is None:
                e.cpu_memory_usage = sum(c.cpu_memory_usage for c in e.cpu_children)
            else:
                e.cpu_memory_usage = _new_bytes(result, args)
        stack = self.stacks[e.thread]
        while stack:  # an event left open by an exception ends with its parent
            top = stack.pop()
            if top is e:
                break
            top.end_ns = e.end_ns

    # -- the engine's hook (engine.PROFILER) --------------------------------------------------
    def run_begin(self):
        self.engine_open.setdefault(threading.get_ident(), []).append(None)

    def node(self, node):
        """The engine is about to run ``node`` (None: the run ends): end the event of the node
        before it and begin this one's."""
        levels = self.engine_open.setdefault(threading.get_ident(), [None])
        if not levels:
            levels.append(None)
        prev = levels[-1]
        if prev is not None:
            self.end(prev)
            levels[-1] = None
        if node is None:
            levels.pop()
            return
        _time_node_class(type(node))
        levels[-1] = self.begin(f"autograd::engine::evaluate_function: {node.name()}")


def _shapes(args):
    from ..tensor import Tensor

    return [list(a._data.shape) if isinstance(a, Tensor) else [] for a in args]


_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_stack():
    """The caller's Python frames outside ember, innermost first, as ``file(line): func``."""
    frames = traceback.extract_stack()
    out = [f"{f.filename}({f.lineno}): {f.name}" for f in reversed(frames)
           if not f.filename.startswith((_EMBER_DIR, "<ember "))]  # (and generated wrappers)
    return out


def _new_bytes(result, args):
    """Bytes of the new arrays in ``result``: not an input's array (in-place ops, no-op
    conversions) and not a view of another array."""
    from ..tensor import Tensor

    if isinstance(result, Tensor):
        data = result._data
        if data.base is not None:
            return 0
        for a in args:
            if isinstance(a, Tensor) and a._data is data:
                return 0
        return data.nbytes
    if isinstance(result, (tuple, list)):
        return sum(_new_bytes(r, args) for r in result)
    return 0


_REC: _Recorder | None = None
_ACTIVE: list = []  # profilers inside their block, outermost first


def _wrap(fn, name):
    """``fn``, timed as an event ``name`` while profiling."""

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        rec = _REC
        if rec is None:  # called after the profiler ended (a reference kept by the caller)
            return fn(*args, **kwargs)
        e = rec.begin(name, args)
        try:
            out = fn(*args, **kwargs)
        except BaseException:
            rec.end(e)
            raise
        rec.end(e, out, args)
        return out

    return timed


# ---- swapping the published ops in and out ------------------------------------------------

_SWAPS = None  # what is swapped while profiling besides the ops (_modes.Swaps)
_timed_classes = set()
_WRAPPED: dict = {}  # (key, op implementation) -> its timing wrapper, kept across profilers


class _ProfilerMode(_modes.Mode):
    """Times every published op (NOTE [one call path] in ember/_modes.py), named as PyTorch's
    aten ops; process-wide, as PyTorch's profiler."""

    def wrap(self, key, fn):
        # NOTE [op records] (ember/_records.py): each publication's aten name (an operator's
        # is its op's); None for composites (the profiler records the ops they call) and for
        # factories, Tensor's own data-moving methods and vmap's internal names
        if key.record is None or key.record.kind != "op" or key.space == "internal":
            return fn
        aten = _records.aten(key.space, key.name)
        if aten is None:
            return fn
        name = f"aten::{aten}"
        got = _WRAPPED.get((key, fn))
        if got is None:
            got = _WRAPPED[(key, fn)] = _wrap(fn, name)
        return got


_MODE = _ProfilerMode()


def _install():
    global _SWAPS
    from .. import autograd
    from . import engine

    _SWAPS = _modes.Swaps()
    _modes.enter(_MODE)
    _swap_make_grads(autograd)
    engine.PROFILER = _REC


def _swap_make_grads(autograd):
    """``backward()``'s implicit gradient (ones for a scalar output) as ``aten::ones_like``."""
    orig = autograd._make_grads

    @functools.wraps(orig)
    def make_grads(outputs, grad_outputs, *args, **kwargs):
        rec = _REC
        implicit = rec is not None and any(
            g is None and o._requires_grad for o, g in zip(outputs, grad_outputs))
        if not implicit:
            return orig(outputs, grad_outputs, *args, **kwargs)
        e = rec.begin("aten::ones_like", [o for o in outputs])
        try:
            out = orig(outputs, grad_outputs, *args, **kwargs)
        except BaseException:
            rec.end(e)
            raise
        rec.end(e, [g for g, given in zip(out, grad_outputs) if given is None])
        return out

    _SWAPS.set(autograd, "_make_grads", make_grads)


def _time_node_class(cls):
    """Give a node class a timed rule (``_vjp``, or AccumulateGrad's ``accumulate``) named
    after the node, the first time the engine runs one while profiling."""
    if cls in _timed_classes:
        return
    _timed_classes.add(cls)
    from .graph import AccumulateGrad

    attr = "accumulate" if issubclass(cls, AccumulateGrad) else "_vjp"
    orig = getattr(cls, attr)

    def timed(self, *args, **kwargs):
        rec = _REC
        if rec is None:
            return orig(self, *args, **kwargs)
        e = rec.begin(self.name())
        try:
            return orig(self, *args, **kwargs)
        finally:
            rec.end(e)

    timed.__name__ = attr
    _SWAPS.set(cls, attr, timed)


def _uninstall():
    from . import engine

    engine.PROFILER = None
    _modes.exit(_MODE)
    _SWAPS.restore()
    _timed_classes.clear()


def _start(prof):
    global _REC
    if _REC is None:
        _REC = _Recorder()
        _install()
    _ACTIVE.append(prof)
    rec = _REC
    rec.record_shapes = any(p.record_shapes for p in _ACTIVE)
    rec.profile_memory = any(p.profile_memory for p in _ACTIVE)
    rec.with_stack = any(p.with_stack for p in _ACTIVE)
    return rec, len(rec.events)


def _stop(prof, first):
    """The events recorded since ``prof`` started (nesting outside them dropped)."""
    global _REC
    rec = _REC
    _ACTIVE.remove(prof)
    events = rec.events[first:]
    ids = {id(e) for e in events}
    copies = {}
    for e in events:  # each profiler gets its own events, re-parented within its slice
        c = copies[id(e)] = FunctionEvent(len(copies), e.name, e.thread, e.start_ns,
                                          e.input_shapes, e.stack)
        c.end_ns = e.end_ns
        c.cpu_memory_usage = e.cpu_memory_usage
        if e.cpu_parent is not None and id(e.cpu_parent) in ids:
            c.cpu_parent = copies[id(e.cpu_parent)]
            c.cpu_parent.cpu_children.append(c)
    if not _ACTIVE:
        _uninstall()
        _REC = None
    t0 = min((c.start_ns for c in copies.values()), default=0)
    for c in copies.values():  # times from this profiler's first event
        c.start_ns -= t0
        c.end_ns -= t0
    for stack in rec.stacks.values():  # events still open (the profiler ended inside them)
        for e in stack:
            if id(e) in copies:
                copies[id(e)].end_ns = copies[id(e)].start_ns
    return list(copies.values())


# ---- the public API -----------------------------------------------------------------------

class profile:
    """Record the ops ember runs in a block (PyTorch's ``torch.autograd.profiler.profile``).

    >>> x = ember.randn((1, 1), requires_grad=True)
    >>> with ember.autograd.profiler.profile() as prof:
    ...     (x ** 2).backward()
    >>> [e.name for e in prof.function_events][:2]
    ['aten::pow', 'aten::ones_like']
    """

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, use_cpu=True,
                 record_shapes=False, with_flops=False, profile_memory=False, with_stack=False,
                 with_modules=False, use_kineto=False, experimental_config=None,
                 acc_events=False, custom_trace_id_callback=None):
        if not use_cpu:
            raise ValueError("ember's profiler records CPU time only: use_cpu must be True")
        if use_cuda or (use_device not in (None, "cpu")):
            raise ValueError("ember runs on the CPU only: profile(use_cuda=True) or a "
                             f"use_device other than 'cpu' ({use_device!r}) is not available")
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.function_events = None
        self._entered = False
        self._first = 0

    def __enter__(self):
        if not self.enabled:
            return self
        if self._entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self._entered = True
        self.function_events = None
        _, self._first = _start(self)
        return self

    def __exit__(self, *exc):
        if not self.enabled:
            return False
        self._entered = False
        self.function_events = EventList(_stop(self, self._first), self.profile_memory)
        return False

    def __str__(self):
        if self.function_events is None:
            return "<unfinished torch.autograd.profile>"
        return str(self.function_events)

    def __repr__(self):
        if self.function_events is None:
            return "<unfinished torch.autograd.profile>"
        return repr(self.function_events)

    def _check_finish(self):
        if self.function_events is None:
            raise RuntimeError("Profiler didn't finish running")

    def events(self) -> EventList:
        self._check_finish()
        return self.function_events

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False, time_unit=None) -> str:
        self._check_finish()
        return self.function_events.table(
            sort_by=sort_by, row_limit=row_limit, max_src_column_width=max_src_column_width,
            max_name_column_width=max_name_column_width,
            max_shapes_column_width=max_shapes_column_width, header=header,
            top_level_events_only=top_level_events_only, time_unit=time_unit)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0) -> EventList:
        self._check_finish()
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n)

    def total_average(self):
        self._check_finish()
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        self._check_finish()
        return self.function_events.self_cpu_time_total

    def export_chrome_trace(self, path):
        self._check_finish()
        self.function_events.export_chrome_trace(path)


class record_function:
    """A user event around a block (``with record_function("name"):``) or a function
    (``@record_function("name")``); recorded only while a profiler is active.

    >>> with ember.autograd.profiler.profile() as prof:
    ...     with ember.autograd.profiler.record_function("step"):
    ...         _ = ember.ones(2) * 2
    >>> [e.name for e in prof.function_events]
    ['step', 'aten::mul']
    """

    def __init__(self, name, args=None):
        self.name = name
        self.args = args
        self._events = []

    def __enter__(self):
        rec = _REC
        self._events.append((rec, rec.begin(self.name) if rec is not None else None))
        return self

    def __exit__(self, *exc):
        rec, e = self._events.pop()
        if e is not None and rec is _REC:
            rec.end(e)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)

        return wrapped
