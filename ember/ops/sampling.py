"""Sampling grids: affine_grid (the grid of a batch of affine maps over the normalised output
coordinates) and grid_sample (bilinear, nearest and bicubic sampling of an input at a grid;
zeros, border and reflection padding).

Contract: PyTorch's signatures, defaults, shapes, node names and error messages; rules in ember
ops (twice differentiable) with forward-mode rules. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import STATE, no_grad
from ..backend import namespace
from ..tensor import device_of, on_device
from ._jvp import linear
from ._registry import node_class, record, recording, wrap

FUNCTIONAL = ["affine_grid", "grid_sample"]


def _beside(host, a):
    """The host array ``host`` (a base grid: geometry) where ``a`` is: itself for a NumPy
    ``a``, else a device copy."""
    return host if type(a) is np.ndarray else on_device(host, device_of(a))


# ---- affine_grid ----------------------------------------------------------------------------

def _linspace(n, align_corners):
    if n <= 1:
        return np.zeros(max(n, 0))
    steps = np.linspace(-1.0, 1.0, n)
    return steps if align_corners else steps * (n - 1) / n


def _base_grid(spatial, align_corners):
    """``(prod(spatial), nd + 1)`` rows ``(x, y[, z], 1)``: x runs along the last dim."""
    axes = [_linspace(n, align_corners) for n in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")  # one array per spatial dim, outermost first
    cols = [m.reshape(-1) for m in reversed(mesh)] + [np.ones(math.prod(spatial))]
    return np.stack(cols, axis=1)


def _affine_vjp(ctx, g):
    base, = ctx.args
    n = g._data.shape[0]
    nd = base.shape[1] - 1
    rows = g.reshape(n, -1, nd).transpose(1, 2)
    return (rows.matmul(wrap(_beside(base, g._data).astype(g._data.dtype))),)


def _affine_jvp(ctx, t):
    base, = ctx.args
    return _affine(t, base, ctx._meta[0][0])


AffineGridGeneratorBackward0 = node_class("AffineGridGeneratorBackward0", _affine_vjp,
                                          linear(_affine_jvp))


def _affine(theta, base, out_shape):
    th = theta._data
    data = np.matmul(_beside(base, th).astype(th.dtype), th.transpose(0, 2, 1)).reshape(out_shape)
    if STATE.enabled and recording(theta):
        return record(AffineGridGeneratorBackward0, data, (theta,), args=(base,))
    return wrap(data)


def affine_grid(theta, size, align_corners=None):
    """Sampling grid ``(N, *spatial, nd)`` of the affine maps ``theta`` ``(N, nd, nd + 1)``
    over the normalised output coordinates [-1, 1] (for ``grid_sample``)."""
    import warnings

    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if "
                      "the old behavior is desired. See the documentation of grid_sample for "
                      "details.", UserWarning, stacklevel=2)
        align_corners = False
    th = theta._data
    size = tuple(int(v) for v in size)
    if th.dtype.kind != "f":
        from ..dtypes import from_np

        raise ValueError(f"Expected theta to have floating point type, but got "
                         f"{from_np(th.dtype)}")
    if len(size) not in (4, 5):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    nd = len(size) - 2
    if th.ndim != 3 or th.shape[1:] != (nd, nd + 1):
        from .._size import Size

        raise ValueError(f"Expected a batch of {nd}D affine matrices of shape Nx{nd}x{nd + 1} "
                         f"for size {size}. Got {Size(th.shape)}.")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if th.shape[0] != size[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size[0]}, {nd + 1}] but got: [{th.shape[0]}, {nd + 1}].")
    base = _base_grid(size[2:], align_corners)
    return _affine(theta, base, (size[0],) + size[2:] + (nd,))



# ---- grid_sample ----------------------------------------------------------------------------
# NOTE [grid_sample rules]: the source coordinate along each axis is an elementwise function
# of the grid (unnormalise, then clip or reflect for 'border'/'reflection'); ``_source`` builds
# it with ember ops, so its fractional part carries the grid's graph, and returns its
# derivative (piecewise constant). The bilinear output is linear in the input (gathers at
# fixed corners) and bilinear in the fractional parts: the rules below are those derivatives
# written with ember ops, so they differentiate again.

def _source(g, size, padding_mode, align_corners):
    """Source coordinate (ember op on grid component ``g``) and d coordinate / d g (array)."""
    scale = (size - 1) / 2 if align_corners else size / 2
    c = (g + 1) * scale if align_corners else ((g + 1) * size - 1) / 2
    deriv = np.full_like(g._data, scale, dtype=np.float64, order="C")
    if padding_mode == "reflection":
        low, high = (0.0, 2.0 * (size - 1)) if align_corners else (-1.0, 2.0 * size - 1)
        if low == high:
            return c * 0.0, deriv * 0.0
        lo, span = low / 2, (high - low) / 2
        shifted = c - lo
        sign = np.where(shifted._data < 0, -1.0, 1.0)
        mag = shifted * wrap(sign.astype(g._data.dtype))
        flips = np.floor(mag._data / span)
        extra = mag - wrap((flips * span).astype(g._data.dtype))
        even = (flips % 2) == 0
        keep = wrap(even.astype(g._data.dtype))
        c = extra * keep + (span - extra) * (1 - keep) + lo
        deriv = deriv * sign * np.where(even, 1.0, -1.0)
    if padding_mode in ("border", "reflection"):
        inside = (c._data >= 0) & (c._data <= size - 1)
        c = c.clamp(0, size - 1)
        deriv = deriv * inside
    return c, deriv


def _cubic_taps(t):
    """Keys' cubic weights (A = -0.75) of the taps at -1, 0, 1, 2 for fraction ``t`` and
    their derivatives in ``t``, as ember ops (so they differentiate again)."""
    a = -0.75
    u, v, w = t + 1, 1 - t, 2 - t
    weights = [((u * a - 5 * a) * u + 8 * a) * u - 4 * a,
               ((a + 2) * t - (a + 3)) * t * t + 1,
               ((a + 2) * v - (a + 3)) * v * v + 1,
               ((w * a - 5 * a) * w + 8 * a) * w - 4 * a]
    slopes = [(u * (3 * a) - 10 * a) * u + 8 * a,
              (t * (3 * (a + 2)) - 2 * (a + 3)) * t,
              ((v * (3 * (a + 2)) - 2 * (a + 3)) * v).neg(),
              ((w * (3 * a) - 10 * a) * w + 8 * a).neg()]
    return weights, slopes


def _tap_index(i, size, padding_mode, align_corners):
    """A bicubic tap's integer coordinate after 'border' or 'reflection' padding."""
    if padding_mode == "zeros":
        return i
    f = i.astype(np.float64)
    if padding_mode == "reflection":
        low, high = (0.0, 2.0 * (size - 1)) if align_corners else (-1.0, 2.0 * size - 1)
        if low == high:
            return np.zeros_like(i)
        lo, span = low / 2, (high - low) / 2
        mag = np.abs(f - lo)
        flips = np.floor(mag / span)
        extra = np.fmod(mag, span)
        f = np.where(flips % 2 == 0, extra + lo, span - extra + lo)
    return np.clip(f, 0, size - 1).astype(np.int64)


def _axis_taps(g, size, mode, padding_mode, align_corners):
    """The taps along one grid axis: ``[(index, weight, d weight / d fraction)]`` (weights
    None for 'nearest') and d source / d grid."""
    if mode == "bicubic":
        c, deriv = _source(g, size, "zeros", align_corners)  # taps are padded one by one
    else:
        c, deriv = _source(g, size, padding_mode, align_corners)
    if mode == "nearest":
        # NOTE: PyTorch rounds half to even (nearbyint).
        return [(np.rint(c._data).astype(np.int64), None, None)], deriv
    base = np.floor(c._data).astype(np.int64)
    t = (c - wrap(base.astype(c._data.dtype))).unsqueeze(1)
    if mode == "bilinear":
        return [(base, 1 - t, -1.0), (base + 1, t, 1.0)], deriv
    weights, slopes = _cubic_taps(t)
    return [(_tap_index(base - 1 + k, size, padding_mode, align_corners), weights[k],
             slopes[k]) for k in range(4)], deriv


def _points(grid, shape, mode, padding_mode, align_corners):
    """Where each output samples: ``[(flat index, valid mask, weight, taps)]`` per corner of
    the taps' product (weights are ember tensors carrying the grid's graph; None for
    'nearest'), the taps per grid axis and d source / d grid per axis. Grid axis ``a``
    (x, y, z) indexes the input's ``a``-th dim from the end."""
    import itertools

    n, nd = shape[0], len(shape) - 2
    sizes = tuple(shape[2:])[::-1]
    strides = [math.prod(sizes[:a]) for a in range(nd)]
    flat_grid = grid.reshape(n, -1, nd)
    axes, derivs = zip(*[_axis_taps(flat_grid[..., a], sizes[a], mode, padding_mode,
                                    align_corners) for a in range(nd)])
    corners = []
    for taps in itertools.product(*[range(len(t)) for t in axes]):
        valid = np.ones_like(axes[0][0][0], dtype=bool, order="C")
        flat = np.zeros_like(axes[0][0][0], dtype=np.int64, order="C")
        weight = None
        for a, k in enumerate(taps):
            i, w, _ = axes[a][k]
            valid &= (i >= 0) & (i < sizes[a])
            flat += i * strides[a]
            if w is not None:
                weight = w if weight is None else weight * w
        corners.append((np.where(valid, flat, 0), valid, weight, taps))
    return corners, axes, derivs


def _gather_at(flat_in, idx, valid):
    n, ch = flat_in._data.shape[:2]
    picked = flat_in.gather(2, wrap(np.broadcast_to(idx[:, None, :], (n, ch, idx.shape[1]))))
    return picked * wrap(valid[:, None, :].astype(flat_in._data.dtype))


def _scatter_at(vals, idx, valid, shape):
    from .indexing import index_put_accumulate

    n, ch = shape[:2]
    vals = vals * wrap(valid[:, None, :].astype(vals._data.dtype))
    xp = np if type(idx) is np.ndarray else namespace(idx)
    key = (xp.arange(n)[:, None, None], xp.arange(ch)[None, :, None], idx[:, None, :])
    return index_put_accumulate(vals, shape, key)


def _flat_input(input):
    shape = input._data.shape
    return input.reshape(shape[0], shape[1], math.prod(shape[2:]))


def _sampled(input, grid, mode, padding_mode, align_corners):
    """The output of grid_sample, (N, C, L), in ember ops."""
    corners, _, _ = _points(grid, input._data.shape, mode, padding_mode, align_corners)
    flat_in = _flat_input(input)
    total = None
    for idx, valid, weight, _ in corners:
        v = _gather_at(flat_in, idx, valid)
        v = v if weight is None else v * weight
        total = v if total is None else total + v
    return total


def _slopes(input, grid, mode, padding_mode, align_corners):
    """d output / d grid, one (N, C, L) tensor per grid axis (not for 'nearest')."""
    corners, axes, derivs = _points(grid, input._data.shape, mode, padding_mode,
                                    align_corners)
    flat_in = _flat_input(input)
    values = [_gather_at(flat_in, idx, valid) for idx, valid, _, _ in corners]
    dt = input._data.dtype
    slopes = []
    for a, deriv in enumerate(derivs):
        total = None
        for v, (_, _, _, taps) in zip(values, corners):
            term = v * axes[a][taps[a]][2]
            for b, k in enumerate(taps):
                if b != a:
                    term = term * axes[b][k][1]
            total = term if total is None else total + term
        slopes.append(total * wrap(deriv[:, None, :].astype(dt)))
    return slopes


def _grid_sample_vjp(ctx, g):
    input, grid = ctx.saved_tensors
    mode, padding_mode, align_corners = ctx.args
    need = ctx.needs_input_grad
    shape = input._data.shape
    gf = g.reshape(shape[0], shape[1], -1)
    d_input = d_grid = None
    if need[0]:
        corners, _, _ = _points(grid, shape, mode, padding_mode, align_corners)
        flat_shape = (shape[0], shape[1], math.prod(shape[2:]))
        for idx, valid, weight, _ in corners:
            part = _scatter_at(gf if weight is None else gf * weight, idx, valid, flat_shape)
            d_input = part if d_input is None else d_input + part
        d_input = d_input.reshape(shape)
    if need[1]:
        if mode == "nearest":
            d_grid = grid.detach() * 0.0
        else:
            from .join import stack

            slopes = _slopes(input, grid, mode, padding_mode, align_corners)
            d_grid = stack([(gf * sl).sum(1) for sl in slopes], -1).reshape(grid._data.shape)
    return d_input, d_grid


def _grid_sample_jvp(ctx, t_input, t_grid):
    input, grid = ctx.saved_tensors
    mode, padding_mode, align_corners = ctx.args
    out_shape = ctx._meta[0][0]
    total = None
    if t_input is not None:
        total = _sampled(t_input, grid, mode, padding_mode, align_corners)
    if t_grid is not None and mode != "nearest":
        slopes = _slopes(input, grid, mode, padding_mode, align_corners)
        tg = t_grid.reshape(out_shape[0], 1, -1, len(slopes))
        for a, sl in enumerate(slopes):
            part = sl * tg[..., a]
            total = part if total is None else total + part
    if total is None:
        from ._jvp import out_zeros

        return out_zeros(ctx)
    return total.reshape(out_shape)


GridSampler2DBackward0 = node_class("GridSampler2DBackward0", _grid_sample_vjp,
                                    _grid_sample_jvp)
GridSampler3DBackward0 = node_class("GridSampler3DBackward0", _grid_sample_vjp,
                                    _grid_sample_jvp)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Samples ``input`` ``(N, C, H, W)`` (or ``(N, C, D, H, W)``) at the normalised
    locations ``grid`` ``(N, Ho, Wo, 2)`` (x, y[, z] in [-1, 1]): 'bilinear', 'nearest' or
    (4-D) 'bicubic', with 'zeros', 'border' or 'reflection' padding."""
    import warnings

    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if "
                      "the old behavior is desired. See the documentation of grid_sample for "
                      "details.", UserWarning, stacklevel=2)
        align_corners = False
    a, gr = input._data, grid._data
    if a.shape[:1] != gr.shape[:1] or a.ndim != gr.ndim:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(a.shape)} and grid with sizes "
                           f"{list(gr.shape)}")
    if gr.shape[-1] != a.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {a.ndim - 2} in last "
                           f"dimension, but got grid with sizes {list(gr.shape)}")
    if a.ndim not in (4, 5):
        raise NotImplementedError("grid_sample: ember samples 4-D and 5-D input only")
    if mode == "bicubic" and a.ndim == 5:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    with no_grad():
        out = _sampled(wrap(a), wrap(gr), mode, padding_mode, align_corners)
    data = out._data.reshape(a.shape[:2] + gr.shape[1:-1])
    if STATE.enabled and recording(input, grid):
        node = GridSampler2DBackward0 if a.ndim == 4 else GridSampler3DBackward0
        return record(node, data, (input, grid), save=(input, grid),
                      args=(mode, padding_mode, align_corners))
    return wrap(data)
