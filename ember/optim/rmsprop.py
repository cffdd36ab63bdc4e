"""``RMSprop`` (PyTorch's ``torch.optim.RMSprop``): running average of squared gradients
(``alpha``), optionally centered (subtracting the squared running mean gradient) and with
momentum; same defaults, checks and arithmetic order as PyTorch.

Contract: state per parameter is ``step``, ``square_avg``, plus ``momentum_buffer`` when
``momentum > 0`` and ``grad_avg`` when ``centered``; updates in place under ``no_grad``.
"""

from __future__ import annotations

import ember

from .optimizer import (
    Optimizer,
    _check_capturable,
    _check_lr,
    _check_non_negative,
    _to_scalar,
    _zero_step,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop.

    Example::

        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.RMSprop([w], lr=0.01)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_lr(lr)
        _check_non_negative("epsilon", eps)
        _check_non_negative("momentum", momentum)
        _check_non_negative("weight_decay", weight_decay)
        _check_non_negative("alpha", alpha)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay,
                    "capturable": capturable, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One RMSprop step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        _check_capturable(group, multi_xla=True)
        lr = float(_to_scalar(group["lr"]))
        alpha, eps = group["alpha"], group["eps"]
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        for p, state in self._params_with_grad(group):
            if len(state) == 0:
                state["step"] = _zero_step()
                state["square_avg"] = ember.zeros_like(p)
                if momentum > 0:
                    state["momentum_buffer"] = ember.zeros_like(p)
                if group["centered"]:
                    state["grad_avg"] = ember.zeros_like(p)
            grad = p.grad if not group["maximize"] else -p.grad
            square_avg = state["square_avg"]
            state["step"] += 1
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
            if group["centered"]:
                grad_avg = state["grad_avg"]
                grad_avg.lerp_(grad, 1 - alpha)
                avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
            else:
                avg = square_avg.sqrt()
            # Out of place when differentiable: the graph may still need avg.
            avg = avg.add(eps) if group["differentiable"] else avg.add_(eps)
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf.mul_(momentum).addcdiv_(grad, avg)
                p.add_(buf, alpha=-lr)
            else:
                p.addcdiv_(grad, avg, value=-lr)
