"""``Adafactor`` (PyTorch's ``torch.optim.Adafactor``): second moments kept factored for
matrices (a row and a column running mean of squared gradients, ``var ~ row @ col / mean(row)``)
and whole for vectors; relative step ``rho_t = min(lr, 1 / sqrt(t))`` scaled by the parameter's
RMS (at least ``eps[1]``); update clipping at RMS ``d``; decoupled weight decay ``lr * wd``.

Contract: state per parameter is ``step`` and either ``row_var`` / ``col_var`` (gradient
dimension > 1) or ``variance``; ``eps[0] = None`` means the parameter dtype's machine epsilon
(taken from the first parameter stepped in a group, as PyTorch's loop does). Updates in place
under ``no_grad``, in PyTorch's arithmetic order.
"""

from __future__ import annotations

import ember

from .optimizer import Optimizer, _to_scalar, _zero_step

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor.

    Example::

        >>> w = ember.tensor([[1.0, -1.0], [2.0, 0.5]], requires_grad=True)
        >>> opt = ember.optim.Adafactor([w])
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([[ 0.9908, -0.9816],
                [ 1.9874,  0.4937]], requires_grad=True)
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        if isinstance(lr, ember.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One Adafactor step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        lr = float(_to_scalar(group["lr"]))
        eps1, eps2 = group["eps"]
        beta2_decay, d = group["beta2_decay"], group["d"]
        weight_decay = group["weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.is_complex():
                raise RuntimeError("Adafactor does not support complex parameters")
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _zero_step()
                if p.grad.dim() > 1:
                    row_shape = list(p.grad.shape)
                    row_shape[-1] = 1
                    state["row_var"] = ember.zeros(row_shape, dtype=p.grad.dtype,
                                                   device=p.grad.device)
                    col_shape = list(p.grad.shape)
                    col_shape[-2] = 1
                    state["col_var"] = ember.zeros(col_shape, dtype=p.grad.dtype,
                                                   device=p.grad.device)
                else:
                    state["variance"] = ember.zeros_like(p.grad)
            grad = p.grad if not group["maximize"] else -p.grad
            if eps1 is None:
                eps1 = ember.finfo(p.dtype).eps
            state["step"] += 1
            step_float = state["step"].item()
            one_minus_beta2_t = step_float**beta2_decay
            rho_t = min(lr, 1 / (step_float**0.5))
            alpha = max(eps2, p.norm(2).item() / (p.numel() ** 0.5)) * rho_t
            if weight_decay != 0:
                p.mul_(1 - lr * weight_decay)
            if grad.dim() > 1:
                row_var, col_var = state["row_var"], state["col_var"]
                row_mean = ember.norm(grad, dim=-1, keepdim=True).square_().div_(grad.size(-1))
                row_var.lerp_(row_mean, one_minus_beta2_t)
                col_mean = ember.norm(grad, dim=-2, keepdim=True).square_().div_(grad.size(-2))
                col_var.lerp_(col_mean, one_minus_beta2_t)
                var_estimate = row_var @ col_var
                var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
            else:
                variance = state["variance"]
                variance.lerp_(grad * grad, one_minus_beta2_t)
                var_estimate = variance.clone()
            update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_()
            update.mul_(grad)
            denom = max(1.0, update.norm(2).item() / ((update.numel() ** 0.5) * d))
            p.add_(update, alpha=-alpha / denom)
