"""``ASGD`` (PyTorch's ``torch.optim.ASGD``): averaged SGD. Each step decays the parameter by
``1 - lambd * eta``, takes an SGD step of size ``eta``, updates the running average ``ax``
(a plain copy while ``mu == 1``), then sets ``eta = lr / (1 + lambd * lr * t) ** alpha`` and
``mu = 1 / max(1, t - t0)``.

Contract: state per parameter is ``step``, ``eta``, ``mu`` (float32 scalar tensors, so eta is
rounded as in PyTorch) and ``ax``; updates in place under ``no_grad``.
"""

from __future__ import annotations

import ember

from .optimizer import (
    Optimizer,
    _check_capturable,
    _check_lr,
    _check_non_negative,
    _get_value,
    _scalar_dtype,
    _to_scalar,
    _zero_step,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """Averaged stochastic gradient descent.

    Example::

        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.ASGD([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.8000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        _check_non_negative("weight_decay", weight_decay)
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One ASGD step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        _check_capturable(group, what="params, mus, etas, and state_steps")
        lr = float(_to_scalar(group["lr"]))
        lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
        weight_decay = group["weight_decay"]
        for p, state in self._params_with_grad(group):
            if len(state) == 0:
                # (PyTorch keeps ASGD's counters on the parameter's device)
                state["step"] = _zero_step().to(p.device)
                state["eta"] = ember.tensor(lr, dtype=_scalar_dtype(), device=p.device)
                state["mu"] = ember.ones((), dtype=_scalar_dtype(), device=p.device)
                state["ax"] = ember.zeros_like(p)
            grad = p.grad if not group["maximize"] else -p.grad
            mu, ax, eta = state["mu"], state["ax"], state["eta"]
            state["step"] += 1
            if weight_decay != 0:
                grad = grad.add(p, alpha=weight_decay)
            eta_value = _get_value(eta)
            p.mul_(1 - lambd * eta_value)
            p.add_(grad, alpha=-eta_value)
            if mu.item() != 1:
                ax.add_(p.sub(ax).mul_(mu))
            else:
                ax.copy_(p)
            step = _get_value(state["step"])
            eta.copy_(ember.as_tensor(lr / ((1 + lambd * lr * step) ** alpha)))
            mu.copy_(ember.as_tensor(1 / max(1, step - t0)))
