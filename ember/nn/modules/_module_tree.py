"""Module's walks over its tree: lookup by dotted path, the ``named_*`` iterators, and what is
applied to every submodule (``apply``, ``train``/``eval``, ``requires_grad_``, ``zero_grad``).

Contract: PyTorch's ``torch.nn.Module``: ``named_*`` iterate in registration order, depth first
(``named_modules`` yields a module before its children), with dotted prefixes; duplicates (by
identity) are left out unless ``remove_duplicate=False``; ``None`` entries are skipped;
``get_submodule``/``set_submodule``/``get_parameter``/``get_buffer`` raise PyTorch's
``AttributeError``/``ValueError`` messages; ``apply`` visits children before the module itself.
The functions here are ``Module``'s methods: module.py binds them in the class body and gives
them the names they had there (``Module.<name>``, module ``ember.nn.modules.module``).
"""

from __future__ import annotations

from ..parameter import Parameter
from . import module as _module  # the class itself, looked up at call time (module.py imports us)


def get_submodule(self, target):
    """The submodule at dotted path ``target`` ("" is self)."""
    if target == "":
        return self
    mod = self
    for item in target.split("."):
        if not hasattr(mod, item):
            raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
        mod = getattr(mod, item)
        if not isinstance(mod, _module.Module):
            raise AttributeError("`" + item + "` is not an nn.Module")
    return mod


def set_submodule(self, target, module, strict=False):
    """Put ``module`` at dotted path ``target`` (``strict``: only replace an existing one)."""
    if target == "":
        raise ValueError("Cannot set the submodule without a target name!")
    atoms = target.split(".")
    if not isinstance(module, _module.Module):
        raise ValueError("`" + "module" + f"` is not an nn.Module, found {type(module)}")
    parent = self if len(atoms) == 1 else self.get_submodule(".".join(atoms[:-1]))
    if strict and not hasattr(parent, atoms[-1]):
        raise AttributeError(parent._get_name() + " has no attribute `" + atoms[-1] + "`")
    if hasattr(parent, atoms[-1]) and not isinstance(getattr(parent, atoms[-1]), _module.Module):
        raise AttributeError("`" + atoms[-1] + "` is not an nn.Module")
    setattr(parent, atoms[-1], module)


def get_parameter(self, target):
    """The parameter at dotted path ``target``."""
    module_path, _, param_name = target.rpartition(".")
    mod = self.get_submodule(module_path)
    if not hasattr(mod, param_name):
        raise AttributeError(mod._get_name() + " has no attribute `" + param_name + "`")
    param = getattr(mod, param_name)
    if not isinstance(param, Parameter):
        raise AttributeError("`" + param_name + "` is not an nn.Parameter")
    return param


def get_buffer(self, target):
    """The buffer at dotted path ``target``."""
    module_path, _, buffer_name = target.rpartition(".")
    mod = self.get_submodule(module_path)
    if not hasattr(mod, buffer_name):
        raise AttributeError(mod._get_name() + " has no attribute `" + buffer_name + "`")
    buffer = getattr(mod, buffer_name)
    if buffer_name not in mod._buffers:
        raise AttributeError("`" + buffer_name + "` is not a buffer")
    return buffer


def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
    seen = set()
    modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
               if recurse else [(prefix, self)])
    for module_prefix, module in modules:
        for k, v in get_members(module):
            if v is None or id(v) in seen:
                continue
            if remove_duplicate:
                seen.add(id(v))
            yield module_prefix + ("." if module_prefix else "") + k, v


def parameters(self, recurse=True):
    for _, param in self.named_parameters(recurse=recurse):
        yield param


def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
    yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)


def buffers(self, recurse=True):
    for _, buf in self.named_buffers(recurse=recurse):
        yield buf


def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
    yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                   remove_duplicate)


def children(self):
    for _, module in self.named_children():
        yield module


def named_children(self):
    seen = set()
    for name, module in self._modules.items():
        if module is not None and id(module) not in seen:
            seen.add(id(module))
            yield name, module


def modules(self):
    for _, module in self.named_modules():
        yield module


def named_modules(self, memo=None, prefix="", remove_duplicate=True):
    if memo is None:
        memo = set()
    if self in memo:
        return
    if remove_duplicate:
        memo.add(self)
    yield prefix, self
    for name, module in self._modules.items():
        if module is None:
            continue
        sub_prefix = prefix + ("." if prefix else "") + name
        yield from module.named_modules(memo, sub_prefix, remove_duplicate)


def train(self, mode=True):
    if not isinstance(mode, bool):
        raise ValueError("training mode is expected to be boolean")
    self.training = mode
    for module in self.children():
        module.train(mode)
    return self


# (named as Module's: in this file ``eval`` is this function, not the builtin)
def eval(self):
    return self.train(False)


def requires_grad_(self, requires_grad=True):
    for p in self.parameters():
        p.requires_grad_(requires_grad)
    return self


def zero_grad(self, set_to_none=True):
    for p in self.parameters():
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            g = p.grad
            if g.grad_fn is not None:
                g.detach_()
            else:
                g.requires_grad_(False)
            g.zero_()


def apply(self, fn):
    """Call ``fn`` on every submodule (children first) and on self; returns self."""
    for module in self.children():
        module.apply(fn)
    fn(self)
    return self
