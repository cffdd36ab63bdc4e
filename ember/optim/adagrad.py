"""``Adagrad`` (PyTorch's ``torch.optim.Adagrad``): per-coordinate step sizes from the sum of
squared gradients, with ``lr_decay``, ``initial_accumulator_value``, weight decay, ``maximize``.

Contract: state per parameter is ``step`` and ``sum``, created eagerly in ``__init__`` (as
PyTorch does, so ``state_dict()`` holds them before the first step); the effective rate at step
``t`` is ``lr / (1 + (t - 1) * lr_decay)``; updates in place under ``no_grad``. Dense gradients
only.
"""

from __future__ import annotations

import ember

from .optimizer import (
    Optimizer,
    _check_fused,
    _check_lr,
    _check_non_negative,
    _get_value,
    _to_scalar,
    _zero_step,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad.

    Example::

        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Adagrad([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr(lr)
        _check_non_negative("lr_decay", lr_decay)
        _check_non_negative("weight_decay", weight_decay)
        _check_non_negative("initial_accumulator_value", initial_accumulator_value)
        _check_non_negative("epsilon", eps)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)

        _check_fused(fused, differentiable, foreach)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = _zero_step()
                init = group["initial_accumulator_value"]
                state["sum"] = ember.full_like(p, init)

    def step(self, closure=None):
        """One Adagrad step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        lr = float(_to_scalar(group["lr"]))
        weight_decay, lr_decay, eps = group["weight_decay"], group["lr_decay"], group["eps"]
        for p, state in self._params_with_grad(group):
            state["step"] += 1
            step = _get_value(state["step"])
            grad = p.grad if not group["maximize"] else -p.grad
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum = state["sum"]
            state_sum.addcmul_(grad, grad, value=1)
            if group["differentiable"]:
                std = state_sum.sqrt() + eps
            else:
                std = state_sum.sqrt().add_(eps)
            p.addcdiv_(grad, std, value=-clr)
