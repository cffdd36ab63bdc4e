"""``Adam`` (PyTorch's ``torch.optim.Adam``): Adam with optional AMSGrad, L2 or decoupled
weight decay and ``maximize``; same defaults, argument checks and arithmetic order as PyTorch's
single-tensor implementation.

Contract: state per parameter is ``step`` (a float32 scalar tensor), ``exp_avg`` and
``exp_avg_sq`` (and ``max_exp_avg_sq`` with ``amsgrad``), created lazily on the parameter's
first step with a gradient, in the parameter's dtype. Updates run in place under ``no_grad``:
on the arrays (``_kernels``, bit-identical to the ember ops, same version bumps) when nothing
needs the ops, else in ember ops (``differentiable``, modes such as the profiler, odd tensors).
"""

from __future__ import annotations

import numpy as np

import ember

from . import _kernels
from .optimizer import (
    Optimizer,
    _check_capturable,
    _check_fused,
    _check_lr,
    _check_non_negative,
    _get_value,
    _to_scalar,
    _zero_step,
)

__all__ = ["Adam"]


def _check_adam_options(lr, eps, betas, weight_decay):
    """The constructor checks the Adam family (Adam, AdamW, Adamax, NAdam, RAdam) shares, in
    PyTorch's order and with its messages: ``lr``, ``eps``, both ``betas`` in [0, 1), then
    ``weight_decay``."""
    _check_lr(lr)
    _check_non_negative("epsilon", eps)
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    _check_non_negative("weight_decay", weight_decay)


class Adam(Optimizer):
    """Adam: adaptive moment estimation.

    Example::

        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.9000], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if isinstance(lr, ember.Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        _check_adam_options(lr, eps, betas, weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], ember.Tensor) and isinstance(betas[1], ember.Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        betas = tuple(float(_to_scalar(b)) for b in betas)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

        _check_fused(fused, differentiable, foreach)

    def step(self, closure=None):
        """One Adam step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        _check_capturable(group)
        lr = float(_to_scalar(group["lr"]))
        beta1, beta2 = group["betas"]
        weight_decay = group["weight_decay"]
        eps = group["eps"]
        amsgrad = group["amsgrad"]
        # NOTE: the plain update runs on the arrays (_kernels.py: the same arithmetic, bit for
        # bit, without an ember op per line) whenever nothing about the group or a parameter
        # needs the ops; _op_update is the reference and handles everything else.
        fast = not group["differentiable"] and not group.get("capturable") and \
            _kernels.usable(lr, beta1, beta2, weight_decay, eps)
        for p, state in self._params_with_grad(group):
            if group["differentiable"] and len(state) and state["step"].requires_grad:
                raise RuntimeError("`requires_grad` is not supported for `step` in "
                                   "differentiable mode")
            if len(state) == 0:
                state["step"] = _zero_step()
                state["exp_avg"] = ember.zeros_like(p)
                state["exp_avg_sq"] = ember.zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = ember.zeros_like(p)
            if fast and self._array_update(p, state, group, lr, beta1, beta2, eps,
                                           weight_decay, amsgrad):
                continue
            self._op_update(p, state, group, lr, beta1, beta2, eps, weight_decay, amsgrad)

    def _array_update(self, p, state, group, lr, beta1, beta2, eps, weight_decay, amsgrad):
        """``_op_update`` on the arrays, line for line (see _kernels.py); False, having done
        nothing, when a tensor involved is not one the array path handles."""
        step_t, exp_avg_t, exp_avg_sq_t = state["step"], state["exp_avg"], state["exp_avg_sq"]
        max_sq_t = state.get("max_exp_avg_sq") if amsgrad else None
        if amsgrad and max_sq_t is None:
            return False
        arrays = _kernels.arrays(p, p._grad, exp_avg_t, exp_avg_sq_t, max_sq_t)
        step = _kernels.counter(step_t)
        if arrays is None or step is None:
            return False
        param, grad, exp_avg, exp_avg_sq, max_sq = arrays
        if group["maximize"]:
            grad = np.negative(grad)
        _kernels.add_(step, 1)
        _kernels.bump(step_t)
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                _kernels.mul_(param, 1 - lr * weight_decay)
                _kernels.bump(p)
            else:
                grad = _kernels.add(grad, param, weight_decay)
        scratch = np.empty_like(param)
        _kernels.lerp_(exp_avg, grad, 1 - beta1, scratch)
        _kernels.mul_(exp_avg_sq, beta2)
        _kernels.addcmul_(exp_avg_sq, grad, grad, 1 - beta2, scratch)
        _kernels.bump(exp_avg_t)
        _kernels.bump(exp_avg_sq_t, 2)
        step = _kernels.value(step)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if amsgrad:
            np.maximum(max_sq, exp_avg_sq, out=max_sq)
            _kernels.bump(max_sq_t)
            second = max_sq
        else:
            second = exp_avg_sq
        denom = np.sqrt(second, out=scratch)
        np.true_divide(denom, bias_correction2_sqrt, out=denom)
        _kernels.add_(denom, eps)
        _kernels.addcdiv_(param, exp_avg, denom, -step_size, denom)
        _kernels.bump(p)
        return True

    def _op_update(self, p, state, group, lr, beta1, beta2, eps, weight_decay, amsgrad):
        """One parameter's update in ember ops (PyTorch's single-tensor Adam, line for line)."""
        grad = p.grad if not group["maximize"] else -p.grad
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(p, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if group["differentiable"]:
            self._differentiable_update(p, state, lr, beta1, beta2, eps, amsgrad)
            return
        step = _get_value(state["step"])
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if amsgrad:
            max_sq = state["max_exp_avg_sq"]
            max_sq.copy_(ember.maximum(max_sq, exp_avg_sq))
            denom = (max_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        else:
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        p.addcdiv_(exp_avg, denom, value=-step_size)

    def _differentiable_update(self, p, state, lr, beta1, beta2, eps, amsgrad):
        # PyTorch's differentiable path: bias corrections from the step tensor, and clones where
        # the plain path would modify a tensor that the recorded graph still needs.
        step = state["step"]
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size_neg = (lr / bias_correction1).neg()
        bias_correction2_sqrt = bias_correction2.sqrt()
        if amsgrad:
            max_sq = state["max_exp_avg_sq"]
            max_sq.copy_(ember.maximum(max_sq.clone(), state["exp_avg_sq"]))
            second = max_sq
        else:
            second = state["exp_avg_sq"]
        denom = (second.sqrt() / (bias_correction2_sqrt * step_size_neg)).add_(eps / step_size_neg)
        p.addcdiv_(state["exp_avg"].clone(), denom)
