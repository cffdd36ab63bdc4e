"""``AdamW`` (PyTorch's ``torch.optim.AdamW``): ``Adam`` with decoupled weight decay
(``p *= 1 - lr * weight_decay`` before the Adam update) and ``weight_decay=1e-2`` by default.

Contract: the same state, checks and update as ``Adam(..., decoupled_weight_decay=True)``;
its param groups carry ``decoupled_weight_decay=True``.
"""

from __future__ import annotations

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """Adam with decoupled weight decay.

    Example::

        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.8500], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
