"""``Adamax`` (PyTorch's ``torch.optim.Adamax``): Adam's variant on the infinity norm,
``exp_inf = max(beta2 * exp_inf, |grad| + eps)``.

Contract: state per parameter is ``step``, ``exp_avg`` and ``exp_inf``; updates in place under
``no_grad``, in PyTorch's arithmetic order.
"""

from __future__ import annotations

import ember

from .adam import _check_adam_options
from .optimizer import (
    Optimizer,
    _check_capturable,
    _get_value,
    _to_scalar,
    _zero_step,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax.

    Example::

        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Adamax([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_adam_options(lr, eps, betas, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One Adamax step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        _check_capturable(group)
        lr = float(_to_scalar(group["lr"]))
        beta1, beta2 = group["betas"]
        weight_decay, eps = group["weight_decay"], group["eps"]
        for p, state in self._params_with_grad(group):
            if len(state) == 0:
                state["step"] = _zero_step()
                state["exp_avg"] = ember.zeros_like(p)
                state["exp_inf"] = ember.zeros_like(p)
            grad = p.grad if not group["maximize"] else -p.grad
            exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
            state["step"] += 1
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_inf.copy_(ember.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps)))
            bias_correction = 1 - beta1 ** _get_value(state["step"])
            p.addcdiv_(exp_avg, exp_inf, value=-(lr / bias_correction))
