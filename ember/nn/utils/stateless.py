"""Call a module with some parameters and buffers replaced, without changing the module.

Contract: PyTorch's ``torch.nn.utils.stateless.functional_call`` (deprecated there in favour of
``torch.func.functional_call``, with its FutureWarning): names are dotted paths; tensors tied
in the module (one object under several names) stay tied unless ``tie_weights=False``;
``strict=True`` demands exactly the module's parameter and buffer names; the originals are
restored even when the call fails. ``_functional_call`` is the warning-free core that
``ember.func.functional_call`` can share.
"""

from __future__ import annotations

import contextlib
import warnings

from ...tensor import Tensor

__all__ = ["functional_call"]

_MISSING = object()


def _untie_named_tensors_map(module, parameters_and_buffers):
    """Extend ``parameters_and_buffers`` to every name tied to a given one."""
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    names_of = {}
    for name, tensor in named.items():
        names_of.setdefault(id(tensor), set()).add(name)
    tied = {name: names for names in names_of.values() if len(names) > 1 for name in names}
    given = {name for name in parameters_and_buffers if name in tied}
    for name in given:
        names = tied[name]
        if (len(names & given) > 1
                and len({id(parameters_and_buffers[n]) for n in names & given}) != 1):
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             "which are tied. Consider using tie_weights=False")
    untied = dict(parameters_and_buffers)
    for name in given:
        for other in tied[name]:
            untied[other] = parameters_and_buffers[name]
    return untied


def _swap_tensor(module, name, tensor):
    """Put ``tensor`` (or remove, for _MISSING) at ``module.<name>``; return what was there."""
    if tensor is not _MISSING and tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor} is not an instance of torch.Tensor")
    if "." in name:
        raise KeyError('tensor name can\'t contain "."')
    if name == "":
        raise KeyError('tensor name can\'t be empty string ""')
    for registry in (module._parameters, module._buffers):
        if name in registry:
            orig = registry[name]
            if tensor is _MISSING:
                del registry[name]
            else:
                # straight into the registry: a plain tensor may stand in for a Parameter
                registry[name] = tensor
            return orig
    orig = getattr(module, name, _MISSING)
    if orig is not _MISSING and not isinstance(orig, Tensor):
        raise TypeError(f"attribute `{name}`: {orig} is not an instance of torch.Tensor")
    if tensor is not _MISSING:
        setattr(module, name, tensor)
    elif hasattr(module, name):
        delattr(module, name)
    return orig


def _swap_all(module, values):
    originals = {}
    for path, value in values.items():
        prefix, _, name = path.rpartition(".")
        originals[path] = _swap_tensor(module.get_submodule(prefix), name, value)
    return originals


@contextlib.contextmanager
def _reparametrize_module(module, parameters_and_buffers, tie_weights=False, strict=False):
    values = (_untie_named_tensors_map(module, parameters_and_buffers) if tie_weights
              else parameters_and_buffers)
    if strict:
        valid = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        valid |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
        missing, unexpected = sorted(valid - set(values)), sorted(set(values) - valid)
        errors = []
        if unexpected:
            errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if errors:
            raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
                module._get_name(), "\n\t".join(errors)))
    originals = {}
    try:
        originals = _swap_all(module, values)
        yield
    finally:
        _swap_all(module, originals)


def _functional_call(module, parameters_and_buffers, args=None, kwargs=None, *,
                     tie_weights=True, strict=False):
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights,
                               strict=strict):
        return module(*args, **kwargs)


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` with the named parameters/buffers replaced for the call.

    >>> lin = ember.nn.Linear(1, 1)
    >>> functional_call(lin, {"weight": ember.ones(1, 1), "bias": ember.zeros(1)},
    ...                 ember.tensor([[3.]]))
    tensor([[3.]])
    """
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs,
                            tie_weights=tie_weights, strict=strict)
