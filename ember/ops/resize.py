"""Resampling and patches: interpolate (nearest, nearest-exact, linear, bilinear, bicubic,
trilinear, area; antialias) and its deprecated upsample spellings, pad (constant, reflect,
replicate, circular), unfold/fold and pixel_shuffle/unshuffle. affine_grid and grid_sample
live in ``sampling``.

Contract: PyTorch's signatures, defaults, shapes, node names and error messages; rules in ember
ops (twice differentiable) with forward-mode rules. ``FUNCTIONAL`` lists the names
``ember.nn.functional`` exports from this module.

NOTE [separable maps]: reflect/replicate/circular padding, nearest, (bi/tri)linear and bicubic
interpolation (antialiased too) and adaptive average pooling are all separable linear maps:
along each spatial dim the output is a weighted sum of a few input elements, its ``Taps``
(one index per output for the index maps, two or four weights for interpolation, a window for
antialiasing and pooling). They are applied tap by tap, never as a dense ``(out, in)`` matrix:
PyTorch's kernels read only each output's taps, so an infinite input must not reach the other
outputs through a zero weight (``0 * inf`` is NaN), while a zero-weight tap inside an output's
window does give NaN, as there. The last dim goes first (PyTorch's kernels nest the outer dims'
weights around the inner interpolations); half types are computed in float32 and rounded once.
``separable`` records such a map; its VJP is the adjoint map (a scatter-add of the weighted
gradient over the same taps), recorded as its own node so that it is differentiable again,
and its JVP is the map itself on the tangent. A map's tables are geometry, made on the host;
applied to a device array they are used through a copy on that device (``Taps.placed``, made
once per map and device).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import STATE
from ..backend import namespace
from ..tensor import as_array, device_of, on_device, zeros_as
from ._jvp import linear
from ._registry import node_class, record, recording, register, wrap
from .conv_kernels import _contiguous, col2im, windows

FUNCTIONAL = ["pad", "interpolate", "unfold", "fold", "upsample", "upsample_nearest",
              "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle"]


def _float_only(a, kernel):
    """PyTorch's error for a float-only kernel given integer or bool input."""
    if a.dtype.kind not in "fcV":  # ("V": bfloat16)
        from ..dtypes import from_np

        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{from_np(a.dtype).scalar_name}'")


# ---- separable linear maps ------------------------------------------------------------------

class Taps:
    """One dim of a separable map (NOTE [separable maps]): output ``o`` is
    ``sum_k w[o, k] * x[idx[o, k]]`` over the taps ``k`` with ``valid[o, k]``, divided by
    ``div[o]``. ``w`` None means weights of one, ``valid`` None every tap, ``div`` None no
    division; ``size`` is the input's length along the dim."""

    __slots__ = ("idx", "w", "valid", "div", "size", "skip", "first_only", "copy_adjoint",
                 "_placed")

    def __init__(self, idx, size, w=None, valid=None, div=None, skip=False):
        self.idx = np.asarray(idx, dtype=np.intp).reshape(len(idx), -1)
        self.w, self.valid, self.div, self.size = w, valid, div, int(size)
        # skip: the forward map is the identity (PyTorch's antialiased kernels leave a dim
        # whose size does not change alone; their backward still spreads over its taps)
        self.skip = skip
        self.first_only = False  # (see _antialias_quirk)
        self.copy_adjoint = False  # the adjoint is the identity (same-size bicubic)
        self._placed = None  # device -> this map with its tables on that device

    def placed(self, a):
        """This map with its tables on ``a``'s device: itself for a NumPy array, else a copy
        made once per device (the map's flags must be final by then)."""
        if type(a) is np.ndarray:
            return self
        dev = device_of(a)
        if self._placed is None:
            self._placed = {}
        got = self._placed.get(dev)
        if got is None:
            got = Taps.__new__(Taps)
            for name in ("idx", "w", "valid", "div"):
                v = getattr(self, name)
                setattr(got, name, None if v is None else on_device(np.asarray(v), dev))
            got.size, got.skip, got.first_only = self.size, self.skip, self.first_only
            got.copy_adjoint, got._placed = self.copy_adjoint, None
            self._placed[dev] = got
        return got

    def apply(self, a):
        """The map along ``a``'s first dim."""
        if self.skip:
            return a
        if self.first_only:
            first = np.broadcast_to(self.apply_rows(a, slice(0, 1)),
                                    (len(self.idx), *a.shape[1:]))
            return first.copy()
        return self.apply_rows(a, slice(None))

    def matrix(self, adjoint, dtype):
        """The map (or its adjoint) as a dense ``(out, in)`` matrix in ``dtype``; None for the
        identity."""
        if (self.copy_adjoint if adjoint else self.skip):
            return None
        n = len(self.idx)
        xp = np if type(self.idx) is np.ndarray else namespace(self.idx)
        rows = xp.zeros(n, np.intp) if self.first_only and not adjoint else xp.arange(n)
        m = xp.zeros((n, self.size))
        for k in range(self.idx.shape[1]):
            w = xp.ones(n) if self.w is None else self.w[rows, k].astype(np.float64)
            if self.valid is not None:
                w = np.where(self.valid[rows, k], w, 0.0)
            np.add.at(m, (xp.arange(n), self.idx[rows, k]), w)
        if self.div is not None:
            m /= as_array(self.div).astype(np.float64, copy=False)[rows, None]
        return (m.T if adjoint else m).astype(dtype)

    def apply_rows(self, a, rows):
        """The map's outputs ``rows`` along ``a``'s first dim."""
        idx = self.idx[rows]
        w = None if self.w is None else self.w[rows]
        valid = None if self.valid is None else self.valid[rows]
        acc = None
        for k in range(idx.shape[1]):
            v = _weigh(a[idx[:, k]], w, valid, k)
            acc = v if acc is None else acc + v
        if self.div is not None:
            acc = acc / _col(self.div[rows], a)
        return acc

    def adjoint(self, g):
        """The transposed map along ``g``'s first dim: each output's (weighted) gradient added
        to its taps' inputs."""
        if self.copy_adjoint:
            return g
        if self.div is not None:
            g = g / _col(self.div, g)
        res = zeros_as(g, shape=(self.size, *g.shape[1:]), order="C")
        for k in range(self.idx.shape[1]):
            np.add.at(res, self.idx[:, k], _weigh(g, self.w, self.valid, k))
        return res


def _weigh(v, w, valid, k):
    """``v`` (rows of one tap ``k``) times that tap's weights, invalid taps selected away."""
    if w is not None:
        v = v * _col(w[:, k], v)
    if valid is not None:
        v = np.where(_col(valid[:, k], v), v, 0)
    return v


def _col(v, a):
    """``v`` (one value per row of ``a``) shaped to broadcast along ``a``'s first dim, in
    ``a``'s dtype."""
    v = as_array(v)
    if v.dtype.kind == "f":
        v = v.astype(a.dtype, copy=False)
    return v.reshape((-1,) + (1,) * (a.ndim - 1))


def _along(a, taps, adjoint=False):
    """``a`` with its last ``len(taps)`` dims mapped by ``taps`` (or their adjoints), the last
    dim first (its adjoint: the first dim first); half types in float32, rounded once."""
    nd = len(taps)
    dt = a.dtype
    half = dt.itemsize == 2 and dt.kind in "fV"
    if half:
        a = a.astype(np.float32)
    order = range(nd) if adjoint else reversed(range(nd))
    if a.dtype.kind == "f" and np.isfinite(a).all():
        # every value finite: no 0 * inf can arise, so the dense (out, in) matrices give the
        # taps' sums (zero weights add exact zeros) with one matmul per dim
        for k in order:
            m = taps[k].placed(a).matrix(adjoint, a.dtype)
            if m is not None:
                dim = a.ndim - nd + k
                a = np.moveaxis(np.matmul(np.moveaxis(a, dim, -1), m.T), -1, dim)
    else:
        for k in order:
            dim = a.ndim - nd + k
            t = np.moveaxis(a, dim, 0)
            tk = taps[k].placed(t)
            a = np.moveaxis(tk.adjoint(t) if adjoint else tk.apply(t), 0, dim)
    return _contiguous(a.astype(dt) if half else a)


def _apply_taps(a, taps):
    """``a`` with its last ``len(taps)`` dims each mapped by their ``Taps``."""
    return _along(a, taps)


def _sep_vjp(ctx, g):
    taps, _ = ctx.args
    return (_adjoint(g, taps, type(ctx)._adjoint_cls),)


def _sep_jvp(ctx, t):
    taps, _ = ctx.args
    return separable(t, taps, type(ctx))


def _adj_vjp(ctx, g):
    taps, _ = ctx.args
    return (separable(g, taps, type(ctx)._forward_cls),)


def _adj_jvp(ctx, t):
    taps, _ = ctx.args
    return _adjoint(t, taps, type(ctx))


def _adjoint(g, taps, node_cls):
    data = _along(g._data, taps, adjoint=True)
    if STATE.enabled and recording(g):
        return record(node_cls, data, (g,), args=(taps, None))
    return wrap(data)


def separable_node(name, display_name=None, vjp=_sep_vjp):
    """The node class of one separable map (NOTE [separable maps]), with the node class of its
    adjoint (PyTorch's ``...BackwardBackward0``) for a second-order gradient."""
    fwd = node_class(name, vjp, linear(_sep_jvp), display_name=display_name)
    back = node_class(name[:-1] + "Backward0", _adj_vjp, linear(_adj_jvp))
    fwd._adjoint_cls, back._forward_cls = back, fwd
    return fwd


def separable(x, taps, node_cls, data=None):
    """``x`` mapped by ``taps`` along its last dims, recorded as ``node_cls``; ``data`` is the
    forward result when the caller computed it more directly (an index gather)."""
    if data is None:
        data = _apply_taps(x._data, taps)
    if STATE.enabled and recording(x):
        return record(node_cls, data, (x,), args=(taps, None))
    return wrap(data)


def _index_taps(idx, n):
    return Taps(idx, n)


def _gather(x, idxs):
    nd = len(idxs)
    dev = None if type(x) is np.ndarray else device_of(x)
    for k, idx in enumerate(idxs):  # (host index tables: copied over for a device array)
        x = np.take(x, idx if dev is None else on_device(idx, dev), axis=x.ndim - nd + k)
    return _contiguous(x)


# ---- pad ------------------------------------------------------------------------------------

def _constant_pad_vjp(ctx, g):
    pads, _ = ctx.args
    return (_constant_pad(g, [-p for p in pads], 0.0),)


def _constant_pad_jvp(ctx, t):
    pads, _ = ctx.args
    return _constant_pad(t, pads, 0.0)


ConstantPadNdBackward0 = node_class("ConstantPadNdBackward0", _constant_pad_vjp,
                                    linear(_constant_pad_jvp))


def _constant_pad(input, pads, value):
    a = input._data
    nd = len(pads) // 2
    crop = [slice(None)] * a.ndim
    widths = [(0, 0)] * a.ndim
    for k in range(nd):
        dim = a.ndim - 1 - k
        lo, hi = pads[2 * k], pads[2 * k + 1]
        size = a.shape[dim]
        if size + min(lo, 0) + min(hi, 0) < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        crop[dim] = slice(max(-lo, 0), size - max(-hi, 0))
        widths[dim] = (max(lo, 0), max(hi, 0))
    data = np.pad(a[tuple(crop)], widths, constant_values=value)
    if STATE.enabled and recording(input):
        return record(ConstantPadNdBackward0, data, (input,), args=(list(pads), None))
    return wrap(data)


_PAD_NODES = {
    (mode, n): separable_node(f"{name}{n}DBackward0")
    for mode, name in (("reflect", "ReflectionPad"), ("replicate", "ReplicationPad"))
    for n in (1, 2, 3)
}
# NOTE: PyTorch writes a circular pad as copies into slices of a new tensor, so its node is
# CopySlices; the rule here is the same separable map as the other modes.
for _n in (1, 2, 3):
    _PAD_NODES[("circular", _n)] = separable_node(f"CircularPad{_n}DBackward0",
                                                  display_name="torch::autograd::CopySlices")


def _pad_index(mode, size, lo, hi, dim, shape):
    o = np.arange(-lo, size + hi)
    if mode == "reflect":
        if lo >= size or hi >= size:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({lo}, {hi}) at dimension "
                               f"{dim} of input {list(shape)}")
        o = np.abs(o)
        return np.where(o >= size, 2 * (size - 1) - o, o)
    if mode == "replicate":
        return np.clip(o, 0, size - 1)
    if lo > size or hi > size:
        raise RuntimeError("Padding value causes wrapping around more than once.")
    # NOTE: negative pads crop first; the wrapped values come from the cropped input.
    start = max(-lo, 0)
    kept = size - start - max(-hi, 0)
    return start + np.arange(-max(lo, 0), kept + max(hi, 0)) % kept


def pad(input, pad, mode="constant", value=None):
    """Pads the last ``len(pad) // 2`` dims of ``input``: ``pad`` lists (left, right) pairs
    from the last dim backwards; negative pads crop (constant mode)."""
    if not isinstance(pad, (list, tuple)):
        raise TypeError("pad is a sequence of ints")  # (_checks: PyTorch's message)
    pads = [p.__index__() for p in pad]  # (a float pad is PyTorch's TypeError, not truncated)
    if len(pads) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    a = input._data
    nd = len(pads) // 2
    if mode == "constant":
        if nd > a.ndim:
            raise RuntimeError(f"Padding length should be less than or equal to two times the "
                               f"input dimension but got padding length {len(pads)} and input "
                               f"of dimension {a.ndim}")
        return _constant_pad(input, pads, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if nd not in (1, 2, 3) or a.ndim not in (nd + 1, nd + 2):
        raise NotImplementedError(
            f"Padding size {len(pads)} is not supported for {a.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    idxs = []
    for k in range(nd):
        dim = a.ndim - nd + k
        j = nd - 1 - k
        idxs.append(_pad_index(mode, a.shape[dim], pads[2 * j], pads[2 * j + 1], dim, a.shape))
    mats = [_index_taps(i, a.shape[a.ndim - nd + k]) for k, i in enumerate(idxs)]
    return separable(input, mats, _PAD_NODES[(mode, nd)], data=_gather(a, idxs))


# ---- interpolate ----------------------------------------------------------------------------

_UPSAMPLE = {
    "nearest": {n: separable_node(f"UpsampleNearest{n}DBackward0") for n in (1, 2, 3)},
    "linear": {1: separable_node("UpsampleLinear1DBackward0")},
    "bilinear": {2: separable_node("UpsampleBilinear2DBackward0")},
    "trilinear": {3: separable_node("UpsampleTrilinear3DBackward0")},
    "bicubic": {2: separable_node("UpsampleBicubic2DBackward0")},
    "nearest-exact": {n: separable_node(f"UpsampleNearestExact{n}DBackward0") for n in (1, 2, 3)},
}
_MODE_DIMS = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}
_MODES = ("nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
          "nearest-exact")


def _nearest_index(size, out, scale, exact=False):
    # NOTE: PyTorch computes the source index in float32: floor(o * scale) ('nearest') or
    # floor((o + 0.5) * scale) ('nearest-exact'), clamped to the input.
    s = np.float32(1.0 / scale) if scale is not None else np.float32(size) / np.float32(out)
    o = np.arange(out, dtype=np.float32) + np.float32(0.5 if exact else 0.0)
    return np.minimum(np.floor(o * s).astype(np.int64), size - 1)


def _scale(size, out, scale, align_corners, ct):
    """PyTorch's ``area_pixel_compute_scale`` in the kernels' compute type ``ct``."""
    if align_corners:
        return ct(size - 1) / ct(out - 1) if out > 1 else ct(0.0)
    return ct(1.0 / scale) if scale is not None and scale > 0 else ct(size) / ct(out)


def _source_index(size, out, scale, align_corners, cubic, ct):
    """Each output's source coordinate (``area_pixel_compute_source_index``), in ``ct``: the
    weights are computed in float32 for every type but float64, as PyTorch's, so that a weight
    that is exactly 0 there (0 * inf = NaN) is exactly 0 here."""
    s = _scale(size, out, scale, align_corners, ct)
    if align_corners:
        return s * np.arange(out).astype(ct)
    # (the half-pixel offsets are double literals there: float32's scale, double arithmetic,
    # rounded to float32 at the end; so 2 -> 6 samples at 1.5e-8, not 0)
    src = np.float64(s) * (np.arange(out) + 0.5) - 0.5
    return (src if cubic else np.maximum(src, 0.0)).astype(ct)  # (not clamped for cubic)


def _cubic_taps(size, out, scale, align_corners, ct=np.float64):
    """Bicubic taps along one dim (Keys' cubic convolution, A = -0.75, edge-clamped)."""
    a = ct(-0.75)
    src = _source_index(size, out, scale, align_corners, True, ct)
    base = np.floor(src)
    t = src - base

    def near(x):  # |x| <= 1
        return ((a + ct(2)) * x - (a + ct(3))) * x * x + ct(1)

    def far(x):  # 1 < |x| < 2
        return ((a * x - ct(5) * a) * x + ct(8) * a) * x - ct(4) * a

    t2 = ct(1) - t
    weights = np.stack([far(t + ct(1)), near(t), near(t2), far(t2 + ct(1))], 1)
    idx = np.clip(base.astype(np.int64)[:, None] - 1 + np.arange(4), 0, size - 1)
    return Taps(idx, size, w=weights)


def _linear_taps(size, out, scale, align_corners, ct=np.float64):
    """Linear taps along one dim: two neighbours, the second clamped at the edge."""
    if out == size:
        # NOTE: PyTorch's linear kernels copy a dim whose size does not change, as taps
        # (o, o) weighted (1, 0) whatever the scale: an inf there gives NaN only at its own
        # position
        o = np.arange(out)
        return Taps(np.stack([o, o], 1), size,
                    w=np.stack([np.ones(out, ct), np.zeros(out, ct)], 1))
    src = _source_index(size, out, scale, align_corners, False, ct)
    i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
    i1 = np.minimum(i0 + 1, size - 1)
    lam = np.clip(src - i0.astype(ct), ct(0), ct(1))
    return Taps(np.stack([i0, i1], 1), size, w=np.stack([ct(1) - lam, lam], 1))


_UPSAMPLE_AA = {"bilinear": separable_node("UpsampleBilinear2DAaBackward0"),
                "bicubic": separable_node("UpsampleBicubic2DAaBackward0")}


def _antialias_taps(size, out, scale, align_corners, cubic, ct):
    """Antialiased resampling taps along one dim, as PyTorch's ``_aa`` kernels: a triangle (or
    a = -0.5 cubic) filter widened by the downscale factor over each output's window, the
    weights normalised. NOTE: computed in ``ct`` (float32 unless the input is float64) with
    PyTorch's mix of float and double steps, because a weight that is exactly 0 at a window's
    edge there (0 * inf = NaN) must be exactly 0 here too."""
    f64 = np.float64
    s = _scale(size, out, scale, align_corners, ct)
    half_width = 2.0 if cubic else 1.0
    support = ct(half_width * f64(s)) if s >= 1.0 else ct(half_width)
    invscale = ct(1.0 / f64(s)) if s >= 1.0 else ct(1.0)

    def filt(x):
        x = np.abs(x)
        if not cubic:
            return np.where(x < 1.0, 1.0 - x.astype(f64), 0.0).astype(ct)
        a = ct(-0.5)  # (the cubic in ct arithmetic: its sign near a root decides inf's sign)
        return np.where(x < 1, ((a + ct(2)) * x - (a + ct(3))) * x * x + ct(1),
                        np.where(x < 2, ((a * x - ct(5) * a) * x + ct(8) * a) * x - ct(4) * a,
                                 ct(0))).astype(ct)

    center = (f64(s) * (np.arange(out) + 0.5)).astype(ct)
    # (a C++ int cast truncates toward zero)
    lo = np.maximum(np.trunc((center - support).astype(f64) + 0.5), 0).astype(np.int64)
    hi = np.minimum(np.trunc((center + support).astype(f64) + 0.5), size).astype(np.int64)
    width = max(int((hi - lo).max()), 1)
    cols = lo[:, None] + np.arange(width)
    valid = cols < hi[:, None]
    x = ((cols.astype(ct) - center[:, None]).astype(f64) + 0.5) * f64(invscale)
    w = np.where(valid, filt(x.astype(ct)), ct(0.0))
    total = np.cumsum(w, axis=1, dtype=ct)[:, -1:]  # (summed in order, as there)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(total != 0, w / total, w)
    return Taps(np.minimum(cols, size - 1), size, w=w, valid=valid, skip=out == size)


def _antialias_quirk(taps, spatial, sizes):
    """NOTE: PyTorch's antialiased 2-D kernels, when the output is one column wide and the
    height changes, give every output row the value of the first (the vertical pass reads a
    one-column buffer with a zero stride); its backward is the true adjoint. Matched, as the
    forward map of the height's taps."""
    if sizes[-1] == 1 and sizes[-2] != spatial[-2]:
        taps[-2].first_only = True


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resizes the spatial dims of ``(N, C, *spatial)`` input: mode 'nearest', 'linear' (3-D),
    'bilinear' (4-D) or 'trilinear' (5-D); ``size`` or ``scale_factor``."""
    a = input._data
    nd = a.ndim - 2
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    spatial = list(a.shape[2:])
    if size is not None:
        sizes = [int(size)] * nd if isinstance(size, int) else [int(s) for s in size]
        if len(sizes) != nd:
            raise ValueError(
                "Input and output must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {spatial} and output size of {tuple(size)}. "
                "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size "
                "in (o1, o2, ...,oK) format.")
        scales = [None] * nd
    else:
        sf = [float(scale_factor)] * nd if isinstance(scale_factor, (int, float)) else [
            float(s) for s in scale_factor]
        if len(sf) != nd:
            raise ValueError(
                "Input and scale_factor must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {spatial} and scale_factor of shape "
                f"{tuple(scale_factor)}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                "format and scale_factor in (s1, s2, ...,sK) format.")
        sizes = [int(math.floor(s * f)) for s, f in zip(spatial, sf)]
        scales = [None] * nd if recompute_scale_factor else sf
    if antialias and (mode not in ("bilinear", "bicubic") or a.ndim != 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    if nd not in (1, 2, 3):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                                  f"(got {a.ndim}D) for the modes: {_MODES} (got {mode})")
    if any(o <= 0 for o in sizes):
        names = "DHW"[3 - nd:]
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input ("
            + ", ".join(f"{n}: {v}" for n, v in zip(names, spatial)) + ") and output ("
            + ", ".join(f"{n}: {v}" for n, v in zip(names, sizes)) + ")")
    kernels = {"nearest": "nearest", "nearest-exact": "nearest", "linear": "linear",
               "bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}
    if mode in kernels and a.dtype.kind not in "fcV":  # ("V": bfloat16)
        # NOTE: PyTorch names its 2-D kernels for these two modes, its index helpers else.
        if nd == 2 and mode in ("nearest", "bilinear"):
            _float_only(a, f"upsample_{mode}2d_channels_last")
        _float_only(a, f"compute_indices_weights_{kernels[mode]}")
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        idxs = [_nearest_index(s, o, sc, exact) for s, o, sc in zip(spatial, sizes, scales)]
        mats = [_index_taps(i, s) for i, s in zip(idxs, spatial)]
        return separable(input, mats, _UPSAMPLE[mode][nd], data=_gather(a, idxs))
    if mode == "area":
        # NOTE: PyTorch's 'area' is adaptive average pooling to the output size.
        from . import pooling

        fn = {1: pooling.adaptive_avg_pool1d, 2: pooling.adaptive_avg_pool2d,
              3: pooling.adaptive_avg_pool3d}[nd]
        return fn(input, sizes[0] if nd == 1 else tuple(sizes))
    if mode in _MODE_DIMS:
        want = _MODE_DIMS[mode]
        if nd != want:
            raise NotImplementedError(f"Got {a.ndim}D input, but {mode} mode needs "
                                      f"{want + 2}D input")
        if align_corners is None:
            align_corners = False
        ct = np.float64 if a.dtype == np.float64 else np.float32
        if antialias:
            mats = [_antialias_taps(s, o, sc, align_corners, mode == "bicubic", ct)
                    for s, o, sc in zip(spatial, sizes, scales)]
            _antialias_quirk(mats, spatial, sizes)
            return separable(input, mats, _UPSAMPLE_AA[mode])
        matrix = _cubic_taps if mode == "bicubic" else _linear_taps
        mats = [matrix(s, o, sc, align_corners, ct) for s, o, sc in zip(spatial, sizes, scales)]
        if mode == "bicubic" and sizes == spatial:
            # NOTE: PyTorch's bicubic backward copies the gradient when no size changes (its
            # forward still weighs four taps, zero weights included)
            for t in mats:
                t.copy_adjoint = True
        return separable(input, mats, _UPSAMPLE[mode][nd])
    raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported "
                              f"(got {a.ndim}D) for the modes: {_MODES} (got {mode})")


# ---- unfold / fold --------------------------------------------------------------------------

def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(a) for a in v)


def _im2col(x, k, d, p, s):
    n, c = x.shape[:2]
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pi, pi) for pi in p]) if any(p) else x
    v = windows(xp, k, s, d)  # (N, C, oh, ow, kh, kw)
    # NOTE: an explicit block count: -1 is ambiguous for an empty batch. Always a copy (not
    # np.ascontiguousarray, which returns a window view that happens to be contiguous, kernel
    # size 1: an alias of the input): PyTorch's unfold returns a new tensor.
    return v.transpose(0, 1, 4, 5, 2, 3).copy().reshape(
        n, c * k[0] * k[1], v.shape[2] * v.shape[3])


def _col2im(cols, out_size, k, d, p, s, blocks):
    n = cols.shape[0]
    c = cols.shape[1] // (k[0] * k[1])
    cols = cols.reshape((n, c) + tuple(k) + tuple(blocks))
    padded = (n, c) + tuple(o + 2 * pi for o, pi in zip(out_size, p))
    out = col2im(cols, padded, k, s, d)
    return _contiguous(out[..., p[0]:p[0] + out_size[0], p[1]:p[1] + out_size[1]])


def _blocks(size, k, d, p, s):
    return tuple((si + 2 * pi - di * (ki - 1) - 1) // st + 1
                 for si, ki, di, pi, st in zip(size, k, d, p, s))


def _unfold_vjp(ctx, g):
    size, k, d, p, s = ctx.args
    return (_fold(g, size, k, d, p, s),)


def _unfold_jvp(ctx, t):
    size, k, d, p, s = ctx.args
    return _unfold(t, k, d, p, s)


def _fold_vjp(ctx, g):
    size, k, d, p, s = ctx.args
    return (_unfold(g, k, d, p, s),)


def _fold_jvp(ctx, t):
    size, k, d, p, s = ctx.args
    return _fold(t, size, k, d, p, s)


Im2ColBackward0 = node_class("Im2ColBackward0", _unfold_vjp, linear(_unfold_jvp))
Col2ImBackward0 = node_class("Col2ImBackward0", _fold_vjp, linear(_fold_jvp))


def _unfold(input, k, d, p, s):
    a = input._data
    size = a.shape[-2:]
    # NOTE: unbatched input goes through the same node (PyTorch's graph has no squeeze).
    data = _im2col(a, k, d, p, s) if a.ndim == 4 else _im2col(a[None], k, d, p, s)[0]
    if STATE.enabled and recording(input):
        return record(Im2ColBackward0, data, (input,), args=(size, k, d, p, s))
    return wrap(data)


def _fold(input, size, k, d, p, s):
    a = input._data
    blocks = _blocks(size, k, d, p, s)
    data = _col2im(a, size, k, d, p, s, blocks) if a.ndim == 3 else \
        _col2im(a[None], size, k, d, p, s, blocks)[0]
    if STATE.enabled and recording(input):
        return record(Col2ImBackward0, data, (input,), args=(size, k, d, p, s))
    return wrap(data)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of ``(N, C, H, W)`` input as columns ``(N, C*kh*kw, L)`` (im2col)."""
    k, d, p, s = _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride)
    a = input._data
    _float_only(a, "im2col_out_cpu")
    if a.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported "
                                  f"(got {a.ndim}D)")
    if not all(a.shape[a.ndim - 3:]):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {list(a.shape)}")
    blocks = _blocks(a.shape[-2:], k, d, p, s)
    if any(b < 1 for b in blocks):
        raise RuntimeError(
            f"Given input with spatial size ({a.shape[-2]}, {a.shape[-1]}), kernel_size={k}, "
            f"dilation={d}, padding={p}, calculated shape of the array of sliding blocks as "
            f"{blocks}, but its components must be at least one.")
    return _unfold(input, k, d, p, s)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sums columns ``(N, C*kh*kw, L)`` back into ``(N, C, *output_size)`` (col2im)."""
    size = _pair(output_size)
    k, d, p, s = _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride)
    a = input._data
    _float_only(a, "col2im_out_cpu")
    if a.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input "
                                  f"Tensors are supported (got {a.ndim}D)")
    if not all(a.shape[a.ndim - 2:]):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           "batch size and non-zero dimensions for input, but got: "
                           f"{list(a.shape)}")
    blocks = _blocks(size, k, d, p, s)
    if a.shape[-2] % (k[0] * k[1]):
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product of "
            f"kernel_size, but got input.size(1)={a.shape[-2]} and kernel_size={k}.")
    if a.shape[-1] != blocks[0] * blocks[1]:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={k}, dilation={d}, padding={p}, "
            f"stride={s}, expected size of input's dimension {a.ndim - 1} to match the "
            f"calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
            f"{blocks[0] * blocks[1]}, but got input.size({a.ndim - 1})={a.shape[-1]}.")
    return _fold(input, size, k, d, p, s)


_pad_op = pad  # NOTE: constant_pad_nd's argument is named ``pad`` too, as in PyTorch.


def constant_pad_nd(input, pad, value=0):
    """Pads (or, for negative pads, crops) the last ``len(pad) // 2`` dims with ``value``."""
    return _pad_op(input, pad, "constant", value)


register(constant_pad_nd, method=False)


# ---- deprecated spellings of interpolate ----------------------------------------------------

def _deprecated(name):
    import warnings

    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", UserWarning, stacklevel=3)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated: ``interpolate``."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- pixel_shuffle / pixel_unshuffle --------------------------------------------------------
# NOTE: each is a fixed permutation of the elements and the other's inverse, so each one's
# rule is the other op (and its JVP itself).

def _shuffle_array(a, r):
    *lead, c, h, w = a.shape
    b = a.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    n = len(lead)
    b = b.transpose(tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
    # NOTE: a copy even for r == 1 (np.ascontiguousarray would return ``a`` itself), as PyTorch
    return b.copy().reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def _unshuffle_array(a, r):
    *lead, c, h, w = a.shape
    b = a.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    n = len(lead)
    b = b.transpose(tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return b.copy().reshape(tuple(lead) + (c * r * r, h // r, w // r))  # (a copy, as above)


def _shuffle_vjp(ctx, g):
    return (_unshuffle(g, ctx.args[0]),)


def _shuffle_jvp(ctx, t):
    return _shuffle(t, ctx.args[0])


def _unshuffle_vjp(ctx, g):
    return (_shuffle(g, ctx.args[0]),)


def _unshuffle_jvp(ctx, t):
    return _unshuffle(t, ctx.args[0])


PixelShuffleBackward0 = node_class("PixelShuffleBackward0", _shuffle_vjp, linear(_shuffle_jvp))
PixelUnshuffleBackward0 = node_class("PixelUnshuffleBackward0", _unshuffle_vjp,
                                     linear(_unshuffle_jvp))


def _shuffle(input, r):
    data = _shuffle_array(input._data, r)
    if STATE.enabled and recording(input):
        return record(PixelShuffleBackward0, data, (input,), args=(r,))
    return wrap(data)


def _unshuffle(input, r):
    data = _unshuffle_array(input._data, r)
    if STATE.enabled and recording(input):
        return record(PixelUnshuffleBackward0, data, (input,), args=(r,))
    return wrap(data)


def pixel_shuffle(input, upscale_factor):
    """``(*, C*r*r, H, W)`` -> ``(*, C, H*r, W*r)``: channels moved into space."""
    a, r = input._data, int(upscale_factor)
    if a.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {a.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    if a.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)="
                           f"{a.shape[-3]} is not divisible by {r * r}")
    return _shuffle(input, r)


def pixel_unshuffle(input, downscale_factor):
    """``(*, C, H*r, W*r)`` -> ``(*, C*r*r, H, W)``: the inverse of pixel_shuffle."""
    a, r = input._data, int(downscale_factor)
    if a.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {a.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    if a.shape[-2] % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by "
                           f"downscale_factor, but input.size(-2)={a.shape[-2]} is not "
                           f"divisible by {r}")
    if a.shape[-1] % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by "
                           f"downscale_factor, but input.size(-1)={a.shape[-1]} is not "
                           f"divisible by {r}")
    return _unshuffle(input, r)


register(pixel_shuffle, method=False)
register(pixel_unshuffle, method=False)
