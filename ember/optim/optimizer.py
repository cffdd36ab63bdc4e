"""The ``Optimizer`` base class (PyTorch's ``torch.optim.Optimizer``).

Contract: ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (param
groups with their own options); every group gets the optimizer's defaults for options it does not
set. ``state`` maps each parameter tensor to its per-parameter dict. ``state_dict()`` returns
PyTorch's format (parameters replaced by integer ids in group order, the state's tensors by
reference, as PyTorch does); ``load_state_dict()`` copies the saved state tensors (cast to each
parameter's dtype, except ``step``) so the loaded optimizer never shares buffers with the dict.
Step pre/post hooks run around every subclass's ``step``. Updates are in place on the
parameters under ``no_grad``, or recorded by autograd when a group was built with
``differentiable=True`` (as PyTorch does). Errors carry PyTorch's classes and messages.
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any

import ember

from ..autograd.graph import RemovableHandle
from ..tensor import Tensor, typename
from . import _kernels

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Singleton marking an option that has no default (e.g. a group must give its ``lr``)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_global_step_pre_hooks: dict = OrderedDict()
_global_step_post_hooks: dict = OrderedDict()


def _to_scalar(x):
    """A one-element tensor option (``lr=tensor(0.1)``) as a Python number."""
    if isinstance(x, Tensor) and x.dim() != 0:
        return x.squeeze()
    return x


def _get_value(x):
    return x.item() if isinstance(x, Tensor) else x


def _scalar_dtype():
    # NOTE: PyTorch keeps ``step`` (and NAdam's ``mu_product``) as float32 tensors unless the
    # default dtype is float64; the float32 rounding of mu_product shows in NAdam's updates.
    return ember.float64 if ember.get_default_dtype() == ember.float64 else ember.float32


def _zero_step():
    """A new per-parameter ``step`` counter: a 0-d zero in ``_scalar_dtype()``."""
    return ember.tensor(0.0, dtype=_scalar_dtype())


def _check_lr(lr):
    """PyTorch's constructor check of ``lr``: a one-element tensor, or a number >= 0."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_non_negative(label, value):
    """PyTorch's constructor check of an option that must be >= 0 (NaN fails too), with its
    message ``Invalid <label> value: <value>``."""
    if not 0.0 <= value:
        raise ValueError(f"Invalid {label} value: {value}")


def _check_fused(fused, differentiable, foreach):
    """``fused=True`` is accepted and computed like the single-tensor path, but PyTorch's
    checks on combining it with ``differentiable`` or ``foreach`` still apply."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _check_capturable(group, what="params and state_steps", multi_what=None, single_xla=True,
                      multi_xla=False):
    """PyTorch allows ``capturable=True`` steps only on accelerators and raises this on CPU;
    ember has only the CPU. The device list (and wording) depends on which of PyTorch's paths
    (single-tensor, or foreach when ``foreach=True``) would run."""
    if not group.get("capturable") or all(p.grad is None for p in group["params"]):
        return
    multi = bool(group.get("foreach"))
    devices = ["cuda", "xpu", "hpu", "privateuseone"]
    if (multi and multi_xla) or (not multi and single_xla):
        devices.append("xla")
    what = multi_what if multi and multi_what else what
    raise AssertionError(f"If capturable=True, {what} must be on supported devices: {devices}.")


def _reject_complex(optimizer, p):
    """PyTorch runs these algorithms on complex parameters as pairs of reals (``view_as_real``),
    which ember does not have yet: fail loudly rather than compute something else."""
    if p.is_complex():
        name = type(optimizer).__name__
        raise NotImplementedError(
            f"{name} does not support complex parameters in ember yet (PyTorch updates them as "
            "pairs of reals through view_as_real, which ember lacks); use SGD, or keep the real "
            "and imaginary parts as separate real parameters")


def _step_with_hooks(func):
    """Wrap a subclass's ``step``: run pre hooks (which may replace args), the step, post hooks."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        self = args[0]
        for pre_hook in chain(_global_step_pre_hooks.values(),
                              self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{func} must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {result}.")
        out = func(*args, **kwargs)
        for post_hook in chain(self._optimizer_step_post_hooks.values(),
                               _global_step_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    wrapper._ember_hooked = True
    return wrapper


def register_optimizer_step_pre_hook(hook) -> RemovableHandle:
    """A pre hook ``hook(optimizer, args, kwargs)`` run before every optimizer's ``step``."""
    handle = RemovableHandle(_global_step_pre_hooks)
    _global_step_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook) -> RemovableHandle:
    """A post hook ``hook(optimizer, args, kwargs)`` run after every optimizer's ``step``."""
    handle = RemovableHandle(_global_step_post_hooks)
    _global_step_post_hooks[handle.id] = hook
    return handle


class Optimizer:
    """Base class of all optimizers: param groups, per-parameter state, hooks, state dicts.

    Example::

        >>> w = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = ember.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.8000, 1.6000], requires_grad=True)
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_ember_hooked", False):
            cls.step = _step_with_hooks(step)

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: dict = OrderedDict()
        self._optimizer_step_post_hooks: dict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: dict = OrderedDict()
        self._optimizer_state_dict_post_hooks: dict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: dict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: dict = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            self.__dict__.setdefault(name, OrderedDict())

    def __repr__(self):
        format_string = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            format_string += "\n"
            format_string += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    format_string += f"    {key}: {group[key]}\n"
        format_string += ")"
        return format_string

    # ---- param groups -----------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own options) to ``param_groups``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) == len(tensors):
                param_group["param_names"] = names
            else:
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + typename(param))
            if not self.defaults.get("differentiable", None) and not (
                    param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)

        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(id(p) for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- gradients and steps ----------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to ``None`` (default) or to zeros in place."""
        # NOTE: the common case (a leaf Tensor or Parameter whose gradient is a plain leaf
        # tensor) skips the ``grad`` property and runs ``requires_grad_(False)``/``zero_()``'s
        # own no-graph path inline: same flags, values and version bump. Anything else, or a
        # mode intercepting ops (_kernels.usable), goes through the methods.
        inline = not set_to_none and _kernels.usable()
        for group in self.param_groups:
            for p in group["params"]:
                plain = type(p) in _kernels.PARAM_TYPES and p._grad_fn is None
                grad = p._grad if plain else p.grad
                if grad is None:
                    continue
                if set_to_none:
                    if plain:
                        p._grad = None
                    else:
                        p.grad = None
                elif inline and type(grad) is Tensor and grad._grad_fn is None and \
                        grad._view is None and grad._vc is not None and \
                        _kernels._writeable(grad._data):
                    grad._requires_grad = False
                    grad._data[...] = 0
                    grad._vc[0] += 1
                else:
                    if grad.grad_fn is not None:
                        grad.detach_()
                    else:
                        grad.requires_grad_(False)
                    grad.zero_()

    def step(self, closure=None):
        """Perform one optimization step (subclasses implement it)."""
        raise NotImplementedError

    def _update_mode(self):
        """Grad mode for the update itself: off, unless ``differentiable=True`` asks (as in
        PyTorch) for the step to be recorded so gradients can flow through it."""
        return ember.set_grad_enabled(bool(self.defaults.get("differentiable", False)))

    def _params_with_grad(self, group):
        """``(p, state)`` for each parameter of ``group`` that has a gradient, in order, with
        ``_reject_complex`` applied as each one is reached: the loop head every update shares."""
        for p in group["params"]:
            if p.grad is None:
                continue
            _reject_complex(self, p)
            yield p, self.state[p]

    def _step_groups(self, closure):
        """The body every optimizer's ``step`` shares: run ``closure`` (if given) for the loss,
        then ``self._update_group(group)`` for each param group under ``_update_mode()``.
        Subclasses keep their own ``step`` (so its step hooks wrap it) and call this."""
        loss = self._run_closure(closure)
        with self._update_mode():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _run_closure(self, closure):
        # A closure recomputes the loss and its gradients, so it runs with grad mode on even
        # though the update itself runs under no_grad.
        if closure is None:
            return None
        with ember.enable_grad():
            return closure()

    # ---- hooks ------------------------------------------------------------------------------

    def register_step_pre_hook(self, hook) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` before ``step``; may return new ``(args, kwargs)``."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` after ``step``."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    def _register(self, hooks, hook, prepend):
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer)`` before ``state_dict``."""
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` after ``state_dict``; may return a new dict."""
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer, state_dict)`` before ``load_state_dict``; may return a new dict."""
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(optimizer)`` after ``load_state_dict``."""
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ---- state dicts ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """``{'state': {id: {...}}, 'param_groups': [{..., 'params': [ids]}]}`` as PyTorch's."""
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        mapping: dict[int, int] = {}
        start = 0

        def pack_group(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a dict from ``state_dict()``: groups matched by position, state tensors copied."""
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                # ``step`` stays as saved; other state follows the parameter's device (and,
                # for a floating parameter, its dtype), as PyTorch's
                if key == "step":
                    return value.detach().clone()
                if param.is_floating_point():
                    return value.detach().to(dtype=param.dtype, device=param.device).clone()
                return value.detach().to(device=param.device).clone()
            if isinstance(value, dict):
                return {k: cast(param, v, key=k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        self.state = state
        self.param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)
