"""Activation checkpointing: trade compute for memory (PyTorch's ``torch.utils.checkpoint``).

Contract: ``checkpoint(function, *args, use_reentrant=...)`` returns ``function(*args)`` but
keeps none of the region's intermediate tensors for backward; they are recomputed when the
backward pass first needs them (with the RNG state of the forward, so dropout masks match, and
its autocast state, so the recomputed ops cast as they did).
``checkpoint_sequential(functions, segments, input)`` checkpoints all but the last of
``segments`` chunks of a sequence of modules/functions.

- ``use_reentrant=False`` (recommended): built on saved-tensor hooks (NOTE [non-reentrant
  checkpoint]); works with ``autograd.grad``, ``backward(inputs=...)`` and higher-order
  gradients.
- ``use_reentrant=True`` (PyTorch's default when the argument is omitted, with its warning):
  an ``autograd.Function`` that runs the region under ``no_grad`` and, in its backward,
  recomputes it with grad and backpropagates through it; like PyTorch's, it does not work with
  ``autograd.grad`` or ``backward(inputs=...)``.

NOTE [non-reentrant checkpoint]: the region runs normally, recording its graph, but under a
pack hook that stores only an index for each saved tensor. The first unpack recomputes the
region under a hook that collects the tensors it saves, in the same order, and every unpack
returns the collected tensor at its index — reattached to the original graph (NOTE
[saved-tensor hooks] in autograd/graph.py), so gradients of any order flow as without
checkpointing.
"""

from __future__ import annotations

import contextlib
import warnings

from .. import random as _random
from ..amp.autocast_mode import replay_state
from ..autograd import graph as _graph
from ..autograd.engine import CHECKPOINT_VALID  # False while a partial pass runs
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError"]

_REENTRANT_WARNING = (
    "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting "
    "in PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. "
    "use_reentrant=False is recommended, but if you need to preserve the current default "
    "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
    "differences between the two variants.")

_REENTRANT_GRAD_ERROR = (
    "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or passing "
    "an `inputs` parameter to .backward(). To resolve this error, you can either set "
    "use_reentrant=False, or call .backward() without passing the `inputs` argument.")


class CheckpointError(RuntimeError):
    """The recomputation did not save the same tensors as the original forward."""


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check="default", debug=False, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)``, recomputed in backward instead of stored.

    >>> x = ember.ones(3, requires_grad=True)
    >>> y = ember.utils.checkpoint.checkpoint(lambda a: a.sin() * 2, x, use_reentrant=False)
    >>> y.sum().backward()
    """
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, UserWarning, stacklevel=2)
        use_reentrant = True
    if use_reentrant:
        if context_fn is not noop_context_fn or debug:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        return CheckpointFunction.apply(function, preserve_rng_state, *args)
    return _checkpoint_hooks(function, args, kwargs, context_fn, determinism_check,
                             preserve_rng_state)


# ---- non-reentrant: saved-tensor hooks -----------------------------------------------------

class _Region:
    """One checkpointed call: how to rerun it and what its rerun saved."""

    def __init__(self, rerun, count_meta):
        self.rerun = rerun
        self.meta = count_meta  # (shape, dtype) of each tensor the forward saved
        self.saved = None

    def get(self, index):
        if self.saved is None:
            saved = []
            outer = _graph.SAVED_HOOKS[:]
            # NOTE: only the values are kept (detached): unpacking reattaches them to the
            # original graph, and keeping the recomputed graph would make a reference cycle
            # (tensor -> node -> packed -> saved list) that outlives the backward pass.
            _graph.SAVED_HOOKS[:] = [(lambda t: saved.append(t.detach()) or len(saved) - 1,
                                      lambda i: saved[i])]
            try:
                with enable_grad():
                    self.rerun()
            finally:
                _graph.SAVED_HOOKS[:] = outer
            got = [(tuple(t.shape), t.dtype) for t in saved]
            if self.meta is not None and got != self.meta:
                raise CheckpointError(
                    "torch.utils.checkpoint: Recomputed values for the following tensors have "
                    "different metadata than during the forward pass.\n"
                    f"saved during forward: {self.meta}\nrecomputed: {got}")
            self.saved = saved
        return self.saved[index]


def _checkpoint_hooks(function, args, kwargs, context_fn, determinism_check,
                      preserve_rng_state):
    if determinism_check not in ("default", "none"):
        raise ValueError("determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    state = _random.get_rng_state() if preserve_rng_state else None
    autocast_state = replay_state()  # (the recomputation casts as the forward did)
    forward_ctx, recompute_ctx = context_fn()
    meta = []
    region = _Region(None, meta if determinism_check == "default" else None)

    def rerun():
        here = _random.get_rng_state() if state is not None else None
        if state is not None:
            _random.set_rng_state(state)
        try:
            detached = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor)
                        else a for a in args]
            with autocast_state(), recompute_ctx:
                function(*detached, **kwargs)
        finally:
            if here is not None:
                _random.set_rng_state(here)

    region.rerun = rerun

    def pack(t):
        meta.append((tuple(t.shape), t.dtype))
        return len(meta) - 1

    def unpack(index):
        return region.get(index)

    with _graph.saved_tensors_hooks(pack, unpack), forward_ctx:
        return function(*args, **kwargs)


# ---- reentrant: an autograd.Function ---------------------------------------------------------


class CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        ctx.run_function = run_function
        ctx.rng_state = _random.get_rng_state() if preserve_rng_state else None
        ctx.autocast_state = replay_state()
        ctx.inputs = [a if not isinstance(a, Tensor) else None for a in args]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        ctx.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        from ..autograd import backward as _backward

        if not CHECKPOINT_VALID[-1]:
            raise RuntimeError(_REENTRANT_GRAD_ERROR)
        args = list(ctx.inputs)
        for i, t in zip(ctx.tensor_positions, ctx.saved_tensors):
            args[i] = t.detach().requires_grad_(t.requires_grad)
        here = _random.get_rng_state() if ctx.rng_state is not None else None
        if ctx.rng_state is not None:
            _random.set_rng_state(ctx.rng_state)
        try:
            with enable_grad(), ctx.autocast_state():
                outputs = ctx.run_function(*args)
        finally:
            if here is not None:
                _random.set_rng_state(here)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        _backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in args)


# ---- sequences ---------------------------------------------------------------------------

def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (a list or ``nn.Sequential``) in order, checkpointing each of the
    first ``segments - 1`` chunks; the last chunk runs normally."""
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, UserWarning, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
