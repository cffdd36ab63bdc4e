"""Module's attribute protocol: registering parameters, buffers and children, and the
``__getattr__``/``__setattr__``/``__delattr__``/``__dir__`` that route names through the three
registries.

Contract: PyTorch's ``torch.nn.Module`` registration: assigning a ``Parameter``, ``Module`` or
``Buffer`` registers it (and removes the name from the other registries and the instance dict);
assigning ``None`` or a tensor to an already registered name keeps its kind; names are checked
(a string, no ".", not empty, not an existing attribute) with PyTorch's error classes and
messages (``typename`` is ``torch.typename``). The functions here are ``Module``'s methods:
module.py binds them in the class body and gives them the names they had there
(``Module.<name>``, module ``ember.nn.modules.module``).
"""

from __future__ import annotations

from ...tensor import Tensor, typename
from ..parameter import Buffer, Parameter
from . import module as _module  # the class itself, looked up at call time (module.py imports us)


def register_buffer(self, name, tensor, persistent=True):
    """Add a buffer (state that is not a parameter); ``persistent`` puts it in state_dict."""
    if "_buffers" not in self.__dict__:
        raise AttributeError("cannot assign buffer before Module.__init__() call")
    if not isinstance(name, str):
        raise TypeError(f"buffer name should be a string. Got {typename(name)}")
    if "." in name:
        raise KeyError('buffer name can\'t contain "."')
    if name == "":
        raise KeyError('buffer name can\'t be empty string ""')
    if hasattr(self, name) and name not in self._buffers:
        raise KeyError(f"attribute '{name}' already exists")
    if tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(
            f"cannot assign '{typename(tensor)}' object to buffer '{name}' "
            "(torch Tensor or None required)")
    self._buffers[name] = tensor
    if persistent:
        self._non_persistent_buffers_set.discard(name)
    else:
        self._non_persistent_buffers_set.add(name)


def register_parameter(self, name, param):
    """Add a parameter (a ``Parameter`` or None) under ``name``."""
    if "_parameters" not in self.__dict__:
        raise AttributeError("cannot assign parameter before Module.__init__() call")
    if not isinstance(name, str):
        raise TypeError(f"parameter name should be a string. Got {typename(name)}")
    if "." in name:
        raise KeyError('parameter name can\'t contain "."')
    if name == "":
        raise KeyError('parameter name can\'t be empty string ""')
    if hasattr(self, name) and name not in self._parameters:
        raise KeyError(f"attribute '{name}' already exists")
    if param is None:
        self._parameters[name] = None
    elif not isinstance(param, Parameter):
        raise TypeError(
            f"cannot assign '{typename(param)}' object to parameter '{name}' "
            "(torch.nn.Parameter or None required)")
    elif param.grad_fn is not None:
        raise ValueError(
            f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
            f"created explicitly. To express '{name}' as a function of another Tensor, "
            "compute the value in the forward() method.")
    else:
        self._parameters[name] = param


def add_module(self, name, module):
    """Add a child module under ``name``."""
    if not isinstance(module, _module.Module) and module is not None:
        raise TypeError(f"{typename(module)} is not a Module subclass")
    if not isinstance(name, str):
        raise TypeError(f"module name should be a string. Got {typename(name)}")
    if hasattr(self, name) and name not in self._modules:
        raise KeyError(f"attribute '{name}' already exists")
    if "." in name:
        raise KeyError(f'module name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError('module name can\'t be empty string ""')
    self._modules[name] = module


class _AttributeProtocol:
    """Holds Module's attribute dunders; never instantiated. Written at module level,
    ``__getattr__`` and ``__dir__`` would become this module's own (PEP 562) and break
    ``from ._module_attrs import ...``; module.py binds the plain functions from here."""

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the three registries
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        def remove_from(*containers):
            for c in containers:
                if name in c:
                    if isinstance(c, dict):
                        del c[name]
                    else:
                        c.discard(name)

        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(self.__dict__, self._buffers, self._modules,
                        self._non_persistent_buffers_set)
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{typename(value)}' as parameter '{name}' "
                    "(torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
            return
        modules = self.__dict__.get("_modules")
        if isinstance(value, _module.Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            remove_from(self.__dict__, self._parameters, self._buffers,
                        self._non_persistent_buffers_set)
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{typename(value)}' as child module '{name}' "
                    "(torch.nn.Module or None expected)")
            modules[name] = value
            return
        buffers = self.__dict__.get("_buffers")
        if isinstance(value, Buffer) or (buffers is not None and name in buffers):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{typename(value)}' as buffer '{name}' "
                    "(torch.nn.Buffer, torch.Tensor or None expected)")
            if isinstance(value, Buffer):
                persistent = value.persistent
            else:
                persistent = name not in self._non_persistent_buffers_set
            self.register_buffer(name, value, persistent)
            return
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        keys = (dir(type(self)) + list(self.__dict__) + list(self._parameters)
                + list(self._modules) + list(self._buffers))
        return sorted(k for k in keys if not k[0].isdigit())

    def __setstate__(self, state):
        self.__dict__.update(state)
