"""Module's own hooks: registering forward pre/post hooks and backward hooks on one module, and
wiring the deprecated non-full backward hooks onto the output's grad_fn.

Contract: PyTorch's ``torch.nn.Module``: each ``register_*_hook`` returns a removable handle;
hooks run in registration order unless ``prepend=True``; ``with_kwargs``/``always_call`` are
remembered by handle id for ``_call_impl`` (module.py, which also holds the global hooks);
full and non-full backward hooks cannot be mixed on one module (PyTorch's ``RuntimeError``);
a non-full hook is registered on the grad_fn that made the output, with PyTorch's
``FutureWarning`` where that misses gradients (stacklevel 3: ``_call_impl``'s frame, as before
the split). Full backward hooks themselves are in ``_backward_hook.py``. The functions here are
``Module``'s methods: module.py binds them in the class body and gives them the names they had
there (``Module.<name>``, module ``ember.nn.modules.module``).
"""

from __future__ import annotations

import warnings

from ...autograd.graph import RemovableHandle
from ...tensor import Tensor


def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
    """``hook(module, args)`` (or ``(module, args, kwargs)``) runs before forward and may
    return replacement inputs."""
    handle = RemovableHandle(self._forward_pre_hooks)
    self._forward_pre_hooks[handle.id] = hook
    if with_kwargs:
        self._forward_pre_hooks_with_kwargs[handle.id] = True
    if prepend:
        self._move_to_front(self._forward_pre_hooks, handle.id)
    return handle


def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                          always_call=False):
    """``hook(module, args, output)`` (or ``(module, args, kwargs, output)``) runs after
    forward and may return a replacement output."""
    handle = RemovableHandle(self._forward_hooks)
    self._forward_hooks[handle.id] = hook
    if with_kwargs:
        self._forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        self._forward_hooks_always_called[handle.id] = True
    if prepend:
        self._move_to_front(self._forward_hooks, handle.id)
    return handle


def register_full_backward_pre_hook(self, hook, prepend=False):
    """``hook(module, grad_output)`` runs when the gradients of the module's outputs are
    known and may return replacement grad_output."""
    handle = RemovableHandle(self._backward_pre_hooks)
    self._backward_pre_hooks[handle.id] = hook
    if prepend:
        self._move_to_front(self._backward_pre_hooks, handle.id)
    return handle


def register_backward_hook(self, hook):
    """Deprecated: ``hook(module, grad_input, grad_output)`` on the node that made the
    output, so grad_input are that last op's input gradients (use the full hook)."""
    if self._is_full_backward_hook is True:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                           "on a single Module. Please use only one of them.")
    self._is_full_backward_hook = False
    handle = RemovableHandle(self._backward_hooks)
    self._backward_hooks[handle.id] = hook
    return handle


def register_full_backward_hook(self, hook, prepend=False):
    """``hook(module, grad_input, grad_output)`` runs when the gradients of the module's
    inputs are known and may return replacement grad_input."""
    if self._is_full_backward_hook is False:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks "
                           "on a single Module. Please use only one of them.")
    self._is_full_backward_hook = True
    handle = RemovableHandle(self._backward_hooks)
    self._backward_hooks[handle.id] = hook
    if prepend:
        self._move_to_front(self._backward_hooks, handle.id)
    return handle


def _move_to_front(hooks, key):
    value = hooks.pop(key)
    rest = list(hooks.items())
    hooks.clear()
    hooks[key] = value
    hooks.update(rest)



def _register_non_full_backward_hooks(self, args, result, hooks):
    var = result
    while not isinstance(var, Tensor):
        if isinstance(var, dict):
            var = next(v for v in var.values() if isinstance(v, Tensor))
        else:
            var = var[0]
    grad_fn = var.grad_fn
    if grad_fn is None:
        return
    for hook in hooks:
        grad_fn.register_hook(lambda gi, go, hook=hook: hook(self, gi, go))
    self._maybe_warn_non_full_backward_hook(args, result, grad_fn)


def _maybe_warn_non_full_backward_hook(self, inputs, result, grad_fn):
    if not isinstance(result, Tensor):
        if not (isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result)):
            warnings.warn(
                "Using non-full backward hooks on a Module that does not return a single "
                "Tensor or a tuple of Tensors is deprecated and will be removed in future "
                "versions. This hook will be missing some of the grad_output. Please use "
                "register_full_backward_hook to get the documented behavior.",
                FutureWarning, stacklevel=3)
            return
    else:
        result = (result,)
    if not isinstance(inputs, Tensor):
        if not (isinstance(inputs, tuple) and all(isinstance(i, Tensor) for i in inputs)):
            warnings.warn(
                "Using non-full backward hooks on a Module that does not take as input a "
                "single Tensor or a tuple of Tensors is deprecated and will be removed in "
                "future versions. This hook will be missing some of the grad_input. Please "
                "use register_full_backward_hook to get the documented behavior.",
                FutureWarning, stacklevel=3)
            return
    else:
        inputs = (inputs,)
    out_grad_fn = {r.grad_fn for r in result if r.grad_fn is not None}
    if len(out_grad_fn) == 0 or (len(out_grad_fn) == 1 and grad_fn not in out_grad_fn):
        warnings.warn(
            "Using a non-full backward hook when outputs are nested in python data "
            "structure is deprecated and will be removed in future versions. This hook will "
            "be missing some grad_output.", FutureWarning, stacklevel=3)
    elif len(out_grad_fn) > 1:
        warnings.warn(
            "Using a non-full backward hook when outputs are generated by different "
            "autograd Nodes is deprecated and will be removed in future versions. This hook "
            "will be missing some grad_output. Please use register_full_backward_hook to "
            "get the documented behavior.", FutureWarning, stacklevel=3)
    else:
        inputs_grad_fn = {i.grad_fn for i in inputs if i.grad_fn is not None}
        next_functions = {n[0] for n in grad_fn.next_functions}
        if inputs_grad_fn != next_functions:
            warnings.warn(
                "Using a non-full backward hook when the forward contains multiple autograd "
                "Nodes is deprecated and will be removed in future versions. This hook will "
                "be missing some grad_input. Please use register_full_backward_hook to get "
                "the documented behavior.", FutureWarning, stacklevel=3)
