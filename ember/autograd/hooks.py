"""Hooks on tensors and nodes, and ``retain_grad``.

Contract: a tensor hook (``Tensor.register_hook``) is a pre-hook of the node the tensor's
gradient flows into (its ``grad_fn`` for that output, or its AccumulateGrad for a leaf). Before a
node runs, the engine applies, per output: the tensor hooks in registration order (a hook may
return a replacement gradient), then the retain_grad hook (which stores ``.grad``), then the
node's own pre-hooks. After it runs, the node's post-hooks see ``(grad_inputs, grad_outputs)``.
Post-accumulate-grad hooks run on a leaf after its ``.grad`` was updated.
"""

from __future__ import annotations

import weakref

from .graph import RemovableHandle, _HookDict

__all__ = ["register_tensor_hook", "add_retain_grad", "register_post_accumulate_grad_hook",
           "register_multi_grad_hook"]


class PreHooks:
    """The pre-hooks of one node: tensor hooks and retain_grad per output, then node hooks."""

    __slots__ = ("tensor", "retain", "node")

    def __init__(self):
        self.tensor = {}  # output_nr -> _HookDict of fn(grad)
        self.retain = {}  # output_nr -> weakref to the tensor that retains its grad
        self.node = None  # _HookDict of fn(grad_outputs)

    def run_tensor(self, grads):
        """Tensor hooks, then retain_grad, per output (PyTorch's call_tensor_pre_hooks)."""
        if not self.tensor and not self.retain:
            return grads
        grads = list(grads)
        for nr, hooks in self.tensor.items():
            for fn in list(hooks.values()):
                g = grads[nr]
                if g is None:
                    break
                r = fn(g)
                if r is not None:
                    if r._data.shape != g._data.shape:
                        raise RuntimeError(
                            f"hook '{getattr(fn, '__name__', fn)}' has changed the size of value")
                    grads[nr] = r
        for nr, ref in self.retain.items():
            t = ref()
            g = grads[nr]
            if t is not None and g is not None:
                t._grad = g.clone() if t._grad is None else t._grad + g
        return grads

    def run_node(self, grads):
        """The node's own pre-hooks, ``fn(grad_outputs)``."""
        if self.node:
            for fn in list(self.node.values()):
                r = fn(tuple(grads))
                if r is not None:
                    grads = list(r)
        return grads


class PostHooks:
    """The post-hooks of one node: ``fn(grad_inputs, grad_outputs)``."""

    __slots__ = ("node",)

    def __init__(self):
        self.node = _HookDict()

    def run_post(self, node, outs, ins):
        for fn in list(self.node.values()):
            r = fn(tuple(outs), tuple(ins))
            if r is not None:
                outs = tuple(r)
        return outs


def _pre(node) -> PreHooks:
    if node._pre_hooks is None:
        node._pre_hooks = PreHooks()
    return node._pre_hooks


def register_tensor_hook(t, hook):
    if not t._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    from .graph import edge

    fn, nr = edge(t)
    hooks = _pre(fn).tensor.setdefault(nr, _HookDict())
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def add_retain_grad(t):
    _pre(t._grad_fn).retain[t._output_nr] = weakref.ref(t)


def move_retain_grad(t, old_fn, old_nr):
    """After an in-place op gave ``t`` a new grad_fn, its retain_grad hook follows it."""
    if old_fn is not None and old_fn._pre_hooks is not None:
        old_fn._pre_hooks.retain.pop(old_nr, None)
    add_retain_grad(t)


def register_post_accumulate_grad_hook(t, hook):
    if not t._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t._grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    extra = t._get_extra()
    if extra.post_acc_hooks is None:
        extra.post_acc_hooks = _HookDict()
    handle = RemovableHandle(extra.post_acc_hooks)
    extra.post_acc_hooks[handle.id] = hook
    return handle


def node_register_hook(node, fn):
    if node._hooks is None:
        node._hooks = PostHooks()
    handle = RemovableHandle(node._hooks.node)
    node._hooks.node[handle.id] = fn
    return handle


def node_register_prehook(node, fn):
    pre = _pre(node)
    if pre.node is None:
        pre.node = _HookDict()
    handle = RemovableHandle(pre.node)
    pre.node[handle.id] = fn
    return handle


# ---- hooks over several tensors --------------------------------------------------------------

class _MultiHandle:
    """Removes every per-tensor hook of one ``register_multi_grad_hook`` call."""

    def __init__(self, handles):
        self.handles = tuple(handles)

    def remove(self):
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    """Call ``fn`` once per backward pass over gradients of several tensors.

    ``mode="all"``: ``fn(grads)`` after the gradients of all tensors the pass reaches have been
    computed (None for the others). ``mode="any"``: ``fn(grad)`` with the first gradient
    computed, once per pass.
    """
    from . import engine
    from .graph import edge

    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    pending = {}  # backward pass id -> [remaining count, grads]
    fired = [None]  # "any": the id of the last pass fn ran for

    def make_hook(i):
        def hook(g):
            task = engine.task_id()
            if mode == "any":
                if fired[0] != task:
                    fired[0] = task
                    fn(g)
                return None
            state = pending.get(task)
            if state is None:
                count = sum(1 for t in tensors if engine.will_execute(edge(t)[0]))
                state = pending[task] = [count, [None] * len(tensors)]
            state[1][i] = g
            state[0] -= 1
            if state[0] == 0:
                del pending[task]
                fn(tuple(state[1]))
            return None
        return hook

    handles = [register_tensor_hook(t, make_hook(i)) for i, t in enumerate(tensors)
               if t.requires_grad]
    return _MultiHandle(handles)
