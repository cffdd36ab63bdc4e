"""Module: the base class (parameters, buffers, children, state_dict, hooks, train/eval, repr).

Contract: PyTorch's ``torch.nn.Module``: attribute assignment registers Parameters, Modules and
buffers; ``named_*`` iterate in registration order, depth first, with dotted prefixes and
duplicates removed by identity; ``state_dict`` keys, ``load_state_dict`` results and error text;
``__call__`` runs global then module forward pre-hooks, ``forward``, then forward hooks, in
registration order (``always_call`` hooks also when forward fails); full backward hooks and
pre-hooks see the gradients of the module's inputs and outputs (``_backward_hook.py``, NOTE
[module backward hooks]); ``repr`` is PyTorch's module tree; errors use PyTorch's classes and
messages. ``LazyModuleMixin`` (``lazy.py``, re-exported here) gives the Lazy* layers their shape
inference.

Layout: this file holds the class (``__init__``, calling: ``__call__``/``_call_impl``) and the
hooks common to all modules (``register_module_*_hook``, whose state ``_call_impl`` reads). The
rest of the class body is written in private siblings, one seam each, and bound here by name:
``_module_attrs`` (registration, ``__getattr__``/``__setattr__``), ``_module_tree`` (lookup,
``named_*``, ``apply``, ``train``), ``_module_state`` (state dicts), ``_module_convert``
(``_apply``, ``to``, dtype casts), ``_module_hooks`` (per-module hook registration),
``_module_repr``. ``Module`` is the same class as before the split: the same ``vars(Module)``
of plain functions, each named ``Module.<name>`` in module ``ember.nn.modules.module``
(``_adopt_methods``), so reprs, errors, pickles and ``inspect`` see what they saw.
"""

from __future__ import annotations

import types
import warnings

from ...autograd.graph import RemovableHandle, _HookDict
from ...tensor import Tensor
from . import (
    _module_attrs,
    _module_convert,
    _module_hooks,
    _module_repr,
    _module_state,
    _module_tree,
)
from ._backward_hook import BackwardHookFunction, _BackwardHook  # noqa: F401  (old path)

# the helpers other modules import from here, defined beside their users since the split
from ._module_attrs import typename  # noqa: F401
from ._module_repr import _addindent  # noqa: F401
from ._module_state import _EXTRA_STATE_KEY_SUFFIX, _IncompatibleKeys  # noqa: F401
from .lazy import LazyModuleMixin, _lazy_load_pre_hook, _OwnedHandle  # noqa: F401  (old path)

__all__ = ["Module"]


def _forward_unimplemented(self, *input):
    raise NotImplementedError(
        f'Module [{type(self).__name__}] is missing the required "forward" function')


# ---- hooks common to all modules (PyTorch's register_module_*_hook) ---------------------------
# Global hooks run before each module's own, in registration order.

_global_forward_pre_hooks = _HookDict()
_global_forward_hooks = _HookDict()
_global_forward_hooks_with_kwargs = {}
_global_forward_hooks_always_called = {}
_global_backward_pre_hooks = _HookDict()
_global_backward_hooks = _HookDict()
_global_is_full_backward_hook = None  # None until a backward hook is registered


def register_module_forward_pre_hook(hook):
    """``hook(module, args)`` before every module's forward."""
    handle = RemovableHandle(_global_forward_pre_hooks)
    _global_forward_pre_hooks[handle.id] = hook
    return handle


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """``hook(module, args, output)`` after every module's forward."""
    handle = RemovableHandle(_global_forward_hooks)
    _global_forward_hooks[handle.id] = hook
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook):
    """``hook(module, grad_output)`` for every module, as register_full_backward_pre_hook."""
    handle = RemovableHandle(_global_backward_pre_hooks)
    _global_backward_pre_hooks[handle.id] = hook
    return handle


def register_module_full_backward_hook(hook):
    """``hook(module, grad_input, grad_output)`` for every module, as
    register_full_backward_hook."""
    global _global_is_full_backward_hook
    if _global_is_full_backward_hook is False:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a "
                           "global Module hook. Please use only one of them.")
    _global_is_full_backward_hook = True
    handle = RemovableHandle(_global_backward_hooks)
    _global_backward_hooks[handle.id] = hook
    return handle


def register_module_backward_hook(hook):
    """The deprecated non-full backward hook for every module (see register_backward_hook)."""
    global _global_is_full_backward_hook
    if _global_is_full_backward_hook is True:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a "
                           "global Module hook. Please use only one of them.")
    _global_is_full_backward_hook = False
    handle = RemovableHandle(_global_backward_hooks)
    _global_backward_hooks[handle.id] = hook
    return handle


class Module:
    """Base class for all neural-network modules.

    >>> class Net(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = ember.nn.Linear(2, 1)
    ...     def forward(self, x):
    ...         return self.fc(x)
    >>> [n for n, _ in Net().named_parameters()]
    ['fc.weight', 'fc.bias']
    """

    dump_patches = False
    _version = 1
    training: bool
    call_super_init = False

    forward = _forward_unimplemented

    def __init__(self, *args, **kwargs):
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                f"'{next(iter(kwargs))}'")
        if args:
            raise TypeError(
                f"{type(self).__name__}.__init__() takes 1 positional argument but "
                f"{len(args) + 1} were given")
        # object.__setattr__: our own __setattr__ needs these dicts to exist already
        setattr_ = object.__setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", {})
        setattr_(self, "_buffers", {})
        setattr_(self, "_non_persistent_buffers_set", set())
        setattr_(self, "_modules", {})
        setattr_(self, "_forward_hooks", _HookDict())
        setattr_(self, "_forward_hooks_with_kwargs", {})
        setattr_(self, "_forward_hooks_always_called", {})
        setattr_(self, "_forward_pre_hooks", _HookDict())
        setattr_(self, "_forward_pre_hooks_with_kwargs", {})
        setattr_(self, "_backward_hooks", _HookDict())
        setattr_(self, "_is_full_backward_hook", None)
        setattr_(self, "_backward_pre_hooks", _HookDict())
        setattr_(self, "_state_dict_pre_hooks", _HookDict())
        setattr_(self, "_state_dict_hooks", _HookDict())
        setattr_(self, "_load_state_dict_pre_hooks", _HookDict())
        setattr_(self, "_load_state_dict_post_hooks", _HookDict())

    # ---- registration and attributes (_module_attrs.py) -------------------------------------
    register_buffer = _module_attrs.register_buffer
    register_parameter = _module_attrs.register_parameter
    add_module = _module_attrs.add_module
    register_module = add_module
    __getattr__ = _module_attrs._AttributeProtocol.__getattr__
    __setattr__ = _module_attrs._AttributeProtocol.__setattr__
    __delattr__ = _module_attrs._AttributeProtocol.__delattr__
    __dir__ = _module_attrs._AttributeProtocol.__dir__
    __setstate__ = _module_attrs._AttributeProtocol.__setstate__

    # ---- lookup and iteration (_module_tree.py) ---------------------------------------------
    get_submodule = _module_tree.get_submodule
    set_submodule = _module_tree.set_submodule
    get_parameter = _module_tree.get_parameter
    get_buffer = _module_tree.get_buffer
    _named_members = _module_tree._named_members
    parameters = _module_tree.parameters
    named_parameters = _module_tree.named_parameters
    buffers = _module_tree.buffers
    named_buffers = _module_tree.named_buffers
    children = _module_tree.children
    named_children = _module_tree.named_children
    modules = _module_tree.modules
    named_modules = _module_tree.named_modules

    # ---- state_dict (_module_state.py) ------------------------------------------------------
    _save_to_state_dict = _module_state._save_to_state_dict
    get_extra_state = _module_state.get_extra_state
    set_extra_state = _module_state.set_extra_state
    register_state_dict_pre_hook = _module_state.register_state_dict_pre_hook
    register_state_dict_post_hook = _module_state.register_state_dict_post_hook
    register_load_state_dict_pre_hook = _module_state.register_load_state_dict_pre_hook
    register_load_state_dict_post_hook = _module_state.register_load_state_dict_post_hook
    state_dict = _module_state.state_dict
    _load_from_state_dict = _module_state._load_from_state_dict
    load_state_dict = _module_state.load_state_dict

    # ---- modes (_module_tree.py) and conversion (_module_convert.py) ------------------------
    train = _module_tree.train
    eval = _module_tree.eval
    requires_grad_ = _module_tree.requires_grad_
    zero_grad = _module_tree.zero_grad
    apply = _module_tree.apply
    _apply = _module_convert._apply
    to = _module_convert.to
    to_empty = _module_convert.to_empty
    _cast_floats = _module_convert._cast_floats
    float = _module_convert.float
    double = _module_convert.double
    half = _module_convert.half
    bfloat16 = _module_convert.bfloat16
    cpu = _module_convert.cpu
    share_memory = _module_convert.share_memory
    cuda = _module_convert.cuda
    type = _module_convert.type

    # ---- hooks (_module_hooks.py) and calling ------------------------------------------------
    register_forward_pre_hook = _module_hooks.register_forward_pre_hook
    register_forward_hook = _module_hooks.register_forward_hook
    register_full_backward_pre_hook = _module_hooks.register_full_backward_pre_hook
    register_backward_hook = _module_hooks.register_backward_hook
    register_full_backward_hook = _module_hooks.register_full_backward_hook
    _move_to_front = staticmethod(_module_hooks._move_to_front)

    def _call_impl(self, *args, **kwargs):
        result = None
        always_called = set()
        try:
            for hook_id, hook in (*_global_forward_pre_hooks.items(),
                                  *self._forward_pre_hooks.items()):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    new = hook(self, args, kwargs)
                    if new is not None:
                        if isinstance(new, tuple) and len(new) == 2:
                            args, kwargs = new
                        else:
                            raise RuntimeError(
                                "forward pre-hook must return None or a tuple of (new_args, "
                                f"new_kwargs), but got {new}.")
                else:
                    new = hook(self, args)
                    if new is not None:
                        args = new if isinstance(new, tuple) else (new,)
            bw_hook = None
            full_hooks, non_full_hooks = [], []
            for is_full, hooks in ((_global_is_full_backward_hook, _global_backward_hooks),
                                   (self._is_full_backward_hook, self._backward_hooks)):
                if is_full is True:
                    full_hooks += hooks.values()
                elif is_full is False:
                    non_full_hooks += hooks.values()
            pre_hooks = [*_global_backward_pre_hooks.values(),
                         *self._backward_pre_hooks.values()]
            if full_hooks or pre_hooks:
                bw_hook = _BackwardHook(self, full_hooks, pre_hooks)
                args = bw_hook.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for hook_id, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if (hook_id in self._forward_hooks_always_called
                        or hook_id in _global_forward_hooks_always_called):
                    always_called.add(hook_id)
                if (hook_id in self._forward_hooks_with_kwargs
                        or hook_id in _global_forward_hooks_with_kwargs):
                    new = hook(self, args, kwargs, result)
                else:
                    new = hook(self, args, result)
                if new is not None:
                    result = new
            if bw_hook is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a "
                                  f"Tensor or a tuple of Tensors but received {type(result)}",
                                  stacklevel=2)
                result = bw_hook.setup_output_hook(result)
            if non_full_hooks:
                self._register_non_full_backward_hooks(args, result, non_full_hooks)
            return result
        except Exception:
            # hooks registered with always_call=True still run when forward fails
            for hook_id, hook in _global_forward_hooks.items():
                if (hook_id in _global_forward_hooks_always_called
                        and hook_id not in always_called):
                    try:
                        new = hook(self, args, result)
                        if new is not None:
                            result = new
                    except Exception as e:  # noqa: BLE001 - silenced for the first error
                        warnings.warn("global module forward hook with ``always_call=True`` "
                                      "raised an exception that was silenced as another error "
                                      f"was raised in forward: {e}", stacklevel=2)
            for hook_id, hook in list(self._forward_hooks.items()):
                if hook_id not in self._forward_hooks_always_called or hook_id in always_called:
                    continue
                try:
                    if hook_id in self._forward_hooks_with_kwargs:
                        new = hook(self, args, kwargs, result)
                    else:
                        new = hook(self, args, result)
                    if new is not None:
                        result = new
                except Exception as e:  # noqa: BLE001 - silenced in favour of the first error
                    warnings.warn("forward hook with ``always_call=True`` raised an exception "
                                  "that was silenced as another error was raised in forward: "
                                  f"{e}", stacklevel=2)
            raise

    _compiled_call_impl = None  # (set by ``compile()``)

    def compile(self, *args, **kwargs):
        """Compile this module's calls with ``ember.compile`` (in place, as PyTorch's
        ``Module.compile``); the arguments are ``ember.compile``'s."""
        from ...compiler._compile import CompiledFunction

        model = kwargs.pop("model", None)
        if args or model is not None:
            raise TypeError("Module.compile() takes ember.compile's keyword arguments only")
        options = {k: kwargs.pop(k) for k in ("fullgraph", "dynamic", "mode", "options")
                   if k in kwargs}
        kwargs.pop("backend", None)
        if kwargs.pop("disable", False):
            return
        if kwargs:
            raise TypeError(f"compile() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        object.__setattr__(self, "_compiled_call_impl",
                           CompiledFunction(self, call=self._plain_call, **options))

    def _plain_call(self, *args, **kwargs):
        if (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or _global_forward_pre_hooks
                or _global_forward_hooks or _global_backward_pre_hooks
                or _global_backward_hooks):
            return self._call_impl(*args, **kwargs)
        return self.forward(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        # NOTE: as PyTorch's ``_wrapped_call_impl``: with no hook anywhere (the common case),
        # call ``forward`` directly; the hook machinery costs more than a small layer's op.
        if self._compiled_call_impl is not None:
            return self._compiled_call_impl(*args, **kwargs)
        if (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or _global_forward_pre_hooks
                or _global_forward_hooks or _global_backward_pre_hooks
                or _global_backward_hooks):
            return self._call_impl(*args, **kwargs)
        return self.forward(*args, **kwargs)

    _register_non_full_backward_hooks = _module_hooks._register_non_full_backward_hooks
    _maybe_warn_non_full_backward_hook = _module_hooks._maybe_warn_non_full_backward_hook

    # ---- repr (_module_repr.py) -------------------------------------------------------------
    _get_name = _module_repr._get_name
    extra_repr = _module_repr.extra_repr
    __repr__ = _module_repr.__repr__


def _requalify(code, old, new):
    # the code object's own qualified name (3.11+: what nested functions, made from it at run
    # time, take as their __qualname__), and those of the functions nested in it
    consts = tuple(_requalify(c, old, new) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    if not hasattr(code, "co_qualname"):  # Python 3.10
        return code.replace(co_consts=consts)
    qualname = code.co_qualname
    if qualname == old or qualname.startswith(old + "."):
        qualname = new + qualname[len(old):]
    return code.replace(co_consts=consts, co_qualname=qualname)


def _adopt_methods(cls):
    """Name the methods written in the sibling files as if written in ``cls``'s body here:
    ``__qualname__`` ``Module.<name>`` (errors such as "Module.load_state_dict() missing 1
    required positional argument" and reprs show it), ``__module__`` this module's (pickling a
    function by reference looks it up as ``<module>.Module.<name>``; inspect.getmodule), and
    the code objects' qualified names (nested functions' ``__qualname__``); a staticmethod's
    own copies too. Aliases (``register_module``) are the same function, named once by the
    name it was defined under."""
    for attr in vars(cls).values():
        func = attr.__func__ if isinstance(attr, staticmethod) else attr
        if not isinstance(func, types.FunctionType) or func.__module__ == __name__:
            continue
        old, new = func.__qualname__, f"{cls.__qualname__}.{func.__name__}"
        func.__qualname__ = new
        func.__module__ = __name__
        func.__code__ = _requalify(func.__code__, old, new)
        if isinstance(attr, staticmethod):  # it copied the names when it wrapped the function
            attr.__qualname__, attr.__module__ = new, __name__


_adopt_methods(Module)
