"""A custom ``autograd.Function`` applied to batched arguments inside a vmap.

Contract: ``_function_batched`` says whether ``Function.apply`` must come here;
``_custom_function`` runs it as NOTE [custom Function under vmap] below describes, with
PyTorch's errors for a Function without ``setup_context`` or without a vmap rule.
"""

from __future__ import annotations

from ._state import (
    _L,
    _batched_in,
    _levels,
    _logical_ndim,
    _mark,
    _physical,
    _tensor_type,
    _tensors,
    _union,
)

# NOTE [custom Function under vmap]: ``Function.apply`` with an argument batched at an active
# level (autograd/function.py) comes here, as PyTorch's functorch does: a Function must use the
# ``setup_context`` style; with ``generate_vmap_rule = True`` it runs as is (the ops in its
# forward batch themselves, and its backward runs on the physical tensors like every rule);
# otherwise its ``vmap(info, in_dims, *args)`` staticmethod is called for the innermost level
# an argument is batched at, with that level's batch dim shown as the arguments' dim 0 (in_dim
# 0, None for the others) and the outer levels still batched, and the output dims it returns
# become that level's batch dims again. The vmap staticmethod's own ``apply`` calls handle the
# outer levels the same way.

_FUNC_NOTES = "For more details, please see https://pytorch.org/docs/main/notes/extending.func.html"


def _vmap_info():
    from collections import namedtuple

    got = _VMAP_INFO[0]
    if got is None:
        got = _VMAP_INFO[0] = namedtuple("VmapInfo", ["batch_size", "randomness"])
    return got


_VMAP_INFO: list = [None]


def _function_batched(args, kwargs) -> bool:
    """Whether a custom Function's ``apply`` must go through ``_custom_function``."""
    return bool(_L.stack) and not _L.bypass[0] and _batched_in(args, kwargs)


def _custom_function(cls, args, kwargs, apply):
    """``cls.apply(*args, **kwargs)`` inside a vmap: ``(ctx or None, output)``; ``apply`` is
    the plain call ``(cls, args, kwargs) -> (ctx, output)``."""
    from ..autograd.function import Function

    Tensor = _tensor_type()
    if cls.setup_context is Function.setup_context:
        raise RuntimeError(
            "In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, "
            "jacrev, ...), it must override the setup_context staticmethod. " + _FUNC_NOTES)
    if getattr(cls, "generate_vmap_rule", False):
        return apply(cls, args, kwargs)
    if cls.vmap is Function.vmap:
        raise RuntimeError(
            f"You tried to vmap over {cls.__name__}, but it does not have vmap support. Please "
            "override and implement the vmap staticmethod or set generate_vmap_rule=True. "
            + _FUNC_NOTES)
    level = max(_union(_tensors(args, kwargs)))
    randomness = next(r for lv, _, r in _L.stack if lv == level)
    in_dims, shown = [], []
    for a in args:
        own = _levels(a) if isinstance(a, Tensor) else ()
        if level in own:  # innermost of its levels: its batch dim is the last one in front
            with _physical():
                v = a.view_as(a)
            shown.append(_mark(v, own[:-1]))
            in_dims.append(0)
        else:
            shown.append(a)
            in_dims.append(None)
    result = cls.vmap(_vmap_info()(_L.sizes[level], randomness), tuple(in_dims), *shown, **kwargs)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise RuntimeError(f"Expected the vmap staticmethod to have two returns, an output and "
                           f"out_dims with pytree structure compatible with the output. Got "
                           f"{type(result)}")
    out, out_dims = result
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    dims = (out_dims,) * len(outs) if out_dims is None or isinstance(out_dims, int) \
        else tuple(out_dims)
    if len(dims) != len(outs):
        raise RuntimeError(f"Expected the vmap staticmethod to have two returns, an output and "
                           f"out_dims with pytree structure compatible with the output. Got "
                           f"out_dims={out_dims}")
    taken = {id(a) for a in args}
    rebatched = []
    for o, d in zip(outs, dims):
        if not isinstance(o, Tensor) or d is None:
            rebatched.append(o)
            continue
        own = _levels(o)
        if d % max(_logical_ndim(o), 1) != 0:
            o = o.movedim(d, 0)
        elif id(o) in taken:  # an argument returned as is: mark a view, not the caller's tensor
            with _physical():
                o = o.view_as(o)
        rebatched.append(_mark(o, (*own, level)))
    return None, rebatched[0] if single else tuple(rebatched)
