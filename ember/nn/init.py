"""``ember.nn.init``: fill a tensor in place with values from an initialisation scheme.

Contract: PyTorch's ``torch.nn.init``: names, signatures, defaults, fan and gain rules, error
classes and messages. Every function writes into its argument under ``no_grad`` (so it works on
Parameters) and returns it. Random values are PyTorch's, bit for bit: each initialiser computes
its bound in double exactly as PyTorch does and calls ``Tensor.uniform_``/``normal_`` (which draw
PyTorch's CPU stream, see ``ember.random``), so after ``manual_seed`` the weights equal
PyTorch's (``orthogonal_`` only up to its QR's rounding: its draws are exact).
"""

from __future__ import annotations

import math
import warnings

import ember

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_"]


# NOTE [meta init]: a module built with device="meta" (shapes only, the skip_init and
# to_empty recipe) runs its initialisers on meta tensors; they have no values to fill, and
# PyTorch's initialisers leave them as they are, so each one here returns them untouched.
def _write(tensor, values):
    if tensor.is_meta:  # NOTE [meta init]
        return tensor
    with ember.no_grad():
        tensor.copy_(values)
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for ``nonlinearity`` (``param``: leaky_relu's negative slope).

    >>> calculate_gain("relu")
    1.4142135623730951
    """
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4  # found empirically (pytorch/pytorch#50664)
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    if tensor.is_meta:  # NOTE [meta init]
        return tensor
    with ember.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2)."""
    if tensor.is_meta:  # NOTE [meta init]
        return tensor
    with ember.no_grad():
        return tensor.normal_(mean, std, generator=generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) truncated to [a, b]: PyTorch's rejection samplers (redrawn
    normals when most of the mass is inside, else uniform proposals with acceptance)."""
    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    with ember.no_grad():
        if tensor.numel() == 0 or tensor.is_meta:  # NOTE [meta init]
            return tensor
        # (drawn on the tensor's device, from its generator, as PyTorch's in-place draws)
        shape, dtype, dev = tuple(tensor.shape), tensor.dtype, tensor.device
        if norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std) > 0.3:
            lo = ember.tensor(a, dtype=dtype, device=dev)
            hi = ember.tensor(b, dtype=dtype, device=dev)
            out = ember.empty(shape, dtype=dtype, device=dev).normal_(mean, std,
                                                                      generator=generator)
            bad = (out < lo) | (out > hi)
            while bool(bad.any()):
                fresh = ember.empty(shape, dtype=dtype, device=dev).normal_(
                    mean, std, generator=generator)
                out = ember.where(bad, fresh, out)
                bad = (out < lo) | (out > hi)
        else:
            mode = max(a, min(mean, b))
            log_peak = -0.5 * ((mode - mean) / std) ** 2
            m, s, peak = (ember.tensor(v, dtype=dtype, device=dev)
                          for v in (mean, std, log_peak))

            def rejected(c):
                u = ember.empty(shape, dtype=dtype, device=dev).uniform_(0, 1,
                                                                         generator=generator)
                return u.log() > (((c - m) / s) ** 2) * -0.5 - peak

            out = ember.empty(shape, dtype=dtype, device=dev).uniform_(a, b,
                                                                       generator=generator)
            pending = rejected(out)
            while bool(pending.any()):
                cand = ember.empty(shape, dtype=dtype, device=dev).uniform_(
                    a, b, generator=generator)
                out = ember.where(pending, cand, out)
                pending = pending & rejected(cand)
        return tensor.copy_(out)


def constant_(tensor, val):
    """Fill with ``val``."""
    with ember.no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    with ember.no_grad():
        return tensor.zero_()


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix."""
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, ember.eye(*tensor.shape, device=tensor.device))


def dirac_(tensor, groups=1):
    """Fill a 3/4/5-D conv weight with the Dirac delta (identity convolution per group)."""
    dims = tensor.ndimension()
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.size()
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = sizes[0] // groups
    centre = tuple(s // 2 for s in sizes[2:])
    with ember.no_grad():
        tensor.zero_()
        for g in range(groups):
            for d in range(min(per_group, sizes[1])):
                tensor[(g * per_group + d, d) + centre] = 1
    return tensor


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.size(1) * receptive, tensor.size(0) * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std  # (this association: the bound is rounded as PyTorch's)
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    """He et al.'s std, gain / sqrt(fan), for a kaiming_* caller; None (after PyTorch's warning,
    attributed to the caller's caller) when ``tensor`` has no elements and is left as it is."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix (trailing dims flattened), times ``gain`` (Saxe et al.)."""
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0 or tensor.is_meta:  # NOTE [meta init]
        return tensor
    rows = tensor.size(0)
    cols = tensor.numel() // rows
    with ember.no_grad():
        flat = ember.empty(rows, cols, dtype=tensor.dtype, device=tensor.device).normal_(
            0, 1, generator=generator)
        if rows < cols:
            flat = flat.t()
        q, r = ember.linalg.qr(flat)
        # sign of R's diagonal makes Q uniformly (Haar) distributed
        q = q * ember.diag(r, 0).sign()
        if rows < cols:
            q = q.t()
        return _write(tensor, (q * gain).reshape(tuple(tensor.shape)))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """N(0, std^2) with a ``sparsity`` fraction of each column set to zero."""
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    normal_(tensor, 0.0, std, generator)
    with ember.no_grad():
        for col in range(cols):  # PyTorch draws these from the global generator
            zeros = ember.randperm(rows)[:num_zeros]
            if not tensor.is_meta:  # NOTE [meta init] (the draws are made all the same)
                tensor[zeros, col] = 0
    return tensor


# ---- deprecated names without the trailing underscore ------------------------------------

def _make_deprecate(meth):
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of "
                      f"`nn.init.{new_name}`.", FutureWarning, stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = f"Deprecated: use :func:`{new_name}`."
    deprecated_init.__name__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
