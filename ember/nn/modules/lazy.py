"""LazyModuleMixin: modules whose parameter shapes come from their first input (LazyLinear...).

Contract: PyTorch's ``torch.nn.modules.lazy``: until the first call the module holds
Uninitialized{Parameter,Buffer}s; a forward pre-hook infers them, and loading a state_dict
materialises them to the stored shapes first. ``module.py`` re-exports all three names under
their old path; the two that a pickled lazy module holds (its hook handle and load hook) keep
``ember.nn.modules.module`` as their ``__module__`` so pickles stay as they were.
"""

from __future__ import annotations

import itertools

from ...autograd.grad_mode import no_grad
from ...autograd.graph import RemovableHandle
from ..parameter import is_lazy


class _OwnedHandle(RemovableHandle):
    """A hook handle a module keeps on itself. It holds its hook dict strongly, so a deepcopy
    or pickle of the module carries it over to the copy's own dict (a weak reference would
    still point at the original's)."""

    def __init__(self, hooks, hook):
        super().__init__(None)
        self._hooks = hooks
        hooks[self.id] = hook

    def remove(self):
        self._hooks.pop(self.id, None)


# a pickled lazy module refers to this class and function by the path they had before the
# split; module.py re-exports them there
_OwnedHandle.__module__ = "ember.nn.modules.module"


def _lazy_load_pre_hook(module, *rest):
    # a module-level function, so lazy modules stay picklable
    module._lazy_load_hook(*rest)


_lazy_load_pre_hook.__module__ = "ember.nn.modules.module"


class LazyModuleMixin:
    """Mixin for modules whose parameter shapes come from the first input (LazyLinear...).

    Contract: PyTorch's ``LazyModuleMixin``: until the first call the module holds
    Uninitialized{Parameter,Buffer}s; a forward pre-hook calls ``initialize_parameters(*input)``,
    then the module becomes ``cls_to_become`` (LazyLinear -> Linear). Loading a state_dict
    materialises the placeholders to the stored shapes first.
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = _OwnedHandle(self._load_state_dict_pre_hooks, _lazy_load_pre_hook)
        self._initialize_hook = _OwnedHandle(self._forward_pre_hooks, self._infer_parameters)
        self._forward_pre_hooks_with_kwargs[self._initialize_hook.id] = True

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # placeholders are stored as they are (a detached copy would lose what they are)
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = (param if is_lazy(param) or keep_vars
                                              else param.detach())
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if is_lazy(buf) or keep_vars else buf.detach()

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs):
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and param is not None:
                value = state_dict[key]
                if is_lazy(param) and not is_lazy(value):
                    with no_grad():
                        param.materialize(value.shape)

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {type(self).__name__}")

    def has_uninitialized_params(self):
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(),
                                                       self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None):
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become
