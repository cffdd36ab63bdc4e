"""The two column strategies of ember/ops/conv_kernels.py (flat columns for stride 1, strided
windows for any stride) must agree on every geometry where both apply, for all three
convolution maps and the combined backward; and the flat path must match PyTorch's values and
gradients (hypothesis draws the geometry: 1-3 spatial dims, padding, dilation, groups, batch,
channels)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.ops import conv_kernels as K


@st.composite
def geometries(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    n = draw(st.integers(1, 3))
    cg = draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    size = 6 if nd < 3 else 4
    spatial = tuple(draw(st.integers(di * (ki - 1) + 1, size + 2)) for di, ki in zip(d, k))
    return n, groups * cg, cout, groups, spatial, k, p, d


def _maps(x, w, y, p, d, groups, spatial):
    s = (1,) * len(spatial)
    both = K.conv_bwd(x, w, y, s, p, d, groups, True, True, True)
    return (K.conv_fwd(x, w, s, p, d, groups),
            K.conv_t_fwd(y, w, s, p, d, groups, spatial),
            K.conv_w_fwd(x, y, s, p, d, groups, w.shape[2:]),
            y.sum((0,) + tuple(range(2, y.ndim)))) + both


@settings(max_examples=60, deadline=None)
@given(geometries())
def test_flat_and_window_columns_agree(geom):
    n, c, cout, groups, spatial, k, p, d = geom
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c) + spatial)
    w = rng.standard_normal((cout, c // groups) + k)
    y = K.conv_fwd(x, w, (1,) * len(k), p, d, groups)
    y = rng.standard_normal(y.shape)
    saved = K._FLAT_WASTE
    try:
        K._FLAT_WASTE = float("inf")  # always flat (stride 1)
        flat = _maps(x, w, y, p, d, groups, spatial)
        K._FLAT_WASTE = 0.0  # never flat
        win = _maps(x, w, y, p, d, groups, spatial)
    finally:
        K._FLAT_WASTE = saved
    for a, b in zip(flat, win):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_flat_path_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    # the digits demo's second conv: 4x4 images with padding 1 (the flat path's worst waste)
    xs = rng.standard_normal((5, 4, 4, 4)).astype(np.float32)
    ws = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)
    bs = rng.standard_normal(6).astype(np.float32)
    outs = {}
    for T in (ember, torch):
        x, w, b = (T.tensor(a, requires_grad=True) for a in (xs, ws, bs))
        y = T.nn.functional.conv2d(x, w, b, padding=1, groups=2)
        (y * y).sum().backward()
        outs[T] = [y.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()]
        assert type(y.grad_fn).__name__ == "ConvolutionBackward0"
    for a, b in zip(outs[ember], outs[torch]):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


def test_kept_columns_follow_the_saved_input():
    """Small convolutions keep their columns for the weight gradient (conv.py, KEEP_COLUMNS):
    they serve every retained backward, are dropped with the saved tensors, are not kept
    under saved-tensor hooks, and an in-place change of the input is still caught."""
    rng = np.random.default_rng(3)
    x = ember.tensor(rng.standard_normal((2, 3, 6, 6)))
    w = ember.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    y = ember.nn.functional.conv2d(x, w, padding=1)
    assert y.grad_fn.args[4] is not None
    (gw1,) = ember.autograd.grad(y.sum(), w, retain_graph=True)
    (gw2,) = ember.autograd.grad(y.sum(), w)
    np.testing.assert_array_equal(gw1.numpy(), gw2.numpy())
    assert y.grad_fn.args[4] is None  # released with the saved tensors
    with ember.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        z = ember.nn.functional.conv2d(x, w, padding=1)
    assert z.grad_fn.args[4] is None
    (gw3,) = ember.autograd.grad(z.sum(), w)
    np.testing.assert_allclose(gw3.numpy(), gw1.numpy(), rtol=1e-12)
    v = ember.nn.functional.conv2d(x, w, padding=1)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        v.sum().backward()
