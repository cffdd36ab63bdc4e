"""Array-level convolution kernels: the three convolution maps on NumPy arrays (no autograd).

Contract: ``conv_fwd(x, w, s, p, d, groups)`` is the convolution ``(N, C, *S) -> (N, Cout, *O)``;
``conv_t_fwd(y, w, s, p, d, groups, spatial)`` its adjoint in ``x`` (the transposed
convolution, output ``(N, C, *spatial)``); ``conv_w_fwd(x, y, s, p, d, groups, k)`` its adjoint
in ``w`` (output the weight's shape); ``conv_bwd`` is the last two at once. All take and
return arrays in PyTorch's layout, in the input dtype. ``windows`` and ``col2im`` are the
strided-window view and its adjoint, also used by unfold/fold (resize.py).

NOTE [bfloat16 col2im]: the maps with a GEMM alone are handed float32 (conv.py widens bfloat16
and float16, and rounds once); the transposed convolution takes them as PyTorch's kernel does:
its columns rounded once (``half_matmul``), then added up in the half type in kernel-offset
order, each addition rounded, which is PyTorch's order.

Two ways to make the columns for the GEMM; each map picks one per call (``_flat_ok``):

- NOTE [flat columns]: for stride 1, lay the zero-padded input out channel-major as one row
  per channel (``_Flat``: each image followed by its padding, which doubles as the next
  image's). The window element at kernel offset ``q`` for the output at flat position ``m`` is
  then the input at ``m + shift[q]``: the columns are ``prod(K)`` *contiguous* slices of each
  row (one strided view, one fast copy), and the GEMM computes an output at every grid
  position, of which the ones at ``o < O`` (per image) are kept. The copy runs along rows of
  length ~N*prod(S+p) instead of rows of the output width, several times faster for small
  images; the price is computing ``prod(S+p)/prod(O)`` times the outputs, so it is used only
  while that ratio is small (``_FLAT_WASTE``). The adjoints are the same picture
  read backwards: outputs are embedded in zeros of the padded grid, and col2im adds each
  kernel offset's contiguous slice back.
- Windows (any stride): ``sliding_window_view`` of the padded input copied into columns
  ``(groups, C/g*prod(K), N*L)``.

Device arrays (CuPy's) take the same paths: buffers are made with ``zeros_like`` of an input,
and the strided views with the array's own library's ``stride_tricks`` (NumPy's take host
arrays only); a NumPy array goes to NumPy's without a lookup.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import namespace
from ..tensor import zeros_as
from .linalg import half_matmul

__all__ = ["windows", "col2im", "conv_fwd", "conv_t_fwd", "conv_w_fwd", "conv_bwd"]

# NOTE: the flat layout computes prod(S+p)/prod(O) times the outputs it keeps; past this
# ratio the window copy is the cheaper evil (measured: at 2.25 flat was still ~1.4x faster
# for the forward).
_FLAT_WASTE = 3.0


def _tricks(a):
    """``stride_tricks`` of ``a``'s library (NumPy's without a lookup on the CPU path)."""
    return np.lib.stride_tricks if type(a) is np.ndarray else namespace(a).lib.stride_tricks


def _contiguous(a):
    """``a`` C-contiguous (NumPy's ``ascontiguousarray`` converts to a host array)."""
    return np.ascontiguousarray(a) if type(a) is np.ndarray else namespace(a).ascontiguousarray(a)


# ---- windows (any stride) -------------------------------------------------------------------

def windows(xp, k, s, d):
    """Strided view ``(N, C, *O, *K)`` of the windows of the (already padded) ``xp``."""
    nd = len(k)
    keff = tuple(di * (ki - 1) + 1 for ki, di in zip(k, d))
    v = _tricks(xp).sliding_window_view(xp, keff, axis=tuple(range(2, 2 + nd)))
    sl = (slice(None),) * 2 + tuple(slice(None, None, si) for si in s) + tuple(
        slice(None, None, di) for di in d)
    return v[sl]


def col2im(cols, padded, k, s, d):
    """Adjoint of ``windows``: ``cols`` ``(N, C, *K, *O)`` summed into zeros of ``padded``
    (the full ``(N, C, *P)`` shape). Loops over the kernel offsets, never over pixels."""
    nd = len(k)
    out_sp = cols.shape[2 + nd:]
    out = zeros_as(cols, shape=padded, order="C")
    for idx in np.ndindex(*k):
        sl = tuple(slice(i * di, i * di + si * (oi - 1) + 1, si)
                   for i, di, si, oi in zip(idx, d, s, out_sp))
        out[(Ellipsis,) + sl] += cols[(slice(None), slice(None)) + idx]
    return out


def _pad_array(x, p):
    if not any(p):
        return x
    return np.pad(x, [(0, 0), (0, 0)] + [(pi, pi) for pi in p])


def _columns(x, k, s, p, d, groups):
    """im2col of ``x`` as ``(groups, C/g*prod(K), N*L)`` and the output spatial shape."""
    nd = len(k)
    v = windows(_pad_array(x, p), k, s, d)
    n, c = v.shape[:2]
    o = v.shape[2:2 + nd]
    v = v.reshape((n, groups, c // groups) + v.shape[2:])
    # NOTE: (C, K) first and (N, *O) last: the copy out of the strided view then runs along
    # the output width (unit stride, long), several times faster than with K innermost.
    perm = (1, 2) + tuple(range(3 + nd, 3 + 2 * nd)) + (0,) + tuple(range(3, 3 + nd))
    cols = _contiguous(v.transpose(perm)).reshape(
        groups, c // groups * math.prod(k), n * math.prod(o))
    return cols, o


def _out_rows(y, groups):
    """``y`` ``(N, Cout, *O)`` as GEMM rows ``(groups, Cout/g, N*L)``."""
    n, cout = y.shape[:2]
    size = math.prod(y.shape[2:])
    rows = y.reshape(n, groups, cout // groups, size).transpose(1, 2, 0, 3)
    return rows.reshape(groups, cout // groups, n * size)


# ---- flat columns (stride 1), NOTE [flat columns] --------------------------------------------

class _Flat:
    """The flat geometry of one stride-1 convolution, NOTE [flat columns].

    Each image is a block of ``prod(P)`` elements, ``P = S + p`` (the image followed by ``p``
    zeros along each dimension): the zeros after one row (or image) serve as the padding
    before the next, so only ``p``, not ``2p``, zeros per dimension are stored and computed
    over. The first image starts ``base`` elements in (the leading padding). An output at
    ``o`` (per image) sits at ``n * prod(P) + o . pst``; its window element at kernel offset
    ``q`` is the input at that position plus ``shift[q] = q . steps``. Valid outputs
    (``o < O``) must fit in a block: ``O <= P``, i.e. ``p <= d (k - 1)`` (``fits``).
    """

    __slots__ = ("n", "P", "O", "k", "pst", "steps", "base", "block", "m", "mv")

    def __init__(self, n, spatial, k, p, d):
        self.n = n
        self.P = P = tuple(si + pi for si, pi in zip(spatial, p))
        self.O = tuple(si + 2 * pi - di * (ki - 1) for si, pi, di, ki in zip(spatial, p, d, k))
        self.k = tuple(k)
        self.pst = tuple(math.prod(P[i + 1:]) for i in range(len(P)))
        self.steps = tuple(di * st for di, st in zip(d, self.pst))
        self.base = sum(pi * st for pi, st in zip(p, self.pst))
        self.block = math.prod(P)
        # outputs computed: up to the last valid one; input read: up to its last window element
        self.mv = (n - 1) * self.block + sum((oi - 1) * st for oi, st in zip(self.O, self.pst)) + 1
        reach = self.mv + sum((ki - 1) * st for ki, st in zip(k, self.steps))
        self.m = max(self.base + n * self.block, reach)

    @staticmethod
    def fits(k, p, d):
        return all(pi <= di * (ki - 1) for pi, di, ki in zip(p, d, k))


_PLANS: dict = {}


def _flat(n, s, spatial, k, p, d):
    """The ``_Flat`` geometry for this convolution, or None where the flat layout does not
    apply (``_flat_ok``); remembered per geometry (a training loop repeats a few)."""
    key = (n, tuple(s), tuple(spatial), tuple(k), tuple(p), tuple(d), _FLAT_WASTE)
    plan = _PLANS.get(key, False)
    if plan is False:
        plan = _Flat(n, spatial, k, p, d) if _flat_ok(n, s, spatial, k, p, d) else None
        if len(_PLANS) >= 64:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def _flat_ok(n, s, spatial, k, p, d):
    """Whether the flat layout applies (stride 1, a non-empty batch, outputs that fit in a
    block) and wastes little (``_FLAT_WASTE``)."""
    if n == 0 or any(si != 1 for si in s):
        return False
    out = [si + 2 * pi - di * (ki - 1) for si, pi, di, ki in zip(spatial, p, d, k)]
    if min(out, default=1) <= 0 or not _Flat.fits(k, p, d):
        return False
    return math.prod(si + pi for si, pi in zip(spatial, p)) <= _FLAT_WASTE * math.prod(out)


def _blocks(rows, f):
    """The ``n`` image blocks of flat rows, as a view ``(C, N, *P)`` starting at ``base``."""
    return rows[:, f.base:f.base + f.n * f.block].reshape((rows.shape[0], f.n) + f.P)


def _flat_input(x, p, f):
    """``x`` ``(N, C, *S)`` laid out on the flat grid, channel-major: rows ``(C, m)``."""
    n, c = x.shape[:2]
    if not any(p):
        return _contiguous(x.swapaxes(0, 1)).reshape(c, f.m)
    xf = zeros_as(x, shape=(c, f.m), order="C")
    inner = tuple(slice(0, si) for si in x.shape[2:])
    _blocks(xf, f)[(slice(None), slice(None)) + inner] = x.swapaxes(0, 1)
    return xf


def _flat_columns(xf, f, groups):
    """The columns ``(groups, C/g*prod(K), Mv)``: one contiguous slice per kernel offset."""
    c = xf.shape[0]
    isz = xf.itemsize
    v = _tricks(xf).as_strided(xf, (c,) + f.k + (f.mv,),
                               (xf.strides[0],) + tuple(st * isz for st in f.steps) + (isz,))
    return v.reshape(groups, c // groups * math.prod(f.k), f.mv)  # the one copy


def _flat_gather(rows, f, offset, size):
    """From rows ``(C, >= offset + Mv)`` on the flat grid: the block of ``size`` at
    ``offset`` elements into every image, as a new ``(N, C, *size)`` array."""
    isz = rows.itemsize
    v = _tricks(rows).as_strided(
        rows[:, offset:], (f.n, rows.shape[0]) + tuple(size),
        (f.block * isz, rows.strides[0]) + tuple(st * isz for st in f.pst))
    return v.copy()


def _flat_embed(y, f):
    """``y`` ``(N, Cy, *O)`` at the output positions of a zero flat grid, as rows
    ``(Cy, Mv)``."""
    n, cy = y.shape[:2]
    full = zeros_as(y, shape=(cy, f.n * f.block), order="C")
    full.reshape((cy, n) + f.P)[(slice(None), slice(None)) + tuple(
        slice(0, o) for o in y.shape[2:])] = y.swapaxes(0, 1)
    return full[:, :f.mv]


# ---- the three maps --------------------------------------------------------------------------

# NOTE: flat columns up to this size are handed back by ``conv_fwd(..., keep=True)`` for the
# backward's weight gradient (conv.py keeps them on the node): for small convolutions,
# rebuilding them was a tenth of the backward; larger ones are rebuilt, as their memory
# (prod(K) times the input) matters more than the copy.
KEEP_COLUMNS = 4 * 1024 * 1024


def conv_fwd(x, w, s, p, d, groups, keep=False):
    """The convolution; with ``keep``, ``(out, columns or None)``."""
    k = w.shape[2:]
    cout = w.shape[0]
    f = _flat(x.shape[0], s, x.shape[2:], k, p, d)
    if f is not None:
        cols = _flat_columns(_flat_input(x, p, f), f, groups)
        rows = np.matmul(w.reshape(groups, cout // groups, -1), cols).reshape(cout, f.mv)
        out = _flat_gather(rows, f, 0, f.O)
        if keep:
            return out, (cols if cols.nbytes <= KEEP_COLUMNS else None)
        return out
    cols, o = _columns(x, k, s, p, d, groups)
    out = np.matmul(w.reshape(groups, cout // groups, -1), cols)  # (g, Cout/g, N*L)
    out = out.reshape((cout, x.shape[0]) + o)
    out = _contiguous(np.moveaxis(out, 1, 0))
    return (out, None) if keep else out


def _flat_t(g, w, f, groups, spatial):
    """The transposed convolution of the embedded gradient rows ``g`` (``_flat_embed``)."""
    k = w.shape[2:]
    cout, cg = w.shape[0], w.shape[1]
    wm = w.reshape(groups, cout // groups, -1).transpose(0, 2, 1)  # (g, Cg*K, Cout/g)
    cols = half_matmul(wm, g.reshape(groups, cout // groups, f.mv))
    cols = cols.reshape(groups * cg, math.prod(k), f.mv)
    xf = zeros_as(cols, shape=(groups * cg, f.m), order="C")
    for q, idx in enumerate(np.ndindex(*k)):
        shift = sum(i * st for i, st in zip(idx, f.steps))
        xf[:, shift:shift + f.mv] += cols[:, q]
    return _flat_gather(xf, f, f.base, spatial)


def _flat_w(x, g, f, p, groups, k, cols=None):
    """The weight gradient from the embedded gradient rows ``g`` (``_flat_embed``); ``cols``:
    the forward's columns, when it kept them."""
    cout = g.shape[0]
    if cols is None:
        cols = _flat_columns(_flat_input(x, p, f), f, groups)
    # NOTE: columns times gradient, then transposed: ~10% faster than the other orientation
    # for these long-K products (the result is small; its copy costs nothing)
    dw = np.matmul(cols, g.reshape(groups, cout // groups, f.mv).transpose(0, 2, 1))
    return dw.transpose(0, 2, 1).reshape((cout, x.shape[1] // groups) + tuple(k))


def conv_t_fwd(y, w, s, p, d, groups, spatial):
    nd = w.ndim - 2
    k = w.shape[2:]
    n, cout = y.shape[:2]
    cg = w.shape[1]
    f = _flat(n, s, spatial, k, p, d)
    if f is not None and tuple(y.shape[2:]) == f.O:
        return _flat_t(_flat_embed(y, f), w, f, groups, spatial)
    wm = w.reshape(groups, cout // groups, -1).transpose(0, 2, 1)  # (g, Cg*K, Cout/g)
    o = y.shape[2:]
    cols = half_matmul(wm, _out_rows(y, groups))  # (g, Cg*K, N*L)
    cols = cols.reshape((groups * cg,) + k + (n,) + o)
    cols = np.moveaxis(cols, 1 + nd, 0)  # a view (N, C, *K, *O)
    padded = (n, groups * cg) + tuple(si + 2 * pi for si, pi in zip(spatial, p))
    out = col2im(cols, padded, k, s, d)
    crop = (Ellipsis,) + tuple(slice(pi, pi + si) for pi, si in zip(p, spatial))
    return _contiguous(out[crop])


def conv_w_fwd(x, y, s, p, d, groups, k):
    cout = y.shape[1]
    f = _flat(x.shape[0], s, x.shape[2:], k, p, d)
    if f is not None:
        return _flat_w(x, _flat_embed(y, f), f, p, groups, k)
    cols, o = _columns(x, k, s, p, d, groups)
    if tuple(y.shape[2:]) != tuple(o):
        # a transposed convolution's output padding (NOTE [output padding] in conv.py): ``y``
        # stops short of the outputs ``x`` has, which take zeros
        y = np.pad(y, [(0, 0), (0, 0)] + [(0, oi - yi) for oi, yi in zip(o, y.shape[2:])])
    dw = np.matmul(_out_rows(y, groups), cols.transpose(0, 2, 1))  # (g, Cout/g, Cg*K)
    return dw.reshape((cout, x.shape[1] // groups) + tuple(k))


def conv_bwd(x, w, g, s, p, d, groups, need_x, need_w, need_b, cols=None):
    """The gradients of ``conv_fwd`` (plus a bias) at once, ``(dx, dw, db)`` (None where not
    needed): the same as ``conv_t_fwd(g, w, ...)``, ``conv_w_fwd(x, g, ...)`` and ``g``
    summed over all but the channel dimension, sharing the embedded gradient on the flat
    path; ``cols`` are the forward's columns of ``x`` when it kept them."""
    k = w.shape[2:]
    spatial = x.shape[2:]
    # NOTE: the batch dimension first, then each channel's contiguous rest: 2-5x faster than
    # one reduction over (0, 2, 3...), whose inner loop is a row of the image
    db = g.sum(0).reshape(g.shape[1], -1).sum(1) if need_b else None
    f = _flat(x.shape[0], s, spatial, k, p, d)
    if f is not None:
        rows = _flat_embed(g, f)
        return (_flat_t(rows, w, f, groups, spatial) if need_x else None,
                _flat_w(x, rows, f, p, groups, k, cols) if need_w else None, db)
    return (conv_t_fwd(g, w, s, p, d, groups, spatial) if need_x else None,
            conv_w_fwd(x, g, s, p, d, groups, k) if need_w else None, db)
