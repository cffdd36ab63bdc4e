"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov, weight decay and
``maximize`` (PyTorch's ``torch.optim.SGD``, same defaults, checks and update order).

Contract: per parameter with a gradient, ``g = ±grad + weight_decay * p``; with momentum,
``buf = g`` on the first step and ``buf = momentum * buf + (1 - dampening) * g`` after;
Nesterov uses ``g + momentum * buf``; then ``p -= lr * g``, in place under ``no_grad``. The
``momentum_buffer`` state exists only when ``momentum != 0``. As in Adam, the plain update runs
on the arrays (``_kernels``, bit-identical to the ember ops) when nothing needs the ops.
"""

from __future__ import annotations

import numpy as np

import ember

from . import _kernels
from .optimizer import Optimizer, _check_fused, _to_scalar

__all__ = ["SGD"]

_NO_STATE: dict = {}


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum).

    Example::

        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.SGD([w], lr=0.5, momentum=0.9)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([0.], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if isinstance(lr, ember.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

        _check_fused(fused, differentiable, foreach)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def step(self, closure=None):
        """One SGD step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        lr = float(_to_scalar(group["lr"]))
        momentum = group["momentum"]
        dampening = group["dampening"]
        weight_decay = group["weight_decay"]
        # NOTE: as in Adam, the plain update runs on the arrays (_kernels.py, bit-identical);
        # _op_update is the reference and handles the first momentum step and anything unusual.
        fast = not group["differentiable"] and _kernels.usable(lr, momentum, dampening,
                                                               weight_decay)
        for p in group["params"]:
            if p.grad is None:
                continue
            if fast and self._array_update(p, group, lr, momentum, dampening, weight_decay):
                continue
            self._op_update(p, group, lr, momentum, dampening, weight_decay)

    def _array_update(self, p, group, lr, momentum, dampening, weight_decay):
        """``_op_update`` on the arrays, line for line (see _kernels.py); False, having done
        nothing, when a tensor involved is not one the array path handles (or momentum's
        buffer does not exist yet)."""
        buf_t = None
        if momentum != 0:
            buf_t = self.state.get(p, _NO_STATE).get("momentum_buffer")
            if buf_t is None:
                return False
        arrays = _kernels.arrays(p, p._grad, buf_t)
        if arrays is None:
            return False
        param, grad, buf = arrays
        if group["maximize"]:
            grad = np.negative(grad)
        if weight_decay != 0:
            grad = _kernels.add(grad, param, weight_decay)
        if momentum != 0:
            _kernels.mul_(buf, momentum)
            _kernels.add_(buf, grad, 1 - dampening)
            _kernels.bump(buf_t, 2)
            grad = _kernels.add(grad, buf, momentum) if group["nesterov"] else buf
        _kernels.add_(param, grad, -lr)
        _kernels.bump(p)
        return True

    def _op_update(self, p, group, lr, momentum, dampening, weight_decay):
        """One parameter's update in ember ops (PyTorch's single-tensor SGD, line for line)."""
        grad = p.grad if not group["maximize"] else -p.grad
        if weight_decay != 0:
            grad = grad.add(p, alpha=weight_decay)
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = grad.detach().clone()
                state["momentum_buffer"] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
        p.add_(grad, alpha=-lr)
