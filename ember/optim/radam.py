"""``RAdam`` (PyTorch's ``torch.optim.RAdam``): Adam with the variance rectification term
applied once the approximated SMA length ``rho_t`` exceeds 5 (plain bias-corrected momentum
before that); L2 or decoupled weight decay.

Contract: state per parameter is ``step``, ``exp_avg`` and ``exp_avg_sq``; updates in place
under ``no_grad``, in PyTorch's arithmetic order.
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

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam.

    Example::

        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.RAdam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.8000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_adam_options(lr, eps, betas, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One RAdam step; ``closure`` (if given) recomputes and returns the loss."""
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
                state["exp_avg_sq"] = ember.zeros_like(p)
            grad = p.grad if not group["maximize"] else -p.grad
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            state["step"] += 1
            step = _get_value(state["step"])
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    p.mul_(1 - lr * weight_decay)
                else:
                    grad = grad.add(p, alpha=weight_decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            bias_corrected_exp_avg = exp_avg / bias_correction1
            rho_inf = 2 / (1 - beta2) - 1
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                root = exp_avg_sq.sqrt()
                root = root.add(eps) if group["differentiable"] else root.add_(eps)
                adaptive_lr = (bias_correction2**0.5) / root
                p.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
            else:
                p.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
