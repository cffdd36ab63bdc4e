"""The recorded graph: Node (a backward function), AccumulateGrad, saved tensors.

Contract:
- A ``Node`` is created by an op when it records. ``next_functions`` is a tuple of
  ``(node_or_None, input_nr)`` pairs, one per differentiable input, in PyTorch's order;
  ``apply(grad_outputs)`` returns one gradient (or None) per edge. Subclasses are generated per
  op (``MulBackward0``...) by the op registry; they carry the rule in ``_vjp``.
- ``_meta[i]`` is ``(shape, numpy dtype)`` of output ``i``: the engine sums broadcast gradients
  down to it and casts to it (see NOTE [validate gradients] in engine.py).
- Saved tensors are version-checked when unpacked: an input is saved as the tensor object
  itself plus its version; an output is saved as its array and version counter (saving the
  output tensor itself would make a reference cycle output -> node -> output) and unpacked as a
  tensor whose ``grad_fn`` is the node, as PyTorch does.
- ``release()`` frees saved tensors after a backward pass unless ``retain_graph``; using them
  again raises PyTorch's "Trying to backward through the graph a second time" error.
- ``AccumulateGrad`` ends every path at a leaf; it holds the leaf weakly and the leaf holds it
  strongly (``Tensor._acc``), so neither keeps the other alive in a cycle.
"""

from __future__ import annotations

import collections
import itertools
import re
import threading
import weakref

import numpy as np

from ..tensor import (  # (no cycle: NOTE [import order] in autograd/__init__.py)
    Tensor,
    meta_of,
    writeable,
)

__all__ = ["Node", "AccumulateGrad", "RemovableHandle"]

_seq = itertools.count()
_NUMBERS = (int, float, complex, np.generic)  # (NumPy scalars: a rule's np.float32 weight)
_NUMBER_TYPES = frozenset((int, float, complex, bool))

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward.")

_VERSION_HINT = (
    "Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
    "with torch.autograd.set_detect_anomaly(True, check_nan=False).")

def freed_error(node) -> RuntimeError:
    """PyTorch's error for reusing freed saved tensors, with a note (shown in tracebacks, not
    in ``str(e)``, so the message stays PyTorch's) naming the node and the usual fixes."""
    err = RuntimeError(FREED_MESSAGE)
    if hasattr(err, "add_note"):  # Python >= 3.11
        err.add_note(
            f"ember: the saved tensors of {node.name()} were freed by an earlier backward "
            "pass. If a tensor carries state from one iteration to the next (an RNN hidden "
            "state, a running total), .detach() it at the end of each iteration; if you "
            "really need two backward passes through the same graph, pass retain_graph=True "
            "to the first one.")
    return err


def legacy_type_name(data) -> str:
    """PyTorch's legacy name of a CPU tensor type, e.g. ``torch.FloatTensor``."""
    from ..dtypes import from_np

    return f"torch.{from_np(data.dtype).scalar_name}Tensor"


class RemovableHandle:
    """Returned by ``register_hook``-style calls; ``remove()`` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, hooks_dict):
        self.id = next(RemovableHandle._next_id)
        self._dict = weakref.ref(hooks_dict) if hooks_dict is not None else None

    def remove(self):
        d = self._dict() if self._dict is not None else None
        if d is not None:
            d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _HookDict(collections.OrderedDict):
    """The hooks of a module or tensor, by handle id: an OrderedDict as in PyTorch (scripts
    print and test ``module._forward_hooks``), which a RemovableHandle references weakly."""

    __slots__ = ()

    def __repr__(self):
        return repr(collections.OrderedDict(self))


class _SavedOutput:
    """A node's own output, saved without referencing the output tensor (no cycle).

    ``view``: None, or for the node of an in-place op on a view (ops/inplace.py) a function
    giving the unpacked output the grad_fn the view got (a view of the base's CopySlices), so
    that a double backward reaches the graph through the base as PyTorch's does."""

    __slots__ = ("data", "vc", "output_nr", "view")

    def __init__(self, data, vc, output_nr):
        self.data = data
        self.vc = vc
        self.output_nr = output_nr
        self.view = None


# ---- saved-tensor hooks ------------------------------------------------------------------
# NOTE [saved-tensor hooks]: while ``autograd.graph.saved_tensors_hooks(pack, unpack)`` is
# active, every tensor a node saves is replaced by ``pack(tensor)`` and read back through
# ``unpack(packed)``. The unpacked tensor is reattached to the saved tensor's place in the graph
# (its grad_fn and output_nr, or the leaf's AccumulateGrad), so double backward still reaches
# the original inputs. Values are the hooks' responsibility: no version check, as in PyTorch.

SAVED_HOOKS: list = []  # stack of (pack, unpack); the innermost pair applies
# NOTE: set by forward-mode AD while it runs a rule (forward_ad.run_rule): maps each unpacked
# saved tensor (and whether it is the node's output) to the tensor the rule should see.
SAVED_SUBST = None


class _Packed:
    """A saved tensor as its pack hook returned it, with what unpacking needs."""

    __slots__ = ("value", "unpack", "output_nr", "grad_fn", "grad_nr", "requires_grad", "acc")

    def unpacked(self, node):
        t = self.unpack(self.value)
        if not isinstance(t, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(t).__name__}")
        if self.output_nr is not None:
            out = Tensor._make(t._data, True, node, t._vc)
            out._output_nr = self.output_nr
            return out
        out = Tensor._make(t._data, self.requires_grad, self.grad_fn, t._vc)
        out._output_nr = self.grad_nr
        out._acc = self.acc
        return out


def _pack(t, output_nr=None):
    """Run the innermost pack hook on a tensor about to be saved (numbers pass as they are)."""
    if not isinstance(t, Tensor):
        return t
    pack, unpack = SAVED_HOOKS[-1]
    p = _Packed()
    p.unpack = unpack
    p.output_nr = output_nr
    # NOTE: a node's own output is reattached to the node at unpack time, so its grad_fn is not
    # kept here (that would be a node -> packed -> node reference cycle).
    p.grad_fn, p.grad_nr, p.requires_grad, p.acc = None, t._output_nr, t._requires_grad, None
    if output_nr is None:
        p.grad_fn = t._grad_fn
    if output_nr is None and t._requires_grad and t._grad_fn is None:
        if t._acc is None:
            t._acc = AccumulateGrad(t)
        p.acc = t._acc
    hooks = SAVED_HOOKS[:]
    SAVED_HOOKS.clear()  # ops inside a pack hook save nothing through it again
    try:
        p.value = pack(t)
    finally:
        SAVED_HOOKS[:] = hooks
    return p


class Node:
    """A backward function in the graph; subclasses are named like PyTorch's (``MulBackward0``).

    >>> y = ember.ones(2, requires_grad=True) * 3
    >>> y.grad_fn.name(), y.grad_fn.next_functions[0][0].name()
    ('MulBackward0', 'torch::autograd::AccumulateGrad')
    """

    __slots__ = ("next_functions", "_meta", "_seq", "__weakref__", "__dict__")

    # NOTE: class-level defaults, overridden per node only when set: creating a node (once per
    # recorded op) then writes three attributes instead of eight.
    _saved = ()  # saved tensors, numbers or None; None once freed by a backward pass
    _versions = ()  # version of each saved tensor when it was saved
    args = ()  # the op's non-tensor arguments that its rule needs
    _pre_hooks = None  # hooks.PreHooks, when any
    _hooks = None  # hooks.PostHooks, when any
    # NOTE [private gradients] (engine.py): a rule ``(ctx, *grads)`` that may write into
    # ``grads[0]``, for op classes that have one (a staticmethod: the engine passes the node);
    # the engine picks it when that is safe.
    _vjp_private = None
    # NOTE [pack order]: the order saved_tensors_hooks' pack hook sees a node's saved inputs:
    # PyTorch's generated nodes save them sorted by argument name (``other`` before ``self``),
    # a rule's unpacking order aside. Indices into ``save``'s items; None: as given.
    _pack_order = None

    def __init__(self, next_functions=(), meta=()):
        self.next_functions = next_functions
        self._meta = meta
        self._seq = next(_seq)

    @property
    def metadata(self) -> dict:
        """A dict for users' own annotations of this node (PyTorch's ``Node.metadata``)."""
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self.__dict__["_metadata"] = {}
        return d

    # -- identity ---------------------------------------------------------------------------
    _display_name = None  # PyTorch's name when it differs from the class name

    def name(self) -> str:
        return self._display_name or type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def _sequence_nr(self) -> int:
        return self._seq

    @property
    def needs_input_grad(self) -> tuple:
        return tuple(fn is not None for fn, _ in self.next_functions)

    # -- saved tensors ----------------------------------------------------------------------
    def save(self, *items):
        """Save inputs for the backward rule: tensors (version-checked at unpack), numbers or
        None."""
        if SAVED_HOOKS:
            order = self._pack_order
            if order is None or len(order) != len(items):
                items = tuple(_pack(t) for t in items)
            else:
                packed = list(items)
                for i in order:
                    packed[i] = _pack(items[i])
                items = tuple(packed)
        versions = []
        for t in items:
            if t is None or type(t) in _NUMBER_TYPES or isinstance(t, (_NUMBERS, _Packed)):
                versions.append(0)
                continue
            vc = t._vc
            if vc is None:
                from ..tensor import INFERENCE_SAVE_MESSAGE

                raise RuntimeError(INFERENCE_SAVE_MESSAGE)
            versions.append(vc[0])
        if self._saved:
            self._saved = self._saved + items
            self._versions = self._versions + tuple(versions)
        else:
            self._saved = items
            self._versions = tuple(versions)

    def save_output(self, out, output_nr=0):
        """Save this node's own output ``out`` (unpacked with ``grad_fn`` = this node)."""
        if SAVED_HOOKS:
            self._saved = self._saved + (_pack(out, output_nr),)
            self._versions = self._versions + (0,)
            return
        self._saved = self._saved + (_SavedOutput(out._data, out._vc, output_nr),)
        self._versions = self._versions + (out._vc[0],)

    @property
    def saved_tensors(self) -> tuple:
        """The saved tensors, version-checked; raises once they were freed by a backward pass."""
        saved = self._saved
        if saved is None:
            raise freed_error(self)
        out = []
        for t, version in zip(saved, self._versions):
            kind = type(t)
            if kind is Tensor:  # the common case first
                if t._vc[0] != version:
                    # (grad_fn, not _grad_fn: a view of a since-modified base names its
                    # regenerated node, AsStrided, as PyTorch)
                    self._raise_version(t._data, t._vc[0], version, t.grad_fn, t._output_nr,
                                        t._vc)
                if SAVED_SUBST is not None:
                    t = SAVED_SUBST(t, False)
            elif kind is _SavedOutput:
                if t.vc[0] != version:
                    self._raise_version(t.data, t.vc[0], version, self, t.output_nr, t.vc)
                saved_out = t
                t = Tensor._make(saved_out.data, True, self, saved_out.vc)
                t._output_nr = saved_out.output_nr
                if saved_out.view is not None:
                    saved_out.view(t)
                if SAVED_SUBST is not None:
                    t = SAVED_SUBST(t, True)
            elif kind is _Packed:
                is_output = t.output_nr is not None
                t = t.unpacked(self)
                if SAVED_SUBST is not None:
                    t = SAVED_SUBST(t, is_output)
            elif t is None or kind in _NUMBER_TYPES or isinstance(t, _NUMBERS):
                pass
            else:
                if t._vc[0] != version:
                    # (grad_fn, not _grad_fn: a view of a since-modified base names its
                    # regenerated node, AsStrided, as PyTorch)
                    self._raise_version(t._data, t._vc[0], version, t.grad_fn, t._output_nr,
                                        t._vc)
                if SAVED_SUBST is not None:
                    t = SAVED_SUBST(t, False)
            out.append(t)
        return tuple(out)

    @staticmethod
    def _raise_version(data, current, expected, grad_fn, output_nr, vc=None):
        shape = ", ".join(str(s) for s in data.shape)
        where = ""
        if grad_fn is not None:
            # PyTorch names the op: MulBackward0 -> "Mul", EluBackward1 -> "Elu1"
            short = re.sub(r"Backward0?$", "", re.sub(r"Backward([1-9][0-9]*)$", r"\1",
                                                    grad_fn.name()))
            where = f", which is output {output_nr} of {short},"
        err = RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{legacy_type_name(data)} [{shape}]]{where} is at version "
            f"{current}; expected version {expected} instead. {_VERSION_HINT}")
        if vc is not None and hasattr(err, "add_note"):
            from .anomaly_mode import mutation_note

            note = mutation_note(vc)
            if note:
                err.add_note(note)
        raise err

    def release(self):
        """Free saved tensors (after a backward pass that does not retain the graph)."""
        self._saved = None

    def __getattr__(self, name):
        # PyTorch exposes saved values as _saved_self / _saved_other / _saved_result.
        if name in ("_saved_self", "_saved_other", "_saved_result"):
            saved = self._saved
            if saved is None:
                raise freed_error(self)
            outs = [i for i, s in enumerate(saved) if type(s) is _SavedOutput]
            ins = [i for i, s in enumerate(saved) if type(s) is not _SavedOutput]
            pick = {"_saved_result": outs[:1], "_saved_self": ins[:1],
                    "_saved_other": ins[1:2]}[name]
            if pick:
                return self.saved_tensors[pick[0]]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # -- hooks ------------------------------------------------------------------------------
    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node; may return new grad_inputs."""
        from .hooks import node_register_hook

        return node_register_hook(self, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node; may return new grad_outputs."""
        from .hooks import node_register_prehook

        return node_register_prehook(self, fn)

    # -- running ----------------------------------------------------------------------------
    def apply(self, grads):
        """Gradients for each edge in ``next_functions`` from gradients of each output."""
        return self._vjp(grads[0]) if len(grads) == 1 else self._vjp(*grads)

    def __call__(self, *grads):
        return self.apply(grads)

    def _vjp(self, *grads):  # pragma: no cover - every concrete node defines its rule
        raise NotImplementedError(f"{self.name()} has no backward rule")

    def _jvp(self, *tangents):
        raise NotImplementedError(f"{self.name()} has no forward-mode (JVP) rule")


class AccumulateGrad(Node):
    """The node at the end of every path to a leaf: adds the gradient into ``variable.grad``."""

    __slots__ = ("_variable",)

    def __init__(self, variable):
        Node.__init__(self, (), (meta_of(variable._data),))
        self._variable = weakref.ref(variable)
        self._seq = float("inf")  # runs as soon as it is ready, like PyTorch's

    _display_name = "torch::autograd::AccumulateGrad"

    @property
    def variable(self):
        return self._variable()

    def _vjp(self, grad):  # the engine calls accumulate(); this serves direct calls
        self.accumulate(grad, False)
        return ()

    def accumulate(self, grad, create_graph, owned=False):
        var = self._variable()
        if var is not None:
            accumulate_grad(var, grad, create_graph, owned)


def _steal_ok(g, v):
    """``g`` can become ``.grad`` of a leaf holding ``v`` as is: same layout, writeable, and
    not a small window into a larger buffer."""
    if g.strides != v.strides or not writeable(g):
        return False
    base = g.base
    return base is None or (type(base) is type(g) and base.size == g.size)


# NOTE [concurrent accumulation]: backward passes may run in several threads into the same
# leaf (PyTorch allows it and locks each AccumulateGrad). Reading ``.grad`` and replacing or
# adding into it is one step under this lock: without it two threads both see no gradient and
# one result is lost, or NumPy, which releases the GIL for large in-place adds, interleaves
# two read-add-writes. One lock for all leaves (uncontended it costs ~0.1 us per
# accumulation); the post-accumulate hooks run outside it (a hook may call backward), and it
# is reentrant, since with create_graph the update runs ops, which a mode may intercept.
_ACC_LOCK = threading.RLock()
_acquire, _release = _ACC_LOCK.acquire, _ACC_LOCK.release


def accumulate_grad(var, grad, create_graph, owned=False):
    """Add ``grad`` into ``var.grad`` following PyTorch's rules, then run ``var``'s
    post-accumulate-grad hooks.

    ``owned``: nobody but the engine can see ``grad`` (NOTE [gradient ownership] in
    engine.py), so when it has the leaf's layout it becomes ``.grad`` without a copy, as
    PyTorch steals such buffers.
    """
    _acquire()  # NOTE [concurrent accumulation] (bound methods: half the cost of ``with``)
    try:
        old = var._grad
        if old is None:
            if create_graph:
                # a copy that stays in the graph (CopyBackwards), as PyTorch's
                from ..creation import empty_like

                var._grad = empty_like(grad).copy_(grad)
            elif owned and grad._grad_fn is None and _steal_ok(grad._data, var._data):
                var._grad = grad
            else:
                var._grad = Tensor._make(grad._data.copy(order="K"), False, None)
        elif create_graph:
            var._grad = old + grad
        else:
            # NOTE: in place into the same tensor, as PyTorch does without create_graph (with
            # its errors, e.g. for a .grad the user set to an expanded tensor).
            old.add_(grad)
    finally:
        _release()
    extra = var._extra
    if extra is not None and extra.post_acc_hooks:
        for fn in list(extra.post_acc_hooks.values()):
            fn(var)


# ---- edges: how an op's node links to its inputs (ops/_registry.record builds them) ----
NO_EDGE = (None, 0)


def edge(t):
    """The graph edge a gradient for ``t`` flows along: ``(grad_fn, output_nr)``, the leaf's
    AccumulateGrad, or ``(None, 0)`` when ``t`` does not require grad."""
    if t._view is not None and t._view.version != t._vc[0]:
        from ..ops.inplace import current_view_grad_fn

        current_view_grad_fn(t)
    fn = t._grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    if t._requires_grad:
        acc = t._acc
        if acc is None:
            acc = t._acc = AccumulateGrad(t)
        return (acc, 0)
    return NO_EDGE


def _edges(inputs):
    edges = []
    for t in inputs:
        if type(t) is Tensor or isinstance(t, Tensor):
            fn = t._grad_fn
            if fn is not None and t._view is None:  # the common case, without a call
                edges.append((fn, t._output_nr))
            else:
                edges.append(edge(t))
        else:
            edges.append(NO_EDGE)
    return tuple(edges)


# the torch.autograd.graph namespace: saved-tensor hook contexts and multi-tensor hooks live in
# their own modules
from .hooks import register_multi_grad_hook  # noqa: E402
from .saved_hooks import (  # noqa: E402
    disable_saved_tensors_hooks,
    save_on_cpu,
    saved_tensors_hooks,
)

__all__ += ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks",
            "register_multi_grad_hook"]

# pictures and memory of a graph (DOT text, rendering, saved-tensor bytes) live in viz.py, which
# loads on first use (NOTE [lazy tools] in autograd/__init__.py): the graph layer needs nothing
# of it, and it brings shutil and the compressors with it
_VIZ = ("to_dot", "render", "memory_report")
__all__ += list(_VIZ)


def __getattr__(name):
    if name in _VIZ:
        from . import viz

        value = getattr(viz, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_VIZ))
