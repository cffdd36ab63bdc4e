"""``Muon`` (PyTorch's ``torch.optim.Muon``): momentum (Nesterov by default) whose update is
orthogonalized by Newton-Schulz iterations in bfloat16, with decoupled weight decay and a
shape-dependent lr adjustment ("original": ``sqrt(max(1, A / B))``; "match_rms_adamw":
``0.2 * sqrt(max(A, B))``). For 2-D parameters only.

Contract: PyTorch's signature, defaults, checks and arithmetic; state per parameter is
``momentum_buffer``. Updates in place under ``no_grad``.

NOTE [bfloat16 on devices]: CuPy has no bfloat16, so on a device the iteration holds its
bfloat16 values in float32 arrays (``_bf16_values``: each rounding to bfloat16 done on the bits,
round-to-nearest-even, as a cast would). Every bfloat16 step here is a float32 computation
rounded once, so the values are the CPU's bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

import ember

from ..tensor import wrap
from .optimizer import Optimizer, _to_scalar

__all__ = ["Muon"]

EPS = 1e-07
DEFAULT_A = 3.4445
DEFAULT_B = -4.775
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """Approximately orthogonalize ``grad`` (``U V^T`` of its SVD) with the quintic iteration
    ``X <- a X + (b G + c G^2) X``, ``G = X X^T``, in bfloat16 as PyTorch does."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    device = type(grad._data) is not np.ndarray
    bf16 = _bf16_values if device else _to_bf16  # NOTE [bfloat16 on devices]
    ortho_grad = bf16(grad)
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    # NOTE: PyTorch's bfloat16 norm / matmul / addmm accumulate in float32 and round the result
    # once to bfloat16; ember's bfloat16 support for these is partial, so compute in float32 and
    # round explicitly (the same single rounding).
    norm = bf16(ortho_grad.float().norm())
    if device:
        # bfloat16's clamp takes its bound as a bfloat16; its division is float32's, rounded
        bound = float(_bf16_values(ember.tensor(eps, dtype=ember.float32)))
        ortho_grad = bf16(ortho_grad / norm.clamp(min=bound))
    else:
        ortho_grad.div_(norm.clamp(min=eps))
    for _ in range(ns_steps):
        x = ortho_grad.float()
        gram_matrix = bf16(x @ x.T)
        g = gram_matrix.float()
        gram_update = bf16(ember.addmm(g, g, g, beta=b, alpha=c))
        ortho_grad = bf16(ember.addmm(x, gram_update.float(), x, beta=a))
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    return ortho_grad


def _bf16_values(t):
    """``t.to(bfloat16).float()`` for a float32 or float64 tensor, computed on its bits (NOTE
    [bfloat16 on devices]): float64 goes to float32 rounded to odd (so the second rounding is
    the one a direct cast makes), then the low 16 bits are rounded off to nearest, ties to
    even; NaN stays NaN."""
    a = t._data
    with np.errstate(over="ignore"):  # (the bit arithmetic wraps around on purpose)
        return wrap(_bf16_bits(a))


def _bf16_bits(a):
    if a.dtype == np.float64:
        r = a.astype(np.float32)
        back = r.astype(np.float64)
        u = r.view(np.uint32)
        u = np.where(np.abs(back) > np.abs(a), u - np.uint32(1), u)  # toward zero: truncated
        r = np.where((back != a) & ~np.isnan(a), u | np.uint32(1), u).view(np.float32)
    else:
        r = a.astype(np.float32, copy=False)
    u = r.view(np.uint32)
    half = np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))
    out = ((u + half) & np.uint32(0xFFFF0000)).view(np.float32)
    return np.where(np.isnan(r), r, out)


def _to_bf16(t):
    return t.to(ember.bfloat16)


def _adjust_lr(lr, adjust_lr_fn, param_shape):
    A, B = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        adjusted_ratio = math.sqrt(max(1, A / B))
    elif adjust_lr_fn == "match_rms_adamw":
        adjusted_ratio = 0.2 * math.sqrt(max(A, B))
    else:
        adjusted_ratio = 1.0
    return lr * adjusted_ratio


class Muon(Optimizer):
    """Muon: momentum orthogonalized by Newton-Schulz, for 2-D weights.

    Example::

        >>> w = ember.tensor([[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
        >>> opt = ember.optim.Muon([w], lr=0.1, weight_decay=0.0)
        >>> (w * w).sum().backward(); opt.step()
        >>> w.detach().round(decimals=2)  # the update is bfloat16: its last digits vary by CPU
        tensor([[0.8900, 0.0000],
                [0.0000, 1.9300]])
    """

    def __init__(self, params, lr=0.001, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C), eps=EPS,
                 ns_steps=DEFAULT_NS_STEPS, adjust_lr_fn=None):
        if isinstance(lr, ember.Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum,
                    "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
                    "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def step(self, closure=None):
        """One Muon step; ``closure`` (if given) recomputes and returns the loss."""
        return self._step_groups(closure)

    def _update_group(self, group):
        lr = float(_to_scalar(group["lr"]))
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            if p.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = ember.zeros_like(p.grad)
            grad = p.grad
            if grad.ndim != 2:
                raise ValueError("Param gradient must be a 2D matrix")
            buf = state["momentum_buffer"]
            buf.lerp_(grad, 1 - momentum)
            update = grad.lerp(buf, momentum) if group["nesterov"] else buf
            update = _zeropower_via_newtonschulz(update, group["ns_coefficients"],
                                                 group["ns_steps"], group["eps"])
            adjusted_lr = _adjust_lr(lr, group["adjust_lr_fn"], p.shape)
            p.mul_(1 - lr * weight_decay)
            # (the update upcast first: its bfloat16 values are exact in p's dtype, and PyTorch adds
            # in the common dtype, never rounding alpha * update to bfloat16)
            p.add_(update.to(p.dtype), alpha=-adjusted_lr)
