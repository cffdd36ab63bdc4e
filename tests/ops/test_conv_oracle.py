"""Oracle tests for the conv family (convolutions, pooling, padding, resampling,
unfold/fold): argument errors, integer inputs, returned indices, tie rules, and double
backward through the convolution primitives, each run through ember and PyTorch (``same``)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember

from ..oracle import same


def _r(T, *shape, seed=0, dtype="float64", requires_grad=False):
    data = np.random.default_rng(seed).standard_normal(shape)
    return T.tensor(data, dtype=getattr(T, dtype), requires_grad=requires_grad)


# ---- convolution errors -------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda T, F: F.conv2d(_r(T, 3, 6), _r(T, 4, 3, 3, 3)),
    lambda T, F: F.conv2d(_r(T, 2, 3, 4, 6, 6), _r(T, 4, 3, 3, 3)),
    lambda T, F: F.conv1d(_r(T, 2, 3, 4, 6), _r(T, 4, 3, 3)),
    lambda T, F: F.conv2d(_r(T, 2, 3, 6, 6), _r(T, 4, 2, 3, 3)),
    lambda T, F: F.conv2d(_r(T, 2, 3, 6, 6), _r(T, 4, 1, 3, 3), groups=2),
    lambda T, F: F.conv2d(_r(T, 2, 4, 6, 6), _r(T, 3, 2, 3, 3), groups=2),
    lambda T, F: F.conv2d(_r(T, 2, 3, 6, 6), _r(T, 4, 3, 7, 7)),
    lambda T, F: F.conv2d(_r(T, 2, 3, 6, 6), _r(T, 4, 3, 3, 3), bias=_r(T, 3)),
    lambda T, F: F.conv2d(_r(T, 2, 3, 6, 6), _r(T, 4, 3, 3, 3, dtype="float32")),
    lambda T, F: F.conv2d(_r(T, 2, 3, 6, 6), _r(T, 4, 3, 3, 3), stride=0),
    lambda T, F: F.conv2d(_r(T, 2, 3, 6, 6), _r(T, 4, 3, 3, 3), padding=-1),
    lambda T, F: F.conv2d(_r(T, 2, 3, 6, 6), _r(T, 4, 3, 3, 3), padding="same", stride=2),
    lambda T, F: F.conv2d(_r(T, 2, 3, 6, 6), _r(T, 4, 3, 3, 3), padding="foo"),
    lambda T, F: F.conv2d(_r(T, 2, 3, 6, 6), _r(T, 4, 3, 3, 3), stride=(1, 1, 1)),
    lambda T, F: F.conv_transpose2d(_r(T, 2, 3, 6, 6), _r(T, 4, 3, 3, 3)),
    lambda T, F: F.conv_transpose2d(_r(T, 2, 3, 6, 6), _r(T, 3, 3, 3, 3), output_padding=1),
    lambda T, F: F.conv_transpose1d(_r(T, 2, 3, 6), _r(T, 3, 3, 3), output_padding=1),
    lambda T, F: F.conv_transpose2d(_r(T, 1, 2, 4, 4), _r(T, 2, 2, 2, 2), padding="same"),
    lambda T, F: F.conv2d(_r(T, 1, 2, 6, 6), _r(T, 2, 2, 3, 3), padding="same", dilation=2),
])
def test_conv_errors(call):
    same(lambda T: call(T, T.nn.functional))


def test_conv_same_even_kernel_warns():
    # NOTE: PyTorch warns once per process, so only ember's warning is checked here.
    def fn(T):
        return T.nn.functional.conv1d(_r(T, 1, 2, 5), _r(T, 2, 2, 4), padding="same")

    with pytest.warns(UserWarning, match="even kernel lengths"):
        fn(ember)
    same(fn, warnings_too=False)
    same(lambda T: T.nn.functional.conv3d(_r(T, 1, 2, 4, 4, 4), _r(T, 2, 2, 2, 3, 2),
                                          padding="same"), warnings_too=False)


def test_conv_integer():
    def fn(T):
        x = T.arange(2 * 3 * 5 * 5).reshape(2, 3, 5, 5)
        w = T.arange(4 * 3 * 2 * 2).reshape(4, 3, 2, 2) - 20
        return T.nn.functional.conv2d(x, w, stride=2)
    same(fn)


def test_conv_top_level_names():
    same(lambda T: T.conv2d(_r(T, 1, 2, 4, 4), _r(T, 3, 2, 2, 2), padding=1))
    same(lambda T: T.conv_transpose1d(_r(T, 1, 2, 4), _r(T, 2, 3, 2), stride=2))


def test_conv_double_backward_graph():
    def fn(T):
        x = _r(T, 2, 2, 5, 5, requires_grad=True)
        w = _r(T, 3, 2, 3, 3, seed=1, requires_grad=True)
        y = T.nn.functional.conv2d(x, w, stride=2, padding=1)
        gx, gw = T.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        return T.autograd.grad((gx * gx).sum() + (gw ** 3).sum(), (x, w))
    same(fn, rtol=1e-7, atol=1e-9)


# ---- pad / interpolate / unfold / fold errors --------------------------------------------

@pytest.mark.parametrize("call", [
    lambda T, F: F.pad(_r(T, 2, 3, 6, 6), (1, 1, 1, 1, 1, 1, 1, 1, 1, 1)),
    lambda T, F: F.pad(_r(T, 2, 3, 6, 6), (1,)),
    lambda T, F: F.pad(_r(T, 2, 3, 6, 6), (6, 6), mode="reflect"),
    lambda T, F: F.pad(_r(T, 3, 6, 6), (6, 6), mode="reflect"),
    lambda T, F: F.pad(_r(T, 2, 3, 6, 6), (1, 1), mode="foo"),
    lambda T, F: F.pad(_r(T, 2, 3, 6, 6), (1, 1), mode="reflect", value=1.0),
    lambda T, F: F.pad(_r(T, 3), (1, 1), mode="reflect"),
    lambda T, F: F.pad(_r(T, 2, 3, 6, 6), (-7, 1)),
    lambda T, F: F.interpolate(_r(T, 2, 3, 6, 6), size=(3, 3), scale_factor=2),
    lambda T, F: F.interpolate(_r(T, 2, 3, 6, 6), mode="bilinear"),
    lambda T, F: F.interpolate(_r(T, 2, 3, 4), size=5, mode="bilinear"),
    lambda T, F: F.interpolate(_r(T, 2, 3, 6, 6), size=(3, 3), mode="nearest",
                               align_corners=True),
    lambda T, F: F.interpolate(_r(T, 2, 3, 6, 6), size=(3, 3, 3)),
    lambda T, F: F.unfold(_r(T, 2, 3, 4, 4), 5),
    lambda T, F: F.fold(_r(T, 2, 12, 5), (6, 6), 2),
])
def test_resize_errors(call):
    same(lambda T: call(T, T.nn.functional))


def test_pad_values():
    same(lambda T: T.nn.functional.pad(T.arange(6.0).reshape(1, 2, 3), (2, 2), mode="reflect"))
    same(lambda T: T.nn.functional.pad(T.arange(6.0).reshape(1, 2, 3), (-1, -1)))
    same(lambda T: T.nn.functional.pad(T.arange(6).reshape(2, 3), (1, 0), value=7))


def test_interpolate_nearest_inf():
    x = [[[1.0, float("inf"), -2.0]]]
    same(lambda T: T.nn.functional.interpolate(T.tensor(x), size=5))


@pytest.mark.parametrize("dtypes", [("float64", "float32"), ("float32", "float64"),
                                    ("int64", "float32")])
def test_conv_dtype_mismatch(dtypes):
    same(lambda T: T.nn.functional.conv1d(_r(T, 2, 3, 6).to(getattr(T, dtypes[0])),
                                          _r(T, 4, 3, 3).to(getattr(T, dtypes[1]))))


def test_conv_bias_dtype_mismatch():
    same(lambda T: T.nn.functional.conv1d(_r(T, 1, 2, 5, dtype="float32"),
                                          _r(T, 2, 2, 3, dtype="float32"), _r(T, 2)))


# ---- pooling ------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda T, F: F.max_pool2d(_r(T, 2, 3, 6, 6), 7),
    lambda T, F: F.max_pool2d(_r(T, 2, 3, 6, 6), 3, padding=2),
    lambda T, F: F.max_pool2d(_r(T, 6), 2),
    lambda T, F: F.max_pool2d(_r(T, 2, 3, 6, 6), 2, stride=0),
    lambda T, F: F.avg_pool2d(_r(T, 2, 3, 6, 6), 3, padding=2),
    lambda T, F: F.avg_pool2d(_r(T, 2, 3, 6, 6), 7),
    lambda T, F: F.avg_pool2d(_r(T, 2, 3, 6, 6), 2, divisor_override=0),
    lambda T, F: F.adaptive_avg_pool2d(_r(T, 6), 2),
])
def test_pool_errors(call):
    same(lambda T: call(T, T.nn.functional))


def test_max_pool_ties_first_index():
    def fn(T):
        x = T.tensor([[[[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [2.0, 0.0, 2.0]]]], requires_grad=True)
        out, idx = T.nn.functional.max_pool2d(x, 2, 1, return_indices=True)
        (g,) = T.autograd.grad(out.sum(), x)
        return out, idx, g
    same(fn)


def test_max_pool_indices_and_double_backward():
    def fn(T):
        x = T.tensor(np.random.default_rng(3).permutation(50).reshape(2, 5, 5) * 0.1,
                     requires_grad=True)
        out, idx = T.nn.functional.max_pool2d(x, 3, 2, padding=1, ceil_mode=True,
                                              return_indices=True)
        (g,) = T.autograd.grad((out * out).sum(), x, create_graph=True)
        return out, idx, T.autograd.grad((g * g).sum(), x)
    same(fn)


def test_adaptive_max_pool_indices():
    def fn(T):
        x = T.tensor(np.random.default_rng(4).permutation(70).reshape(2, 5, 7) * 1.0)
        return T.nn.functional.adaptive_max_pool2d(x, (2, 3), return_indices=True)
    same(fn)


def test_max_pool_nan():
    nan = float("nan")
    same(lambda T: T.nn.functional.max_pool2d(
        T.tensor([[[[1.0, nan, 0.0], [nan, 3.0, 2.0], [2.0, 0.0, nan]]]]), 2, 1,
        return_indices=True))


def test_top_level_pooling_and_pad():
    x = np.random.default_rng(5).permutation(2 * 3 * 8).reshape(2, 3, 8) * 0.5
    same(lambda T: T.max_pool1d(T.tensor(x, requires_grad=True), 3, 2))
    same(lambda T: T.max_pool1d_with_indices(T.tensor(x, requires_grad=True), 2))
    same(lambda T: T.adaptive_max_pool1d(T.tensor(x, requires_grad=True), 3))
    same(lambda T: T.avg_pool1d(T.tensor(x, requires_grad=True), 3, 2, 1))
    same(lambda T: T.adaptive_avg_pool1d(T.tensor(x, requires_grad=True), 3))
    same(lambda T: T.max_pool2d(T.tensor(x, requires_grad=True), 2))
    same(lambda T: T.constant_pad_nd(T.tensor(x, requires_grad=True), (1, -2), 3.0))


@pytest.mark.parametrize("call", [
    lambda T, F, x: F.max_pool2d(x, 2),
    lambda T, F, x: F.avg_pool2d(x, 2),
    lambda T, F, x: F.avg_pool2d(x - 40, 3, 2, padding=1, count_include_pad=False),
    lambda T, F, x: F.adaptive_avg_pool2d(x, 2),
    lambda T, F, x: F.pad(x, (1, 1)),
])
def test_pool_integer(call):
    same(lambda T: call(T, T.nn.functional, T.arange(2 * 3 * 6 * 6).reshape(2, 3, 6, 6)))


@pytest.mark.parametrize("op,x_shape,kwargs", [
    ("conv2d", (0, 2, 5, 5), dict(padding=1)),
    ("conv_transpose2d", (0, 3, 5, 5), dict(stride=2)),
])
def test_conv_empty_batch(op, x_shape, kwargs):
    def fn(T):
        x = _r(T, *x_shape, requires_grad=True)
        w = _r(T, 3, 2, 3, 3, requires_grad=True)
        y = getattr(T.nn.functional, op)(x, w, **kwargs)
        return (y,) + T.autograd.grad((y * y).sum(), (x, w))
    same(fn)


@pytest.mark.parametrize("call", [
    lambda T, F, x: F.max_unpool2d(x[..., :2, :2], T.full((2, 3, 2, 2), 40), 2),
    lambda T, F, x: F.max_unpool2d(x[..., :2, :2], T.full((2, 3, 2, 1), 0), 2),
    lambda T, F, x: F.max_unpool2d(x[..., :2, :2], T.full((2, 3, 2, 2), 0), 2,
                                   output_size=(9, 9)),
    lambda T, F, x: F.max_unpool2d(x[..., :2, :2], T.full((2, 3, 2, 2), 0.0), 2),
])
def test_unpool_errors(call):
    same(lambda T: call(T, T.nn.functional, _r(T, 2, 3, 4, 4)))


def test_unpool_roundtrip():
    def fn(T):
        x = T.tensor(np.random.default_rng(6).permutation(72).reshape(2, 4, 9) * 0.5,
                     requires_grad=True)
        out, idx = T.nn.functional.max_pool1d(x, 3, return_indices=True)
        back = T.nn.functional.max_unpool1d(out, idx, 3, output_size=(9,))
        return back, T.autograd.grad((back * back).sum(), x)
    same(fn)


@pytest.mark.parametrize("name,kwargs", [
    ("upsample", dict(scale_factor=2)),
    ("upsample", dict(size=(4, 5), mode="bilinear")),
    ("upsample_nearest", dict(size=5)),
    ("upsample_bilinear", dict(scale_factor=2)),
])
def test_upsample_deprecated(name, kwargs):
    same(lambda T: getattr(T.nn.functional, name)(_r(T, 1, 2, 3, 3, requires_grad=True),
                                                  **kwargs))


def _F(T):
    return T.nn.functional


@pytest.mark.parametrize("call", [
    lambda T: _F(T).pad(_r(T, 2, 3, 5, requires_grad=True), (-1, 2), mode="reflect"),
    lambda T: _F(T).pad(_r(T, 2, 3, 5, requires_grad=True), (-1, 2), mode="replicate"),
    lambda T: _F(T).pad(_r(T, 2, 3, 5, requires_grad=True), (-1, 2), mode="circular"),
    lambda T: _F(T).pad(T.tensor([[True, False]]), (1, 1)),
    lambda T: _F(T).pad(T.tensor([[1, 2]]), (1, 1), value=2.7),
    lambda T: _F(T).pad(_r(T, 3, 4, 5), (1, 2, 2, 1), mode="replicate"),
    lambda T: _F(T).interpolate(_r(T, 1, 2, 4), size=(6,), mode="linear", align_corners=True),
    lambda T: _F(T).interpolate(_r(T, 1, 2, 7, 7), scale_factor=0.4),
    lambda T: _F(T).interpolate(_r(T, 1, 2, 4), scale_factor=2.5, mode="linear"),
    lambda T: _F(T).interpolate(_r(T, 1, 1, 5, 5), scale_factor=(1.3, 0.7), mode="bilinear",
                                recompute_scale_factor=True),
    lambda T: _F(T).interpolate(_r(T, 1, 2, 4, 4, 4), scale_factor=2, mode="bilinear"),
    lambda T: _F(T).interpolate(_r(T, 1, 2, 4), size=0),
    lambda T: _F(T).max_pool1d(_r(T, 3, 6), 2),
    lambda T: _F(T).max_pool2d(_r(T, 1, 3, 6, 6), 0),
    lambda T: _F(T).avg_pool1d(_r(T, 1, 3, 6), 2, padding=2),
    lambda T: _F(T).avg_pool2d(_r(T, 1, 1, 4, 4), 2, stride=()),
    lambda T: _F(T).conv1d(_r(T, 1, 3, 6), _r(T, 2, 3)),
    lambda T: _F(T).conv2d(_r(T, 1, 3, 6, 6), _r(T, 2, 3, 3, 3), _r(T, 2, 1)),
    lambda T: _F(T).conv2d(_r(T, 1, 3, 6, 6), _r(T, 3, 3, 3, 3), groups=0),
    lambda T: _F(T).conv2d(_r(T, 1, 3, 6, 6), _r(T, 3, 3, 3, 3), dilation=0),
    lambda T: _F(T).conv1d(_r(T, 2, 2, 7), _r(T, 3, 2, 3), padding="same", dilation=2),
    lambda T: _F(T).conv_transpose2d(_r(T, 2, 3, 3), _r(T, 2, 3, 2, 2), stride=2),
    lambda T: _F(T).conv_transpose2d(_r(T, 1, 4, 3, 3), _r(T, 4, 1, 3, 3), groups=2, stride=2,
                                     output_padding=1),
    lambda T: _F(T).unfold(T.ones(2, 3, 4, 4), 2, stride=2),
    lambda T: _F(T).fold(_r(T, 2, 7, 5), (6, 6), 2),
    lambda T: _F(T).fold(_r(T, 1, 8, 12), (5, 5), 2, dilation=2, stride=1),
    lambda T: _F(T).adaptive_avg_pool2d(_r(T, 1, 3, 4), (5, 6)),
])
def test_edge_cases(call):
    same(call)


@pytest.mark.parametrize("call", [
    lambda T: T.pixel_shuffle(_r(T, 2, 8, 3, 3), 3),
    lambda T: T.pixel_shuffle(_r(T, 4, 3), 2),
    lambda T: T.pixel_shuffle(_r(T, 2, 8, 3, 3), 0),
    lambda T: T.pixel_unshuffle(_r(T, 2, 8, 3, 4), 2),
    lambda T: T.pixel_unshuffle(_r(T, 2, 8, 4, 3), 2),
    lambda T: T.pixel_unshuffle(_r(T, 2, 8, 4, 4, requires_grad=True), 2),
])
def test_pixel_shuffle_oracle(call):
    same(call)


@pytest.mark.parametrize("call", [
    lambda T: _F(T).affine_grid(_r(T, 2, 3, 3), (2, 3, 4, 5), align_corners=False),
    lambda T: _F(T).affine_grid(_r(T, 2, 2, 3), (2, 3, 4), align_corners=False),
    lambda T: _F(T).affine_grid(_r(T, 2, 2, 3), (2, 3, 0, 5), align_corners=False),
    lambda T: _F(T).affine_grid(_r(T, 3, 2, 3), (2, 3, 4, 5), align_corners=False),
    lambda T: _F(T).affine_grid(T.ones(2, 2, 3, dtype=T.int64), (2, 3, 4, 5)),
    lambda T: _F(T).affine_grid(_r(T, 1, 2, 3), (1, 1, 1, 3), align_corners=False),
    lambda T: _F(T).affine_grid(_r(T, 1, 2, 3, requires_grad=True), (1, 1, 2, 3)),
])
def test_affine_grid_oracle(call):
    same(call)


@pytest.mark.parametrize("call", [
    lambda T: _F(T).grid_sample(_r(T, 2, 3, 4, 5), _r(T, 2, 3, 6, 1), align_corners=False),
    lambda T: _F(T).grid_sample(_r(T, 2, 3, 4, 5), _r(T, 1, 3, 6, 2), align_corners=False),
    lambda T: _F(T).grid_sample(_r(T, 2, 3, 4, 5), _r(T, 2, 3, 6, 2), mode="foo"),
    lambda T: _F(T).grid_sample(_r(T, 2, 3, 4, 5), _r(T, 2, 3, 6, 2), padding_mode="foo"),
    lambda T: _F(T).grid_sample(_r(T, 3, 4, 5), _r(T, 2, 3, 6, 2), align_corners=False),
    lambda T: _F(T).grid_sample(_r(T, 1, 2, 4, 5, requires_grad=True),
                                _r(T, 1, 3, 6, 2, seed=1)),
    lambda T: _F(T).grid_sample(_r(T, 1, 1, 1, 1), _r(T, 1, 2, 2, 2, seed=1),
                                padding_mode="reflection", align_corners=True),
    lambda T: _F(T).grid_sample(_r(T, 1, 1, 2, 2, 2), _r(T, 1, 2, 2, 2, 3, seed=1),
                                mode="bicubic", align_corners=True),
    lambda T: _F(T).grid_sample(_r(T, 1, 2, 3, 3), _r(T, 1, 2, 2, 2, seed=1),
                                mode="bicubic", padding_mode="border", align_corners=False),
])
def test_grid_sample_oracle(call):
    same(call)


def test_affine_grid_then_grid_sample_double_backward():
    def fn(T):
        x = _r(T, 1, 2, 4, 5, requires_grad=True)
        theta = T.tensor([[[0.9, 0.2, 0.1], [-0.1, 1.1, -0.2]]], dtype=T.float64,
                         requires_grad=True)
        grid = T.nn.functional.affine_grid(theta, (1, 2, 3, 3), align_corners=False)
        out = T.nn.functional.grid_sample(x, grid, align_corners=False)
        gx, gt = T.autograd.grad((out * out).sum(), (x, theta), create_graph=True)
        return (out,) + T.autograd.grad((gx * gx).sum() + (gt * gt).sum(), (x, theta))
    same(fn, rtol=1e-6, atol=1e-8)


def test_max_unpool3d_roundtrip_and_error():
    def fn(T):
        x = T.tensor(np.random.default_rng(7).permutation(128).reshape(1, 2, 4, 4, 4) * 0.5,
                     requires_grad=True)
        out, idx = T.nn.functional.max_pool3d(x, 2, return_indices=True)
        back = T.nn.functional.max_unpool3d(out, idx, 2)
        return back, T.autograd.grad((back * back).sum(), x)
    same(fn)
    same(lambda T: T.nn.functional.max_unpool3d(_r(T, 1, 2, 2, 2, 2),
                                                T.full((1, 2, 2, 2, 2), 4300), 2))


@pytest.mark.parametrize("call", [
    lambda F, x: F.interpolate(x, size=3),
    lambda F, x: F.interpolate(x[0], size=3),
    lambda F, x: F.interpolate(x, size=3, mode="bilinear"),
    lambda F, x: F.interpolate(x[0], size=3, mode="linear"),
    lambda F, x: F.interpolate(x, size=3, mode="bicubic"),
    lambda F, x: F.pad(x, (1, 1, 1, 1), mode="reflect"),
    lambda F, x: F.pad(x, (1, 1, 1, 1), mode="replicate"),
    lambda F, x: F.pad(x, (1, 1, 1, 1), mode="circular"),
    lambda F, x: F.pixel_shuffle(x.reshape(2, 12, 2, 2), 2),
    lambda F, x: F.max_pool2d(x, 2, return_indices=True),
    lambda F, x: F.adaptive_max_pool2d(x, 2),
    lambda F, x: F.unfold(x, 2),
    lambda F, x: F.fold(x.reshape(2, 12, 4), (3, 3), 2),
])
def test_integer_input(call):
    same(lambda T: call(T.nn.functional, T.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4)))


@pytest.mark.parametrize("kwargs", [
    dict(size=(3, 4), mode="bilinear"), dict(size=(10, 12), mode="bilinear"),
    dict(size=(4, 5), mode="bicubic", align_corners=True), dict(size=(3, 14), mode="bicubic"),
    dict(size=(3, 4), mode="nearest"),
])
def test_interpolate_antialias(kwargs):
    same(lambda T: T.nn.functional.interpolate(_r(T, 1, 2, 7, 9, requires_grad=True),
                                               antialias=True, **kwargs))


def _conv_t_grid():
    for nd in (1, 2, 3):
        for s, p, op, d, g, L in itertools.product((1, 2), (0, 1), (0, 1, 2), (1, 2, 3), (1, 2),
                                                   (1, 3)):
            if not (op < s or op < d):
                continue  # PyTorch requires output_padding < stride or < dilation
            if nd == 3 and (L == 3 or g == 2 or d == 3):
                continue
            yield nd, s, p, op, d, g, L


@pytest.mark.parametrize("nd,s,p,op,d,g,L", list(_conv_t_grid()))
def test_conv_transpose_grid(nd, s, p, op, d, g, L):
    """Values and the gradients of input, weight and bias against PyTorch, including
    output_padding >= stride (below the dilation), whose input gradient was doubled or the
    wrong shape (NOTE [output padding] in ember/ops/conv.py)."""
    rng = np.random.default_rng(nd * 1000 + s * 100 + p * 10 + op)
    xs = rng.standard_normal((2, 2 * g) + (L,) * nd)
    ws = rng.standard_normal((2 * g, 2) + (2,) * nd)
    bs = rng.standard_normal(2 * g)

    def fn(T):
        x, w, b = (T.tensor(a, requires_grad=True) for a in (xs, ws, bs))
        f = getattr(T.nn.functional, f"conv_transpose{nd}d")
        y = f(x, w, b, stride=s, padding=p, output_padding=op, groups=g, dilation=d)
        y.backward(T.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape))))
        return y, x.grad, w.grad, b.grad
    same(fn)


@pytest.mark.parametrize("nd", [1, 2])
def test_conv_transpose_output_padding_double_backward(nd):
    rng = np.random.default_rng(nd)
    xs = rng.standard_normal((1, 2) + (4,) * nd)
    ws = rng.standard_normal((2, 1) + (2,) * nd)

    def fn(T):
        x, w = (T.tensor(a, requires_grad=True) for a in (xs, ws))
        f = getattr(T.nn.functional, f"conv_transpose{nd}d")
        y = f(x, w, stride=1, output_padding=1, dilation=2)
        gy = T.tensor(np.sin(np.arange(y.numel())).reshape(tuple(y.shape)),
                      requires_grad=True)
        gx, gw = T.autograd.grad(y, (x, w), gy, create_graph=True)
        return T.autograd.grad((gx * gx).sum() + (gw * gw).sum(), (x, w, gy))
    same(fn)
