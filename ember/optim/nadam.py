"""``NAdam`` (PyTorch's ``torch.optim.NAdam``): Adam with Nesterov momentum and the
``momentum_decay`` schedule ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``; L2 or
decoupled weight decay.

Contract: state per parameter is ``step``, ``mu_product`` (float32 scalar tensors, so the product
is rounded to float32 each step exactly as in PyTorch), ``exp_avg`` and ``exp_avg_sq``; updates
in place under ``no_grad``.
"""

from __future__ import annotations

import ember

from .adam import _check_adam_options
from .optimizer import (
    Optimizer,
    _check_capturable,
    _check_non_negative,
    _get_value,
    _scalar_dtype,
    _to_scalar,
    _zero_step,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam.

    Example::

        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.NAdam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.8944], requires_grad=True)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_adam_options(lr, eps, betas, weight_decay)
        _check_non_negative("momentum_decay", momentum_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One NAdam step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        _check_capturable(group, what="params, mu_products and state_steps",
                          multi_what="params, mu_products, and state_steps")
        lr = float(_to_scalar(group["lr"]))
        beta1, beta2 = group["betas"]
        weight_decay, eps = group["weight_decay"], group["eps"]
        momentum_decay = group["momentum_decay"]
        for p, state in self._params_with_grad(group):
            if len(state) == 0:
                state["step"] = _zero_step()
                state["mu_product"] = ember.tensor(1.0, dtype=_scalar_dtype())
                state["exp_avg"] = ember.zeros_like(p)
                state["exp_avg_sq"] = ember.zeros_like(p)
            grad = p.grad if not group["maximize"] else -p.grad
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            mu_product = state["mu_product"]
            state["step"] += 1
            step = _get_value(state["step"])
            bias_correction2 = 1 - beta2**step
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    p.mul_(1 - lr * weight_decay)
                else:
                    grad = grad.add(p, alpha=weight_decay)
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
            mu_product *= mu
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = exp_avg_sq.div(bias_correction2).sqrt()
            if group["differentiable"]:
                # PyTorch's differentiable path: out-of-place scaling, tensor mu_product.
                denom = denom.add(eps)
                mu_product_next = mu_product * mu_next
                scaled_grad = grad * (-lr * (1.0 - mu) / (1.0 - mu_product))
                scaled_avg = exp_avg * (-lr * mu_next / (1.0 - mu_product_next))
                p.addcdiv_(scaled_grad, denom)
                p.addcdiv_(scaled_avg, denom)
                continue
            mu_product_next = _get_value(mu_product) * mu_next
            denom.add_(eps)
            p.addcdiv_(grad, denom, value=-lr * (1.0 - mu) / (1.0 - _get_value(mu_product)))
            p.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))
