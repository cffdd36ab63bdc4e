"""The mode stack, and the one call path every published op goes through.

Contract:
- A ``Mode`` intercepts ops while it is active: vmap, forward-mode AD, the profiler and anomaly
  mode today; a tracer for a compiler or a device checker tomorrow. ``wrap(key, fn)`` returns
  the implementation of the op ``key`` to use given ``fn``, the implementation below this mode
  (``fn`` itself when the mode leaves the op alone). A ``thread_local`` mode is seen only by the
  thread that entered it (vmap, as PyTorch's functorch layers); the others by every thread
  (PyTorch's forward-AD levels, profiler and anomaly flag are process-wide too).
- ``enter(mode)`` pushes a mode, ``exit(mode)`` removes it wherever it is (so modes may be left
  in any order, and an exception unwinding through several leaves nothing behind); both cost a
  few microseconds.
- ``OpKey(space, name, record)``: what a dispatcher stands for: ``space`` is where the op is
  published ("torch" for ``ember.<op>``, "Tensor" for methods and operators, "F", "linalg",
  "special", "random" for ``ember.random``), ``name`` its attribute there, ``record`` the op's
  record (NOTE [op records] in _records.py: its aten name, batching rule, kernel...). Space
  "internal" marks the names in the modules that define the ops, which ember's own code calls
  (published through dispatchers when the first vmap runs, for its batching rules; ``name`` is
  the rule's key): a mode that wants only the user's calls leaves those alone.
- ``dispatcher(key, fn)``: the callable published for an op, once and for all (NOTE [one call
  path]); ``install(owner, attr, key)`` replaces ``owner.attr`` by its dispatcher.
- ``intercepting()``: whether a mode is active for the calling thread (fused array-level fast
  paths, which a mode would not see, step aside then).
- ``Swaps``: what a mode replaces besides ops while it is active (the profiler's node timing,
  anomaly mode's counters): ``set(owner, attr, new)`` remembers what was there, ``restore()``
  puts it back in reverse order. Ops are never swapped: they reach modes through their
  dispatchers.

NOTE [one call path]: every published op (``ember.<op>``, Tensor methods and operators, the
functions of ``nn.functional``, ``linalg``, ``special`` and ``ember.random``) is a dispatcher
made when its namespace is built and never replaced afterwards, so a reference taken at any time
(``from ember import exp``, ``f = torch.sin`` before a ``vmap``) reaches the active modes. With
no mode active anywhere a dispatcher's cost is one list lookup and a call; otherwise it composes
the active modes' ``wrap`` around the op (innermost mode outermost), once per op and stack state
(a per-thread cache, dropped when a mode enters or leaves). A dispatcher also turns an op's
TypeError over tensors of two devices into PyTorch's same-device error (``devices_mixed``),
at no cost to calls that succeed.
"""

from __future__ import annotations

import threading
from functools import update_wrapper
from typing import NamedTuple

__all__ = ["Mode", "OpKey", "enter", "exit", "active_modes", "intercepting", "dispatcher",
           "install", "ACTIVE", "Swaps"]

ACTIVE = [0]  # how many modes are active in all threads: the dispatchers' fast-path check
_GLOBAL: list = []  # the process-wide modes, as (sequence number, mode), in entry order
_VERSION = [0]  # bumped whenever _GLOBAL changes (the per-thread caches check it)
_SEQ = [0]
_LOCK = threading.Lock()
_tls = threading.local()


class OpKey(NamedTuple):
    """What a dispatcher stands for: the namespace it is published in, its name there, and
    the op's record (ember/_records.py; None for vmap's "internal" names)."""

    space: str
    name: str
    record: object = None


class Mode:
    """Something that intercepts ops while active (see the module docstring)."""

    thread_local = False
    arrays_ok = False  # (True: array-level fast paths may run under it: see intercepting())

    def wrap(self, key: OpKey, fn):
        """The implementation of the op ``key`` under this mode, ``fn`` being the one below."""
        return fn

    def __enter__(self):
        enter(self)
        return self

    def __exit__(self, *exc):
        exit(self)


class _State:
    __slots__ = ("stack", "cache", "version")

    def __init__(self):
        self.stack = []  # this thread's modes, (sequence number, mode)
        self.cache = {}  # dispatcher -> its composed implementation
        self.version = -1


def _local() -> _State:
    try:
        return _tls.state
    except AttributeError:
        state = _tls.state = _State()
        return state


def enter(mode: Mode) -> None:
    """Push ``mode`` (on this thread's stack if it is thread-local, else process-wide)."""
    with _LOCK:
        _SEQ[0] += 1
        item = (_SEQ[0], mode)
        if mode.thread_local:
            state = _local()
            state.stack.append(item)
            state.cache.clear()
        else:
            _GLOBAL.append(item)
            _VERSION[0] += 1
        ACTIVE[0] += 1


def exit(mode: Mode) -> None:  # noqa: A001 - the pair of enter
    """Remove ``mode`` (its latest entry) wherever it is on its stack; a mode not active is
    ignored (an exit after an error already unwound it)."""
    with _LOCK:
        stack = _local().stack if mode.thread_local else _GLOBAL
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][1] is mode:
                del stack[i]
                ACTIVE[0] -= 1
                break
        else:
            return
        if mode.thread_local:
            _local().cache.clear()
        else:
            _VERSION[0] += 1


def active_modes() -> list:
    """The modes active for this thread, outermost (entered first) first."""
    state = _local()
    if not state.stack:
        return [m for _, m in _GLOBAL]
    return [m for _, m in sorted((*_GLOBAL, *state.stack), key=lambda item: item[0])]


def intercepting() -> bool:
    """Whether some mode is active for the calling thread that must see ember's ops (a mode
    with ``arrays_ok`` — ember.compile's tracer, which records the arrays' calls — lets the
    array-level fast paths run)."""
    if not ACTIVE[0]:
        return False
    stack = _local().stack
    if not _GLOBAL and not stack:
        return False
    for _, m in _GLOBAL:
        if not getattr(m, "arrays_ok", False):
            return True
    for _, m in stack:
        if not getattr(m, "arrays_ok", False):
            return True
    return False


def _implementation(op, key, fn):
    state = _local()
    if state.version != _VERSION[0]:
        state.cache.clear()
        state.version = _VERSION[0]
    impl = state.cache.get(op)
    if impl is None:
        impl = fn
        for mode in active_modes():
            impl = mode.wrap(key, impl)
        state.cache[op] = impl
    return impl


def dispatcher(key: OpKey, fn):
    """The published callable of the op ``key`` whose implementation is ``fn`` (NOTE [one
    call path]); it carries ``fn``'s name, docs and attributes, and ``__wrapped__`` is ``fn``.

    NOTE: for a Python function whose parameters are all required and positional (``exp``'s
    methods, the Tensor operators: the hottest calls) the dispatcher is compiled with ``fn``'s
    own parameter list, so the fast path does not pack the arguments into ``*args`` (a third
    of the dispatcher's cost). Other parameter lists keep ``*args, **kwargs``: a mode must see
    each call as it was made (which options were given, and how)."""
    make = _maker(fn)
    op = make(fn, _implementation, ACTIVE, key)
    update_wrapper(op, fn)
    if make is _generic:  # (read by introspection only: ``*args, **kwargs`` ignores them)
        op.__defaults__ = getattr(fn, "__defaults__", None)
        op.__kwdefaults__ = getattr(fn, "__kwdefaults__", None)
    op._dispatch_key = key
    op._op = getattr(fn, "_op", fn)  # (the op itself: what docs/ops_table.py groups names by)
    return op


def _generic(fn, impl, active, key):
    def op(*args, **kwargs):
        try:
            if active[0]:
                return impl(op, key, fn)(*args, **kwargs)
            return fn(*args, **kwargs)
        except TypeError:
            retry = devices_mixed(args, kwargs)
            if retry is None:
                raise
        return op(*retry[0], **retry[1])
    return op


def devices_mixed(args, kwargs):
    """After an op failed with a TypeError: None when its tensors share a device (the error
    stands); PyTorch's "Expected all tensors to be on the same device" RuntimeError when they
    do not; or the arguments to retry with, when the only CPU tensors among CUDA ones are 0-d
    (PyTorch lets a CPU scalar tensor join a CUDA op: it is copied over). NOTE [devices] in
    tensor.py: the array library's refusal of a foreign array is the signal, so ops that work
    pay nothing for the check."""
    from .tensor import Tensor, same_device_error

    found = []

    def scan(x):
        if isinstance(x, Tensor):
            found.append(x)
        elif isinstance(x, (list, tuple)):
            for v in x:
                scan(v)
    scan(args)
    scan(tuple(kwargs.values()))
    devices = {t.device for t in found}
    if len(devices) < 2:
        return None
    cuda = [d for d in devices if d.type == "cuda"]
    others = [d for d in devices if d.type != "cuda"]
    if len(cuda) > 1 or "meta" in {d.type for d in devices}:
        first, second = sorted(devices, key=str)[:2]
        raise same_device_error(first, second)
    target = cuda[0]
    if any(t.device.type == "cpu" and t.ndim for t in found):
        raise same_device_error(target, others[0])

    def move(x):
        if isinstance(x, Tensor):
            return x.to(target) if x.device.type == "cpu" else x
        if isinstance(x, list):
            return [move(v) for v in x]
        if isinstance(x, tuple):
            return tuple(move(v) for v in x)
        return x
    return move(args), {k: move(v) for k, v in kwargs.items()}


_MAKERS: dict = {}  # parameter list -> compiled maker


def _maker(fn):
    code = getattr(fn, "__code__", None)
    if code is None or not hasattr(fn, "__defaults__"):
        return _generic
    n, pos, kw = code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount
    if kw or fn.__defaults__ or code.co_flags & 0x0C:  # (defaults, keywords, *args: generic)
        return _generic
    params = list(code.co_varnames[:n])
    if any(p in ("op", "_fn", "_impl", "_active", "_key", "_retry", "_mixed") for p in params):
        return _generic
    sig_key = (tuple(params), pos)
    make = _MAKERS.get(sig_key)
    if make is not None:
        return make
    sig = params[:pos] + (["/"] if pos else []) + params[pos:]
    args = ", ".join(params)
    arg_tuple = f"({args},)" if params else "()"
    src = (f"def make(_fn, _impl, _active, _key):\n"
           f"    def op({', '.join(sig)}):\n"
           f"        try:\n"
           f"            if _active[0]:\n"
           f"                return _impl(op, _key, _fn)({args})\n"
           f"            return _fn({args})\n"
           f"        except TypeError:\n"
           f"            _retry = _mixed({arg_tuple}, {{}})\n"
           f"            if _retry is None:\n"
           f"                raise\n"
           f"        return op(*_retry[0])\n"
           f"    return op\n")
    ns: dict = {"_mixed": devices_mixed}
    exec(compile(src, "<ember dispatcher>", "exec"), ns)  # noqa: S102
    make = _MAKERS[sig_key] = ns["make"]
    return make


def install(owner, attr: str, key: OpKey, is_class: bool = False, aliases=None):
    """Publish ``owner.attr`` through a dispatcher (once: an existing dispatcher stays);
    returns what is published. Attributes that are not plain callables are left alone.
    ``aliases`` (a dict kept across the calls for one namespace) gives one object published
    under two names (``special.psi`` and ``special.digamma``) one dispatcher too."""
    fn = owner.__dict__.get(attr) if is_class else getattr(owner, attr, None)
    if fn is None or isinstance(fn, (type, staticmethod, classmethod, property)) or \
            not callable(fn) or getattr(fn, "_dispatch_key", None) is not None:
        return fn
    op = aliases.get(id(fn)) if aliases is not None else None
    if op is None:
        op = dispatcher(key, fn)
        if aliases is not None:
            aliases[id(fn)] = op
    setattr(owner, attr, op)
    return op


_MISSING = object()


class Swaps:
    """Non-op attributes a mode replaces while active, restored in reverse order on exit."""

    def __init__(self):
        self.saved = []  # (owner, attribute, what was there or _MISSING)

    def set(self, owner, attr, new):
        self.saved.append((owner, attr, owner.__dict__.get(attr, _MISSING)))
        setattr(owner, attr, new)

    def restore(self):
        while self.saved:
            owner, attr, old = self.saved.pop()
            if old is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, old)
