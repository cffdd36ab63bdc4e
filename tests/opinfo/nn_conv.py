"""Op records: nn conv family — convolutions, pooling, padding, resampling, unfold/fold (see
tests/opinfo/__init__.py). Shapes stay small (batch 2, channels 2-4, spatial 5-7) so the
second-order checks stay fast."""

from __future__ import annotations

import numpy as np

from . import OpRecord


def _F(T):
    return T.nn.functional


def _distinct(*shape):
    """Sample maker: distinct values (no ties in max pooling, finite differences stay away
    from a switch of the maximum)."""
    def extra(rng):
        n = int(np.prod(shape))
        yield (rng.permutation(n).reshape(shape) * 0.25 - n * 0.125,)
    return extra


RECORDS = [
    # ---- convolutions ----
    OpRecord("conv1d", lambda T, x, w, b: _F(T).conv1d(x, w, b, stride=2, padding=1),
             shapes=[((2, 3, 7), (4, 3, 3), (4,))]),
    OpRecord("conv1d_groups_dilation",
             lambda T, x, w: _F(T).conv1d(x, w, dilation=2, groups=2, padding="same"),
             shapes=[((2, 4, 6), (4, 2, 3))], op="conv1d"),
    OpRecord("conv1d_unbatched", lambda T, x, w: _F(T).conv1d(x, w, padding="valid"),
             shapes=[((2, 5), (3, 2, 2))], op="conv1d"),
    OpRecord("conv2d", lambda T, x, w, b: _F(T).conv2d(x, w, b, stride=(2, 1), padding=(1, 0)),
             shapes=[((2, 2, 5, 6), (3, 2, 3, 2), (3,))]),
    OpRecord("conv2d_groups", lambda T, x, w: _F(T).conv2d(x, w, groups=2, dilation=(2, 1)),
             shapes=[((2, 4, 6, 5), (4, 2, 2, 2))], op="conv2d"),
    OpRecord("conv2d_same_even", lambda T, x, w: _F(T).conv2d(x, w, padding="same"),
             shapes=[((1, 2, 4, 5), (2, 2, 2, 3))], op="conv2d"),
    OpRecord("conv2d_unbatched", lambda T, x, w, b: _F(T).conv2d(x, w, b),
             shapes=[((2, 4, 4), (2, 2, 3, 3), (2,))], op="conv2d"),
    OpRecord("conv3d", lambda T, x, w, b: _F(T).conv3d(x, w, b, padding=1, stride=2),
             shapes=[((1, 2, 3, 4, 3), (2, 2, 2, 2, 2), (2,))]),
    OpRecord("conv_transpose1d",
             lambda T, x, w, b: _F(T).conv_transpose1d(x, w, b, stride=2, padding=1,
                                                        output_padding=1),
             shapes=[((2, 3, 5), (3, 2, 3), (2,))]),
    OpRecord("conv_transpose1d_groups",
             lambda T, x, w: _F(T).conv_transpose1d(x, w, groups=2, dilation=2),
             shapes=[((2, 4, 4), (4, 1, 2))], op="conv_transpose1d"),
    OpRecord("conv_transpose2d",
             lambda T, x, w, b: _F(T).conv_transpose2d(x, w, b, stride=(2, 1), padding=(0, 1),
                                                        output_padding=(1, 0)),
             shapes=[((2, 2, 4, 3), (2, 3, 3, 2), (3,))]),
    OpRecord("conv_transpose2d_groups",
             lambda T, x, w: _F(T).conv_transpose2d(x, w, groups=2, dilation=(1, 2)),
             shapes=[((1, 4, 3, 3), (4, 1, 2, 2)), ((4, 3, 3), (4, 2, 2, 2))],
             op="conv_transpose2d"),
    OpRecord("conv_transpose3d",
             lambda T, x, w: _F(T).conv_transpose3d(x, w, stride=2),
             shapes=[((1, 2, 2, 3, 2), (2, 1, 2, 2, 2))]),
    # ---- pad ----
    OpRecord("pad_constant", lambda T, x: _F(T).pad(x, (1, 2, 0, 1), value=0.5),
             shapes=[((2, 3, 4),), ((3, 2),)], op="pad"),
    OpRecord("pad_negative", lambda T, x: _F(T).pad(x, (-1, 2, 1, -2)),
             shapes=[((2, 4, 5),), ((0, 3, 4),)], op="pad"),
    OpRecord("pad_reflect", lambda T, x: _F(T).pad(x, (2, 1, 1, 3), mode="reflect"),
             shapes=[((2, 2, 4, 5),), ((2, 4, 5),)], op="pad"),
    OpRecord("pad_reflect1d", lambda T, x: _F(T).pad(x, (2, 3), mode="reflect"),
             shapes=[((2, 2, 5),)], op="pad"),
    OpRecord("pad_replicate", lambda T, x: _F(T).pad(x, (2, 1, 1, 3), mode="replicate"),
             shapes=[((2, 2, 3, 4),)], op="pad"),
    OpRecord("pad_replicate3d", lambda T, x: _F(T).pad(x, (1, 0, 2, 1, 0, 1), mode="replicate"),
             shapes=[((1, 2, 2, 3, 2),)], op="pad"),
    OpRecord("pad_circular", lambda T, x: _F(T).pad(x, (2, 1, 1, 3), mode="circular"),
             shapes=[((2, 2, 3, 4),)], op="pad"),
    # ---- interpolate ----
    OpRecord("interpolate_nearest", lambda T, x: _F(T).interpolate(x, size=(5, 3)),
             shapes=[((2, 2, 3, 4),)], op="interpolate"),
    OpRecord("interpolate_nearest_scale",
             lambda T, x: _F(T).interpolate(x, scale_factor=1.7),
             shapes=[((2, 2, 5),)], op="interpolate"),
    OpRecord("interpolate_bilinear",
             lambda T, x: _F(T).interpolate(x, size=(5, 3), mode="bilinear"),
             shapes=[((2, 2, 3, 4),)], op="interpolate"),
    OpRecord("interpolate_bilinear_corners",
             lambda T, x: _F(T).interpolate(x, scale_factor=(2, 0.5), mode="bilinear",
                                            align_corners=True),
             shapes=[((1, 2, 3, 4),)], op="interpolate"),
    OpRecord("interpolate_bilinear_scale",
             lambda T, x: _F(T).interpolate(x, scale_factor=1.5, mode="bilinear"),
             shapes=[((1, 2, 3, 4),)], op="interpolate"),
    OpRecord("interpolate_linear",
             lambda T, x: _F(T).interpolate(x, size=7, mode="linear"),
             shapes=[((2, 2, 4),)], op="interpolate"),
    OpRecord("interpolate_trilinear",
             lambda T, x: _F(T).interpolate(x, size=(3, 2, 4), mode="trilinear"),
             shapes=[((1, 1, 2, 3, 2),)], op="interpolate"),
    # ---- unfold / fold ----
    OpRecord("unfold", lambda T, x: _F(T).unfold(x, (2, 3), dilation=(1, 2), padding=1,
                                                 stride=2),
             shapes=[((2, 2, 5, 6),), ((2, 4, 4),)]),
    OpRecord("fold", lambda T, x: _F(T).fold(x, (4, 5), 2, padding=(1, 0), stride=(1, 2)),
             shapes=[((2, 8, 10),), ((8, 10),)]),
    # ---- pooling ----
    OpRecord("max_pool2d", lambda T, x: _F(T).max_pool2d(x, 2),
             extra=_distinct(2, 2, 5, 6)),
    OpRecord("max_pool2d_overlap",
             lambda T, x: _F(T).max_pool2d(x, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2),
                                           return_indices=True),
             extra=_distinct(2, 2, 6, 5), op="max_pool2d"),
    OpRecord("max_pool2d_ceil", lambda T, x: _F(T).max_pool2d(x, 3, 2, ceil_mode=True),
             extra=_distinct(2, 6, 6), op="max_pool2d"),
    OpRecord("max_pool1d", lambda T, x: _F(T).max_pool1d(x, 3, 2, padding=1,
                                                         return_indices=True),
             extra=_distinct(2, 3, 7)),
    OpRecord("max_pool3d", lambda T, x: _F(T).max_pool3d(x, 2, stride=(1, 2, 1)),
             extra=_distinct(1, 2, 3, 4, 3)),
    OpRecord("avg_pool2d", lambda T, x: _F(T).avg_pool2d(x, 2),
             shapes=[((2, 2, 5, 6),), ((2, 4, 4),)]),
    OpRecord("avg_pool2d_pad_ceil",
             lambda T, x: _F(T).avg_pool2d(x, 3, 2, padding=1, ceil_mode=True),
             shapes=[((2, 2, 6, 5),)], op="avg_pool2d"),
    OpRecord("avg_pool2d_exclude_pad",
             lambda T, x: _F(T).avg_pool2d(x, (3, 2), (2, 1), padding=(1, 1), ceil_mode=True,
                                           count_include_pad=False),
             shapes=[((2, 2, 6, 5),)], op="avg_pool2d"),
    OpRecord("avg_pool2d_divisor",
             lambda T, x: _F(T).avg_pool2d(x, 2, 1, divisor_override=3),
             shapes=[((2, 2, 4, 5),)], op="avg_pool2d"),
    OpRecord("avg_pool1d", lambda T, x: _F(T).avg_pool1d(x, 3, 2, padding=1,
                                                         count_include_pad=False),
             shapes=[((2, 3, 7),), ((3, 6),)]),
    OpRecord("adaptive_avg_pool2d", lambda T, x: _F(T).adaptive_avg_pool2d(x, (3, 4)),
             shapes=[((2, 2, 5, 7),), ((2, 6, 3),)]),
    OpRecord("adaptive_avg_pool2d_none", lambda T, x: _F(T).adaptive_avg_pool2d(x, (None, 1)),
             shapes=[((2, 2, 5, 7),)], op="adaptive_avg_pool2d"),
    OpRecord("adaptive_avg_pool2d_one", lambda T, x: _F(T).adaptive_avg_pool2d(x, 1),
             shapes=[((2, 2, 5, 7),)], op="adaptive_avg_pool2d"),
    OpRecord("adaptive_avg_pool1d", lambda T, x: _F(T).adaptive_avg_pool1d(x, 4),
             shapes=[((2, 3, 7),)]),
    OpRecord("adaptive_avg_pool3d", lambda T, x: _F(T).adaptive_avg_pool3d(x, (2, 3, 2)),
             shapes=[((1, 2, 3, 5, 4),)]),
    OpRecord("adaptive_max_pool2d",
             lambda T, x: _F(T).adaptive_max_pool2d(x, (3, 4), return_indices=True),
             extra=_distinct(2, 2, 5, 7)),
    OpRecord("adaptive_max_pool2d_unbatched", lambda T, x: _F(T).adaptive_max_pool2d(x, 2),
             extra=_distinct(2, 5, 4), op="adaptive_max_pool2d"),
    OpRecord("adaptive_max_pool1d",
             lambda T, x: _F(T).adaptive_max_pool1d(x, 3, return_indices=True),
             extra=_distinct(2, 3, 7)),
]
