"""Pooling layers: MaxPool1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d,
AdaptiveMaxPool1d/2d/3d; LPPool1d/2d/3d, MaxUnpool1d/2d/3d, FractionalMaxPool2d/3d; and
resampling: Upsample, UpsamplingNearest2d, UpsamplingBilinear2d.

Contract: PyTorch's constructor signatures, defaults (stride defaults to kernel_size), stored
attributes (AvgPool1d keeps 1-tuples, the others keep what they were given), forward
semantics via ``nn.functional`` (``return_indices`` included) and repr.
"""

from __future__ import annotations

import ember

from .. import functional as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
           "LPPool1d", "LPPool2d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "AvgPool3d",
           "AdaptiveMaxPool3d", "LPPool3d", "FractionalMaxPool2d", "FractionalMaxPool3d"]


class _MaxPoolNd(Module):
    # The name of the functional op, looked up in F at each call (not the function: vmap
    # swaps F's functions for their batching rules while it runs)
    _pool = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        pool = getattr(F, type(self)._pool)
        return pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                    ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of (N, C, L) or (C, L) inputs."""

    _pool = "max_pool1d"


class MaxPool2d(_MaxPoolNd):
    """Max over sliding windows of (N, C, H, W) or (C, H, W) inputs.

    >>> MaxPool2d(2)(ember.ones(1, 1, 4, 4)).shape
    torch.Size([1, 1, 2, 2])
    """

    _pool = "max_pool2d"


class MaxPool3d(_MaxPoolNd):
    """Max over sliding windows of (N, C, D, H, W) or (C, D, H, W) inputs."""

    _pool = "max_pool3d"


class _AvgPoolNd(Module):
    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Mean over sliding windows of (N, C, L) or (C, L) inputs."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """Mean over sliding windows of (N, C, H, W) or (C, H, W) inputs."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


def _single(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class _AdaptivePoolNd(Module):
    """Shared by adaptive average and max pooling: the target ``output_size`` and the repr."""

    _pool = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class _AdaptiveAvgPoolNd(_AdaptivePoolNd):
    def forward(self, input):
        return getattr(F, type(self)._pool)(input, self.output_size)


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Mean pooling to a fixed output length."""

    _pool = "adaptive_avg_pool1d"


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Mean pooling to a fixed output size (None keeps that dimension)."""

    _pool = "adaptive_avg_pool2d"


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Mean pooling to a fixed 3-D output size."""

    _pool = "adaptive_avg_pool3d"


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        return getattr(F, type(self)._pool)(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output length."""

    _pool = "adaptive_max_pool1d"


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output size."""

    _pool = "adaptive_max_pool2d"


# ---- resampling ---------------------------------------------------------------------------------
# PyTorch keeps these in upsampling.py; they join the pooling (downsampling) layers here, since
# this package has one file per layer family.

class Upsample(Module):
    """Resize by ``size`` or ``scale_factor`` with F.interpolate's modes.

    >>> Upsample(scale_factor=2)(ember.ones(1, 1, 2, 2)).shape
    torch.Size([1, 1, 4, 4])
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            info = "scale_factor=" + repr(self.scale_factor)
        else:
            info = "size=" + repr(self.size)
        return info + ", mode=" + repr(self.mode)


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour 2-D upsampling."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear 2-D upsampling with ``align_corners=True``."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


# ---- power-average and unpooling ----------------------------------------------------------
# Composed from the pooling ops and scatter (PyTorch's F.lp_pool*d and F.max_unpool*d recipes),
# so gradients come from those ops.

class _LPPoolNd(Module):
    _dims = 0

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input):
        max_pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[self._dims - 1]
        avg_pool = (F.avg_pool1d, F.avg_pool2d, _avg_pool3d)[self._dims - 1]
        p = self.norm_type
        if p == float("inf"):
            return max_pool(input.abs(), self.kernel_size, self.stride, 0, 1, self.ceil_mode)
        if p == -float("inf"):
            return -max_pool(-input.abs(), self.kernel_size, self.stride, 0, 1, self.ceil_mode)
        out = avg_pool(input.pow(p), self.kernel_size, self.stride, 0, self.ceil_mode)
        window = 1
        for k in _ntuple(self.kernel_size, self._dims):
            window *= k
        # the sign/relu pair keeps pow(1/p) off negative averages, as PyTorch
        return (out.sign() * F.relu(out.abs())).mul(window).pow(1.0 / p)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """p-norm over sliding windows of (N, C, L) inputs."""

    _dims = 1


class LPPool2d(_LPPoolNd):
    """p-norm over sliding windows of (N, C, H, W) inputs."""

    _dims = 2


def _ntuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


class _MaxUnpoolNd(Module):
    _dims = 0

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        n = self._dims
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride if stride is not None else kernel_size, n)
        self.padding = _ntuple(padding, n)

    def _output_size(self, input, output_size):
        n = self._dims
        default = [(input.size(-n + d) - 1) * self.stride[d] + self.kernel_size[d]
                   - 2 * self.padding[d] for d in range(n)]
        if output_size is None:
            size = default
        else:
            output_size = list(output_size)
            if len(output_size) == n + 2:
                output_size = output_size[2:]
            if len(output_size) != n:
                raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} "
                                 f"elements, but it has a length of '{len(output_size)}'")
            for d in range(n):
                lo, hi = default[d] - self.stride[d], default[d] + self.stride[d]
                if not lo < output_size[d] < hi:
                    raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be '
                                     f"between {lo} and {hi})")
            size = output_size
        for d in range(n):
            if size[d] < 0:
                raise ValueError("max_unpooling: output_size must contain non-negative spatial "
                                 f"dimensions, but got output_size[{d}]={size[d]}")
        return size

    def forward(self, input, indices, output_size=None):
        size = self._output_size(input, output_size)
        n = self._dims
        lead = tuple(input.shape[:-n])
        numel = 1
        for s in size:
            numel *= s
        # each plane's values go to their flat positions in a zero plane of the output size
        flat_in = input.reshape(*lead, -1)
        flat_idx = indices.reshape(*lead, -1)
        bad = ((flat_idx < 0) | (flat_idx >= numel)).nonzero()
        if bad.shape[0]:
            where = tuple(int(i) for i in bad[0])
            dims = "x".join(str(s) for s in (*size, 1)[:max(n, 2)])
            raise RuntimeError(f"Found an invalid max index: {int(flat_idx[where])} (output "
                               f"volumes are of size {dims})")
        out = ember.zeros((*lead, numel), dtype=input.dtype, device=input.device)
        out = out.scatter(len(lead), flat_idx, flat_in)
        return out.reshape(*lead, *size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Put MaxPool1d's maxima back at their indices (zeros elsewhere)."""

    _dims = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Put MaxPool2d's maxima back at their indices (zeros elsewhere)."""

    _dims = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Put MaxPool3d's maxima back at their indices (zeros elsewhere)."""

    _dims = 3


# ---- 3-D average, adaptive max and power-average pooling ---------------------------------
# ember.nn.functional has no 3-D average or adaptive-max pooling, so these compose the 2-D op
# over (H, W) with the 1-D op over D. Both are separable: a box sum is a sum of row sums, the
# PyTorch divisor (window size, clipped at the padded or real border) is a product of per-axis
# sizes, and a box max is a max of row maxima.

def _pool_sizes(size, kernel, stride, padding, ceil_mode, count_include_pad):
    """Per output position along one axis: PyTorch's divisor factor for that axis."""
    out = (size + 2 * padding - kernel + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    sizes = []
    for o in range(out):
        start = o * stride - padding
        end = min(start + kernel, size + padding)
        if not count_include_pad:
            start, end = max(start, 0), min(end, size)
        sizes.append(end - start)
    return sizes


def _over_depth(input, pool_hw, pool_d):
    """Apply ``pool_hw`` to (B, 1, H, W) slices, then ``pool_d`` to (B', 1, D) rows."""
    unbatched = input.dim() == 4
    x = input.unsqueeze(0) if unbatched else input
    n, c, d, h, w = x.shape
    y = pool_hw(x.reshape(n * c * d, 1, h, w))
    h2, w2 = y.shape[-2], y.shape[-1]
    y = y.reshape(n * c, d, h2 * w2).transpose(1, 2).reshape(n * c * h2 * w2, 1, d)
    z = pool_d(y)
    d2 = z.shape[-1]
    z = z.reshape(n, c, h2, w2, d2).permute(0, 1, 4, 2, 3)
    return z.squeeze(0) if unbatched else z


def _avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False):
    return AvgPool3d(kernel_size, stride, padding, ceil_mode)(input)


class AvgPool3d(_AvgPoolNd):
    """Mean over sliding windows of (N, C, D, H, W) or (C, D, H, W) inputs."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        if input.dim() not in (4, 5):
            raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
        (kd, kh, kw), (sd, sh, sw), (pd, ph, pw) = (
            _ntuple(self.kernel_size, 3), _ntuple(self.stride, 3), _ntuple(self.padding, 3))
        cip, ceil = self.count_include_pad, self.ceil_mode
        if self.divisor_override is None:
            return _over_depth(
                input,
                lambda t: F.avg_pool2d(t, (kh, kw), (sh, sw), (ph, pw), ceil, cip),
                lambda t: F.avg_pool1d(t, kd, sd, pd, ceil, cip))
        # window sums (divisor 1 in H, W; undo each D window's own divisor), then the override
        depth = input.shape[-3]
        d_sizes = _pool_sizes(depth, kd, sd, pd, ceil, True)
        d_factor = ember.tensor(d_sizes, dtype=input.dtype, device=input.device)
        sums = _over_depth(
            input,
            lambda t: F.avg_pool2d(t, (kh, kw), (sh, sw), (ph, pw), ceil, cip, 1),
            lambda t: F.avg_pool1d(t, kd, sd, pd, ceil, True) * d_factor)
        return sums / self.divisor_override


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) inputs to a fixed output size."""

    def forward(self, input):
        od, oh, ow = _ntuple(self.output_size, 3)
        size = input.shape[-3:]
        od, oh, ow = (s if o is None else o for o, s in zip((od, oh, ow), size))
        def pool_hw(t):
            return F.adaptive_max_pool2d(t, (oh, ow))

        values = _over_depth(input, pool_hw, lambda t: F.adaptive_max_pool1d(t, od))
        if not self.return_indices:
            return values
        # indices: the (H, W) argmax of every depth slice, taken at the depth whose (H, W)
        # window maximum is the largest
        hw_idx = _over_depth_keep(input, lambda t: F.adaptive_max_pool2d(t, (oh, ow), True))
        d_idx = _over_depth(input, pool_hw, lambda t: F.adaptive_max_pool1d(t, od, True)[1])
        h, w = size[-2], size[-1]
        return values, d_idx * (h * w) + hw_idx.gather(-3, d_idx)


def _over_depth_keep(input, pool_hw_with_indices):
    """The (H, W) argmax indices of every depth slice: (..., D, oh, ow)."""
    unbatched = input.dim() == 4
    x = input.unsqueeze(0) if unbatched else input
    n, c, d, h, w = x.shape
    _, idx = pool_hw_with_indices(x.reshape(n * c * d, 1, h, w))
    idx = idx.reshape(n, c, d, idx.shape[-2], idx.shape[-1])
    return idx.squeeze(0) if unbatched else idx


class LPPool3d(_LPPoolNd):
    """p-norm over sliding windows of (N, C, D, H, W) inputs."""

    _dims = 3


# ---- fractional max pooling ---------------------------------------------------------------
# Graham's pseudo-random pooling regions: per plane, one uniform sample per axis places the
# windows (ATen's generate_intervals); the windows are gathered as flat positions and reduced
# with max, so gradients flow through gather.

def _intervals(sample, in_size, out_size, pool):
    if out_size <= 1:
        return [in_size - pool] if out_size == 1 else []
    alpha = (in_size - pool) / (out_size - 1)
    starts = [int((i + sample) * alpha) - int(sample * alpha) for i in range(out_size - 1)]
    return starts + [in_size - pool]


class _FractionalMaxPoolNd(Module):
    _dims = 0

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        n = self._dims
        name = type(self).__name__
        if n == 3:
            k = _ntuple(kernel_size, 3)
            if any(s <= 0 for s in k):
                raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        self.kernel_size = _ntuple(kernel_size, n)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _ntuple(output_size, n) if output_size is not None else None
        self.output_ratio = _ntuple(output_ratio, n) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling "
                             "ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        n = self._dims
        unbatched = input.dim() == n + 1
        x = input.unsqueeze(0) if unbatched else input
        batch, planes, *size = x.shape
        if self.output_size is not None:
            out = list(self.output_size)
        else:
            out = [int(s * r) for s, r in zip(size, self.output_ratio)]
        samples = self._random_samples
        if samples is None:
            samples = ember.rand(batch, planes, n, dtype=input.dtype, device=input.device)
        # ATen's sample order: (W, H) for 2-D planes, (T, H, W) for 3-D volumes
        axis_of_sample = [1, 0] if n == 2 else [0, 1, 2]
        strides = [1] * n
        for d in range(n - 2, -1, -1):
            strides[d] = strides[d + 1] * size[d + 1]
        sample_values = samples.detach().double().tolist()
        flat_positions = []
        for b in range(batch):
            for p in range(planes):
                starts = [None] * n
                for j, axis in enumerate(axis_of_sample):
                    starts[axis] = _intervals(sample_values[b][p][j], size[axis], out[axis],
                                              self.kernel_size[axis])
                flat_positions.append(_window_positions(starts, self.kernel_size, strides))
        index = ember.tensor(flat_positions, dtype=ember.int64,
                             device=input.device).reshape(batch, planes, -1)
        window = 1
        for k in self.kernel_size:
            window *= k
        values = x.reshape(batch, planes, -1).gather(2, index)
        values = values.reshape(batch, planes, -1, window)
        result, arg = values.max(dim=-1)
        positions = index.reshape(batch, planes, -1, window).gather(-1, arg.unsqueeze(-1))
        result = result.reshape(batch, planes, *out)
        positions = positions.reshape(batch, planes, *out)
        if unbatched:
            result, positions = result.squeeze(0), positions.squeeze(0)
        return (result, positions) if self.return_indices else result


def _window_positions(starts, kernel, strides):
    """Flat input positions of every window (output cells in order, window cells in order)."""
    cells = [[]]
    for axis_starts, stride in zip(starts, strides):
        cells = [c + [s * stride] for c in cells for s in axis_starts]
    offsets = [[]]
    for k, stride in zip(kernel, strides):
        offsets = [o + [i * stride] for o in offsets for i in range(k)]
    return [sum(c) + sum(o) for c in cells for o in offsets]


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Max over pseudo-randomly placed windows of (N, C, H, W) or (C, H, W) inputs."""

    _dims = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Max over pseudo-randomly placed windows of (N, C, T, H, W) or (C, T, H, W) inputs."""

    _dims = 3
