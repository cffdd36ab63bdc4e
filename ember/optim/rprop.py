"""``Rprop`` (PyTorch's ``torch.optim.Rprop``): resilient backpropagation. Each coordinate's
step size grows by ``etas[1]`` while its gradient keeps its sign, shrinks by ``etas[0]`` when the
sign flips (and that coordinate's gradient is then treated as zero), clamped to ``step_sizes``;
the parameter moves by ``-sign(grad) * step_size``.

Contract: state per parameter is ``step``, ``prev`` (last gradient used) and ``step_size``
(starting at ``lr``); updates in place under ``no_grad``.
"""

from __future__ import annotations

import ember

from .optimizer import Optimizer, _check_capturable, _check_lr, _to_scalar, _zero_step

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop.

    Example::

        >>> w = ember.tensor([1.0, -1.0], requires_grad=True)
        >>> opt = ember.optim.Rprop([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One Rprop step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        _check_capturable(group, multi_xla=True)
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        for p, state in self._params_with_grad(group):
            if len(state) == 0:
                state["step"] = _zero_step()
                state["prev"] = ember.zeros_like(p)
                state["step_size"] = ember.full_like(p.grad, float(_to_scalar(group["lr"])))
            grad = p.grad if not group["maximize"] else -p.grad
            prev, step_size = state["prev"], state["step_size"]
            state["step"] += 1
            sign = grad.mul(prev).sign()
            flipped = sign.lt(0)
            # Same factors as PyTorch's masked writes, built with where (sign's dtype kept).
            factor = ember.where(sign.gt(0), etaplus, sign)
            factor = ember.where(flipped, etaminus, factor)
            factor = ember.where(sign.eq(0), 1.0, factor)
            step_size.mul_(factor).clamp_(step_size_min, step_size_max)
            grad = ember.where(flipped, 0.0, grad)
            p.addcmul_(grad.sign(), step_size, value=-1)
            prev.copy_(grad)
