"""``Adadelta`` (PyTorch's ``torch.optim.Adadelta``): step sizes from running averages of
squared gradients and squared updates (decay ``rho``), scaled by ``lr`` (default 1.0).

Contract: state per parameter is ``step``, ``square_avg`` and ``acc_delta``; updates in place
under ``no_grad``, in PyTorch's arithmetic order.
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

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta.

    Example::

        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Adadelta([w])
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.9968], requires_grad=True)
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_non_negative("epsilon", eps)
        _check_non_negative("weight_decay", weight_decay)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One Adadelta step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        _check_capturable(group, single_xla=False)
        lr = float(_to_scalar(group["lr"]))
        rho, eps, weight_decay = group["rho"], group["eps"], group["weight_decay"]
        for p, state in self._params_with_grad(group):
            if len(state) == 0:
                state["step"] = _zero_step()
                state["square_avg"] = ember.zeros_like(p)
                state["acc_delta"] = ember.zeros_like(p)
            square_avg, acc_delta = state["square_avg"], state["acc_delta"]
            state["step"] += 1
            grad = p.grad if not group["maximize"] else -p.grad
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
            std = square_avg.add(eps).sqrt_()
            delta = acc_delta.add(eps).sqrt_()
            if group["differentiable"]:
                delta = delta.clone()
            delta.div_(std).mul_(grad)
            acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
            p.add_(delta, alpha=-lr)
