"""Layers that rearrange elements: Flatten, Unflatten, PixelShuffle, PixelUnshuffle,
ChannelShuffle, Fold, Unfold.

Contract: PyTorch's constructor signatures, defaults (Flatten keeps the batch dimension:
start_dim=1), argument checks and messages, forward semantics and repr.
"""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Flatten", "Unflatten", "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Fold",
           "Unfold"]


class Flatten(Module):
    """Flatten dimensions ``start_dim`` to ``end_dim`` into one.

    >>> Flatten()(ember.ones(2, 3, 4)).shape
    torch.Size([2, 12])
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self._require_tuple_int(unflattened_size)
        self.dim = dim
        self.unflattened_size = unflattened_size

    def _require_tuple_int(self, input):
        if isinstance(input, (tuple, list)):
            for idx, elem in enumerate(input):
                if not isinstance(elem, int):
                    raise TypeError("unflattened_size must be tuple of ints, but found element "
                                    f"of type {type(elem).__name__} at pos {idx}")
            return
        raise TypeError("unflattened_size must be a tuple of ints, but found type "
                        f"{type(input).__name__}")

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


# ---- other layers that only rearrange elements ------------------------------------------
# PyTorch keeps these in pixelshuffle.py, channelshuffle.py and fold.py; here they join Flatten
# and Unflatten, since this package has one file per layer family. All are views and
# permutations of ember tensors, so autograd comes for free.

def _check_at_least_3d(input, name):
    if input.dim() < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input "
                           f"with {input.dim()} dimension(s)")


class PixelShuffle(Module):
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r).

    >>> PixelShuffle(2)(ember.ones(1, 8, 3, 3)).shape
    torch.Size([1, 2, 6, 6])
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        r = self.upscale_factor
        _check_at_least_3d(input, "pixel_shuffle")
        if r <= 0:
            raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
        *batch, c, h, w = input.shape
        if c % (r * r) != 0:
            raise RuntimeError(
                "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
                f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
        n = len(batch)
        x = input.reshape(*batch, c // (r * r), r, r, h, w)
        x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
        return x.reshape(*batch, c // (r * r), h * r, w * r)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W): the inverse of PixelShuffle."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        r = self.downscale_factor
        _check_at_least_3d(input, "pixel_unshuffle")
        if r <= 0:
            raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got "
                               f"{r}")
        *batch, c, h, w = input.shape
        if h % r != 0:
            raise RuntimeError("pixel_unshuffle expects height to be divisible by "
                               f"downscale_factor, but input.size(-2)={h} is not divisible by {r}")
        if w % r != 0:
            raise RuntimeError("pixel_unshuffle expects width to be divisible by "
                               f"downscale_factor, but input.size(-1)={w} is not divisible by {r}")
        n = len(batch)
        x = input.reshape(*batch, c, h // r, r, w // r, r)
        x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
        return x.reshape(*batch, c * r * r, h // r, w // r)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave ``groups`` channel groups: (N, g * k, *) viewed (N, g, k, *) -> (N, k, g, *)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        g = self.groups
        if input.dim() <= 2:
            raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with "
                               f"sizes {list(input.shape)}")
        if g <= 0:
            raise RuntimeError("Number of groups to divide channels in must be positive. Value "
                               f"of groups:{g}")
        c = input.size(1)
        if c % g != 0:
            raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} "
                               f"channels and {g} groups.")
        n, rest = input.size(0), tuple(input.shape[2:])
        x = input.reshape(n, g, c // g, *rest).transpose(1, 2)
        return x.reshape(n, c, *rest)

    def extra_repr(self):
        return f"groups={self.groups}"


class Fold(Module):
    """Sum sliding-window columns (N, C * prod(kernel), L) back into (N, C, *output_size)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class Unfold(Module):
    """Sliding-window columns of (N, C, H, W): (N, C * prod(kernel), L)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
