"""The backward pass: run each needed node once, in dependency order, and route gradients.

Contract (``run``):
- ``roots``: graph edges ``(node, output_nr)`` with their gradients.
- Nodes reachable from the roots run once each, when every gradient they will receive has
  arrived, latest-created first among the ready ones (PyTorch's order: a ready queue keyed by
  sequence number; AccumulateGrad as soon as ready). Gradients arriving at the same output of
  a node are summed. No recursion anywhere: graphs of any depth work.
- ``capture``: edges whose incoming gradient is returned (``autograd.grad`` and
  ``backward(inputs=...)``). With captures, only nodes on a path to a captured edge run.
- ``accumulate``: whether AccumulateGrad nodes write ``.grad`` (``backward``) or not (``grad``).
- Saved tensors of every node that ran are freed unless ``keep_graph``.
- Rules run with grad mode = ``create_graph``, so with ``create_graph=True`` the backward pass
  is itself recorded (NOTE [rules are ember ops] in ops/_registry.py).

NOTE [validate gradients]: each gradient sent along an edge is checked against the metadata
(shape, dtype) the receiving node recorded for that output: a gradient of a broadcast shape is
summed down to it (the one place broadcasting is undone), a different dtype is cast (mixed
precision), anything else is an error naming the node.
"""

from __future__ import annotations

import itertools
import sys
import weakref
from heapq import heappop, heappush

import numpy as np

from .. import _modes
from .. import dtypes as _dt
from ..ops._registry import known_zeros_of, meta_zeros, wrap  # (NOTE [import order] in __init__.py)
from ..tensor import writeable
from . import forward_ad
from .grad_mode import STATE
from .graph import AccumulateGrad

__all__ = ["run"]

# NOTE: set by the profiler while one is active (profiler.py, NOTE [zero cost when not
# profiling]): the only profiling check on the backward pass, once per node.
PROFILER = None
# NOTE: None normally; while anomaly detection or forward-mode AD is on, the function that runs
# a node's rule with their extra work (``runner(node, grads)``, set by ``set_rule_runner``).
RULE_RUNNER = None
# NOTE: False on top while ``autograd.grad`` or ``backward(inputs=...)`` runs a pass that computes
# only some gradients, which a reentrant checkpoint (utils/checkpoint.py) refuses to serve. It
# lives here, not with the checkpoint, so that the engine's layer never imports ``ember.utils``.
CHECKPOINT_VALID = [True]


def set_rule_runner():
    """Choose how rules run: plainly, or through anomaly checks and/or forward-AD tangents."""
    global RULE_RUNNER
    from . import anomaly_mode  # (here: anomaly_mode imports this module)

    if forward_ad.is_active():
        RULE_RUNNER = forward_ad.run_rule
    elif anomaly_mode.is_anomaly_enabled():
        RULE_RUNNER = anomaly_mode.run_node
    else:
        RULE_RUNNER = None


# NOTE [private gradients]: a rule may overwrite its incoming gradient instead of allocating
# its result (ReLU's mask, a product's factor: what a hand-written backward does in place)
# only when nothing else can see that memory. The engine decides, by CPython's reference
# counts, right before it runs the rule: the gradient tensor is referenced by the engine's
# list of the node's inputs alone, and its array by that tensor alone and owns its memory (no
# view of it exists anywhere, since a view references its base). That excludes every way a
# gradient can be seen twice: the caller's root gradients, a rule that returned one tensor for
# two inputs (add), a hook or ``retain_grad`` that kept it, a captured ``autograd.grad``
# result, a leaf's ``.grad``. Only node classes that define ``_vjp_private`` (a rule that
# may write into ``grads[0]``) take part, and only when no graph is built and no mode
# intercepts ops. The counts are calibrated once below; where they do not behave as
# expected (another interpreter), nothing is ever considered private.
PRIVATE_MIN_BYTES = 1 << 16  # below this an allocation is cheaper than the check
_getrefcount = getattr(sys, "getrefcount", None)


def _private(ins) -> bool:
    """True when ``ins[0]`` (a gradient tensor) and its array are referenced only through
    ``ins``, and the array owns its memory and is writeable."""
    d = ins[0]._data
    return (_getrefcount(ins[0]) == 2 and d.base is None and _getrefcount(d) == 3
            and (d.flags.writeable if type(d) is np.ndarray else writeable(d)))


def _calibrate() -> bool:
    """Whether ``_private`` sees references exactly as it assumes, on this interpreter."""
    if _getrefcount is None or sys.implementation.name != "cpython":
        return False

    class Probe:
        __slots__ = ("_data",)

    p = Probe()
    p._data = np.zeros(4)
    ins = [p]
    del p
    if not _private(ins):
        return False
    other = ins[0]
    seen_tensor = _private(ins)
    del other
    view = ins[0]._data[1:]
    seen_view = _private(ins)
    del view
    return not seen_tensor and not seen_view and _private(ins)


PRIVATE_OK = _calibrate()

# The backward passes running now (innermost last): what each will execute, for
# ``will_execute`` (used by multi-gradient hooks).
TASKS: list = []
_pass_ids = itertools.count(1)


def will_execute(node) -> bool:
    """Whether the innermost running backward pass will run ``node``'s hooks: the node is
    reachable and, in a pass limited to some inputs, needed or captured."""
    if not TASKS:
        raise RuntimeError("_will_engine_execute_node should only be called during the "
                           "backward pass")
    deps, roots, needed, capture_at, _ = TASKS[-1]
    if node not in deps and node not in roots:
        return False
    return needed is None or needed.get(node, False) or node in capture_at


def task_id() -> int:
    """An id for the innermost running backward pass."""
    return TASKS[-1][4] if TASKS else 0


def _validate(node, i, g, meta):
    shape, dtype = meta[:2]
    data = g._data
    if data.shape != shape:
        if not _expandable(shape, data.shape):
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {i} - got "
                f"[{', '.join(map(str, data.shape))}] but expected shape compatible with "
                f"[{', '.join(map(str, shape))}]")
        g = g.sum_to_size(shape)
    if g._data.dtype != dtype:
        g = g.to(_dt.from_np(dtype))
    return g


# NOTE [zero gradients]: PyTorch's sgn backward returns a ZeroTensor, a zero that stays zero
# through every later rule (times inf or NaN too) and adds nothing to a sum. ember marks such a
# gradient (``_Extra.is_zero``, made by ops/_registry.known_zeros_of): a node whose incoming
# gradients are all known zeros does not run its rule (rules are linear in the gradient) but
# passes known zeros on, and a sum keeps the other term. Gradients handed out (``.grad``,
# ``autograd.grad``) are plain tensors again.

# PyTorch's rules that negate the gradient first (``-grad``) turn its ZeroTensor into a plain
# zero (neg is not ZeroTensor-aware), which a NaN or inf later in the rule or past it spreads:
# the inputs at these positions get the rule's result instead of a known zero.
_NEGATED = {"NegBackward0": (0,), "SubBackward0": (1,), "RsubBackward0": (0,),
            "RsubBackward1": (0,), "DivBackward0": (1,), "RemainderBackward0": (1,),
            "RemainderBackward1": (1,), "FmodBackward0": (1,), "FmodBackward1": (1,)}


# PyTorch's backward kernels without a ZeroTensor kernel materialize it as plain zeros and run:
# logit's gives NaN outside [0, 1] whatever the gradient; clamp's (a ``where``) hands a plain
# zero on, which a later 0 / 0 makes NaN.
_MATERIALIZED = {"LogitBackward0", "ClampBackward0", "ClampBackward1", "ClampMinBackward0",
                 "ClampMinBackward1", "ClampMaxBackward0", "ClampMaxBackward1"}


def _known_zero_outs(node, ins):
    name = type(node).__name__
    if name in _MATERIALIZED:
        return node._vjp(*ins)
    negated = _NEGATED.get(name)
    if negated is not None:
        ran = node._vjp(*ins)
        return tuple(g if i in negated else (None if g is None else known_zeros_of(g))
                     for i, g in enumerate(ran))
    outs = []
    for fn, nr in node.next_functions:
        if fn is None:
            outs.append(None)
        else:
            m = fn._meta[nr]
            outs.append(known_zeros_of(_Shape(np.zeros((), m[1]), m[0]) if len(m) == 2
                                       else meta_zeros(m)))
    return tuple(outs)


class _Shape:
    """What ``known_zeros_of`` reads of a gradient: an array's shape and dtype."""

    __slots__ = ("_data",)

    def __init__(self, scalar, shape):
        self._data = np.broadcast_to(scalar, shape)


def _expandable(small, big):
    if len(small) > len(big):
        return False
    for s, b in zip(reversed(small), reversed(big)):
        if s != 1 and s != b:
            return False
    return True


def _owner_id(t):
    """The id of the array that owns ``t``'s memory (a view's base, else its own array)."""
    a = t._data
    b = a.base
    return id(a if b is None else b)


class _Seen(dict):
    """The arrays whose memory something besides the engine can see, by id (NOTE [gradient
    ownership]). An id alone is not enough: once such an array is freed, a new gradient can
    get its id (address) and would look shared; a weak reference tells the two apart."""

    __slots__ = ()

    def add(self, t):
        a = t._data
        b = a.base
        owner = a if b is None else b
        try:
            self[id(owner)] = weakref.ref(owner)
        except TypeError:  # (an array that takes no weak reference: kept as seen for good)
            self[id(owner)] = _ALWAYS

    def update(self, ts):
        for t in ts:
            self.add(t)

    def sees(self, owner):
        ref = self.get(owner)
        return ref is not None and ref() is not None


def _always():
    return True


_ALWAYS = _always


def _dependencies(root_nodes):
    """Number of edges into each node reachable from ``root_nodes`` (iterative walk)."""
    deps = {}
    roots = set(root_nodes)
    stack = list(root_nodes)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is not None:
                d = deps.get(nxt)
                if d is None:  # first edge into nxt: walk below it (roots are walked already)
                    deps[nxt] = 1
                    if nxt not in roots:
                        stack.append(nxt)
                else:
                    deps[nxt] = d + 1
    return deps


def _needed(root_nodes, capture_nodes, run_targets):
    """Which nodes must run: those in ``run_targets`` and those with an edge into a captured
    node or into a node that must run (iterative depth-first walk; a node is decided once
    all its children are)."""
    needed = {}
    for root in root_nodes:
        if root in needed:
            continue
        needed[root] = False  # visiting; decided when its children are done
        stack = [root]
        while stack:
            node = stack[-1]
            for c, _ in node.next_functions:
                if c is not None and c not in needed:
                    needed[c] = False
                    stack.append(c)
                    break
            else:
                stack.pop()
                if node in run_targets:
                    needed[node] = True
                    continue
                for c, _ in node.next_functions:
                    if c is not None and (c in capture_nodes or needed[c]):
                        needed[node] = True
                        break
    return needed


def run(roots, grads, keep_graph, create_graph, capture=None, accumulate=True,
        run_targets=None):
    """Run the backward pass; returns the captured gradients (one per ``capture`` edge).

    With ``capture`` or ``run_targets`` given, only nodes needed to reach them run.
    """
    # NOTE [quiet NumPy]: PyTorch computes 0 * inf = nan silently; NumPy warns, and ember's
    # module-scoped filter (ember/__init__.py) loses to a user's ``simplefilter("always")`` or
    # ``-W error``. One errstate per pass (~2 us), not per node; hooks and custom Functions
    # run inside it too, as they run inside PyTorch's silent engine.
    with np.errstate(all="ignore"):
        return _run_pass(roots, grads, keep_graph, create_graph, capture, accumulate,
                         run_targets)


def _run_pass(roots, grads, keep_graph, create_graph, capture, accumulate, run_targets):
    """The pass, step by step. Setup: the roots' gradient buffers (``_root_buffers``), how
    many gradients each node waits for (``_dependencies``), what the caller can see (NOTE
    [gradient ownership]), what a partial pass captures and needs (``_partial``), the first
    ready nodes (``_first_ready``). Then, while a node is ready: take it and its gradients,
    capture what is asked for (``_capture``), run its pre-hooks (``_run_pre_hooks``), and
    either accumulate into its leaf (``_accumulate``) or call its rule (``_call_rule``) and
    route each result to the node it feeds (a second gradient for one input is summed:
    ``_add``); a node whose last gradient arrived becomes ready (``_queue``).

    NOTE [inlined steps]: taking the next ready node and routing a node's results run once per
    node and once per edge of every pass; a function call there costs ~60 ns, ~2% of the
    backward of the tiny-op chain (bench/workloads_core.py) per call, so those two are written
    out in the loop, each under a comment naming its step, and only their uncommon branches
    are calls.
    """
    buffers, root_nodes = _root_buffers(roots, grads)
    deps = _dependencies(root_nodes)
    # NOTE [gradient ownership]: a leaf may keep the very gradient the engine computed as its
    # ``.grad`` (no copy) unless someone else can see its memory: the caller (root gradients),
    # a hook, or another leaf that already kept it (a rule such as add's returns one tensor
    # for two inputs). Arrays are identified by the id of the array owning their memory.
    shared = _Seen()
    shared.update(g for g in grads if g is not None)
    captured, capture_at, needed = _partial(root_nodes, capture, run_targets)
    tie = itertools.count()  # (heap entries of equal sequence numbers keep their order)
    ready, nxt = _first_ready(root_nodes, deps, tie)
    # NOTE [engine-made sums]: when no graph is built and no mode watches the ops, a gradient
    # that the engine itself summed (a third contribution onwards) is private to its buffer
    # until the receiving node runs, so later contributions are added into it in place; its
    # id leaves ``sums`` when the node takes its inputs.
    plain_sums = not create_graph and not _modes.intercepting()  # (the profiler, forward AD
    # and anomaly mode all intercept)
    sums = set()
    private_ok = plain_sums and PRIVATE_OK

    prev_mode = STATE.enabled
    STATE.enabled = create_graph
    if PROFILER is not None:
        PROFILER.run_begin()
    TASKS.append((deps, root_nodes, needed, capture_at or {}, next(_pass_ids)))
    pop = buffers.pop
    try:
        while True:
            # -- the next ready node (NOTE [lone ready node]; inline: NOTE [inlined steps])
            if nxt is not None:
                node = nxt
                nxt = None
            elif ready:
                node = heappop(ready)[2]
            else:
                break
            ins = pop(node)
            if sums:
                for g in ins:
                    sums.discard(id(g))
            # (a partial pass: a node that runs and captures nothing, the common case, is
            # told apart here without a call: NOTE [inlined steps])
            if needed is not None and (not needed[node] or node in capture_at):
                ins = _capture(node, ins, needed, capture_at, captured, shared)
                if ins is None:
                    continue
            # -- calling the node
            if PROFILER is not None:
                PROFILER.node(node)
            if node._pre_hooks is not None:
                ins = _run_pre_hooks(node._pre_hooks, ins, shared)
            if type(node) is AccumulateGrad:
                _accumulate(node, ins[0], accumulate, create_graph, shared)
                continue
            # (NOTE [private gradients]: the loop's stale references to gradients go first)
            outs = g = data = None
            outs = _call_rule(node, ins, private_ok, shared)
            if not keep_graph:
                node.release()
            # -- routing: each result to the input it feeds (inline: NOTE [inlined steps])
            i = 0
            for fn, nr in node.next_functions:
                if fn is not None:
                    g = outs[i]
                    buf = buffers.get(fn)
                    if g is not None:
                        data = g._data
                        meta = fn._meta[nr]
                        if data.shape != meta[0] or (data.dtype is not meta[1]
                                                     and data.dtype != meta[1]):
                            g = _validate(node, i, g, meta)
                        if buf is None:
                            buf = buffers[fn] = [None] * len(fn._meta)
                            buf[nr] = g
                        elif buf[nr] is None:
                            buf[nr] = g
                        else:
                            buf[nr] = _add(buf[nr], g, plain_sums, sums)
                    elif buf is None:
                        buffers[fn] = [None] * len(fn._meta)
                    d = deps[fn] - 1
                    deps[fn] = d
                    if d == 0:  # fn's last gradient arrived: it is ready
                        if nxt is None and not ready:
                            nxt = fn
                        else:
                            _queue(ready, nxt, fn, tie)
                            nxt = None
                i += 1
    finally:
        TASKS.pop()
        STATE.enabled = prev_mode
        if PROFILER is not None:
            PROFILER.node(None)
    return captured


# ---- setup ----------------------------------------------------------------------------------

def _root_buffers(roots, grads):
    """The gradient buffer (one slot per output) of each root node, holding the root
    gradients (summed where two roots are one output), and the root nodes in order of first
    appearance. Roots without a node are skipped."""
    root_nodes = []
    buffers = {}
    for (fn, nr), g in zip(roots, grads):
        if fn is None:
            continue
        buf = buffers.get(fn)
        if buf is None:
            buf = buffers[fn] = [None] * len(fn._meta)
            root_nodes.append(fn)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    return buffers, root_nodes


def _partial(root_nodes, capture, run_targets):
    """For a pass limited to some gradients (``capture`` or ``run_targets`` given): the list
    the captured gradients go to (one slot per capture edge), where they are captured (node ->
    ``[(output_nr, slot)]``) and which nodes must run (``_needed``). ``(None, None, None)`` for
    a full pass."""
    if capture is None and run_targets is None:
        return None, None, None
    capture = capture or []
    captured = [None] * len(capture)
    capture_at = {}
    for k, (fn, nr) in enumerate(capture):
        if fn is not None:
            capture_at.setdefault(fn, []).append((nr, k))
    return captured, capture_at, _needed(root_nodes, capture_at, run_targets or ())


# NOTE [lone ready node]: while exactly one node is ready (a chain) it is held outside the heap
# (``nxt`` in ``_run_pass``): the order is the same, without a push and a pop. Invariant: a
# node is held only while the heap is empty.
def _first_ready(root_nodes, deps, tie):
    """The ready queue at the start: the root nodes no other root's path reaches, as ``(heap,
    held)`` (NOTE [lone ready node]). The heap is keyed by descending sequence number (the
    latest-created node first), then by ``tie``'s count."""
    ready = []
    first = [fn for fn in root_nodes if deps.get(fn, 0) == 0]
    if len(first) == 1:
        return ready, first[0]
    for fn in first:
        heappush(ready, (-fn._seq, next(tie), fn))
    return ready, None


# ---- routing --------------------------------------------------------------------------------

def _queue(ready, held, fn, tie):
    """``fn`` became ready while another node is ready: both go through the heap (NOTE [lone
    ready node]), the held one (if any) first."""
    if held is not None:
        heappush(ready, (-held._seq, next(tie), held))
    heappush(ready, (-fn._seq, next(tie), fn))


def _add(acc, g, plain_sums, sums):
    """What an input's buffer holds once ``g`` arrives where ``acc`` already is: their sum,
    except that a known zero adds nothing (NOTE [zero gradients]); a sum the engine made is
    added into in place (NOTE [engine-made sums])."""
    if g._extra is not None and g._extra.is_zero:
        return acc
    if acc._extra is not None and acc._extra.is_zero:
        return g
    if not plain_sums:
        return acc + g
    if id(acc) in sums:
        np.add(acc._data, g._data, out=acc._data)
        return acc
    acc = wrap(np.add(acc._data, g._data))
    sums.add(id(acc))
    return acc


def _capture(node, ins, needed, capture_at, captured, shared):
    """In a pass limited to some gradients: store the gradients ``node`` received on captured
    edges. Returns ``ins`` when the node must run, else None (then the captured gradients have
    passed the tensor pre-hooks: as PyTorch, a captured gradient has passed the tensor's hooks
    only when its node will not run, otherwise they run as part of running it)."""
    run_node = needed[node]
    pre = node._pre_hooks
    if not run_node and pre is not None:
        ins = pre.run_tensor(ins)
        shared.update(g for g in ins if g is not None)
    slots = capture_at.get(node)
    if slots is not None:
        for nr, k in slots:
            g = captured[k] = ins[nr]
            if g is not None and g._extra is not None:
                g._extra.is_zero = False  # (a handed-out gradient is a plain tensor)
    return ins if run_node else None


# ---- calling a node -------------------------------------------------------------------------

def _run_pre_hooks(pre, ins, shared):
    """The node's incoming gradients after its tensor pre-hooks, then its own pre-hooks; what
    a hook returned may be kept by it (NOTE [gradient ownership])."""
    ins = pre.run_node(pre.run_tensor(ins))
    shared.update(g for g in ins if g is not None)
    return ins


def _accumulate(node, g, accumulate, create_graph, shared):
    """An AccumulateGrad node: add ``g`` into its leaf's ``.grad`` (in a ``backward`` pass),
    letting the leaf keep ``g`` itself when nothing else can see its memory (NOTE [gradient
    ownership]); from then on the leaf can."""
    if g is not None and g._extra is not None:
        g._extra.is_zero = False  # (a .grad is a plain tensor)
    if accumulate and g is not None:
        node.accumulate(g, create_graph, not shared.sees(_owner_id(g)))
        shared.add(g)


def _call_rule(node, ins, private_ok, shared):
    """The gradients ``node`` sends along its edges (one per edge, None for none) given those
    it received: none when it received none; known zeros when all it received are (NOTE [zero
    gradients]) and no post-hook watches; else its rule's, called through ``RULE_RUNNER`` when
    a mode needs one, allowed to overwrite its incoming gradient when that is private (NOTE
    [private gradients]), then passed through its post-hooks."""
    # NOTE [private gradients]: a local bound to a gradient (``g``) would count as one more
    # reference; each is dropped before ``_private`` looks.
    hooks = node._hooks
    if ins[0] is None and (len(ins) == 1 or all(g is None for g in ins)):
        return (None,) * len(node.next_functions)
    if hooks is None:
        zero = False  # (are all known zeros? inline: this runs once per node)
        for g in ins:
            if g is not None:
                extra = g._extra
                if extra is None or not extra.is_zero:
                    zero = False
                    break
                zero = True
        g = None
        if zero:
            return _known_zero_outs(node, ins)
    # NOTE: the engine calls the rule directly; Node.apply is for callers outside.
    if RULE_RUNNER is not None:
        outs = RULE_RUNNER(node, ins)
    elif (node._vjp_private is not None and private_ok and ins[0] is not None
          and ins[0]._data.nbytes >= PRIVATE_MIN_BYTES and hooks is None):
        outs = node._vjp_private(node, *ins) if _private(ins) else node._vjp(*ins)
    else:
        outs = node._vjp(*ins)
    if hooks is not None:
        outs = hooks.run_post(node, outs, ins)
        shared.update(g for g in outs if g is not None)
    return outs
