"""Op records: nn loss family — losses, distances and attention (see tests/opinfo/__init__.py).

Targets that are not differentiated are built inside ``fn`` or listed in ``nondiff``; sample
values keep away from kinks (|input - target| == beta, margins at 0) so finite differences
are valid."""

from __future__ import annotations

import numpy as np

from . import POS, OpRecord, _ints

PROB = (0.05, 0.95)


def _signs(rng, shape):
    return np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)


def _fn(name, **kw):
    return lambda T, *a: getattr(T.nn.functional, name)(*a, **kw)


def _reductions(name, shapes, op=None, **kw):
    """One record per reduction for an elementwise loss of (input, target)."""
    return [OpRecord(f"{name}_{r}", _fn(name, reduction=r, **kw), shapes, op=op or f"F.{name}")
            for r in ("mean", "sum", "none")]


PAIRS = [((2, 3), (2, 3)), ((3,), (3,)), ((), ()), ((0, 2), (0, 2))]

RECORDS = [
    # ---- regression losses ----
    *_reductions("mse_loss", PAIRS[:2]),
    OpRecord("mse_loss_weight", lambda T, x, y, w: T.nn.functional.mse_loss(x, y, weight=w),
             [((2, 3), (2, 3), (2, 3))], domain=POS,
             nondiff=(2,), op="F.mse_loss"),
    *_reductions("l1_loss", PAIRS),
    OpRecord("l1_loss_weight",
             lambda T, x, y, w: T.nn.functional.l1_loss(x, y, reduction="none", weight=w),
             [((2, 3), (2, 3), (2, 3))],
             domain=POS, nondiff=(2,), op="F.l1_loss"),
    *_reductions("smooth_l1_loss", PAIRS[:3], beta=0.5),
    OpRecord("smooth_l1_loss_default", _fn("smooth_l1_loss"), [((4,), (4,))],
             op="F.smooth_l1_loss"),
    OpRecord("smooth_l1_loss_beta0", _fn("smooth_l1_loss", beta=0.0), [((4,), (4,))],
             op="F.smooth_l1_loss"),
    *_reductions("huber_loss", PAIRS[:3], delta=0.7),
    OpRecord("huber_loss_weight",
             lambda T, x, y, w: T.nn.functional.huber_loss(x, y, delta=0.5, weight=w),
             [((2, 3), (2, 3), (2, 3))],
             nondiff=(2,), op="F.huber_loss"),
    # ---- binary cross-entropy ----
    OpRecord("binary_cross_entropy", _fn("binary_cross_entropy"),
             [((2, 3), (2, 3)), ((3,), (3,))], domain=PROB, op="F.binary_cross_entropy"),
    OpRecord("binary_cross_entropy_weight_none",
             _fn("binary_cross_entropy", reduction="none"),
             extra=lambda rng: [(rng.uniform(*PROB, (2, 3)), rng.uniform(*PROB, (2, 3)),
                                 rng.uniform(0.5, 2, (3,)))],
             nondiff=(2,), op="F.binary_cross_entropy"),
    OpRecord("binary_cross_entropy_sum", _fn("binary_cross_entropy", reduction="sum"),
             [((4,), (4,))], domain=PROB, op="F.binary_cross_entropy"),
    OpRecord("bce_with_logits_pos_weight_mean",
             lambda T, x, y, p: T.nn.functional.binary_cross_entropy_with_logits(
                 x, y.sigmoid(), pos_weight=p), [((2, 3), (2, 3), (3,))], nondiff=(2,),
             op="F.binary_cross_entropy_with_logits"),
    OpRecord("soft_margin_loss", _fn("soft_margin_loss"),
             extra=lambda rng: [(rng.normal(size=(2, 3)), _signs(rng, (2, 3))),
                                (rng.normal(size=(3,)), _signs(rng, (3,)))],
             nondiff=(1,), op="F.soft_margin_loss"),
    OpRecord("soft_margin_loss_none", _fn("soft_margin_loss", reduction="none"),
             extra=lambda rng: [(rng.normal(size=(2, 3)), _signs(rng, (2, 3)))],
             nondiff=(1,), op="F.soft_margin_loss"),
    OpRecord("multilabel_soft_margin_loss", _fn("multilabel_soft_margin_loss"),
             extra=lambda rng: [(rng.normal(size=(2, 3)), (rng.uniform(size=(2, 3)) > .5) * 1.)],
             nondiff=(1,), op="F.multilabel_soft_margin_loss"),
    OpRecord("multilabel_soft_margin_loss_weight_none",
             _fn("multilabel_soft_margin_loss", reduction="none"),
             extra=lambda rng: [(rng.normal(size=(2, 3)), rng.uniform(size=(2, 3)),
                                 rng.uniform(0.5, 2, (3,)))],
             nondiff=(2,), op="F.multilabel_soft_margin_loss"),
    # ---- distribution losses ----
    OpRecord("kl_div_batchmean",
             lambda T, x, y: T.nn.functional.kl_div(x.log_softmax(1), y.softmax(1),
                                                    reduction="batchmean"),
             [((2, 3), (2, 3))], op="F.kl_div"),
    OpRecord("kl_div_none", _fn("kl_div", reduction="none"), [((2, 3), (2, 3))], domain=POS,
             op="F.kl_div"),
    OpRecord("kl_div_log_target_sum", _fn("kl_div", reduction="sum", log_target=True),
             [((2, 3), (2, 3)), ((), ())], op="F.kl_div"),
    OpRecord("poisson_nll_loss", _fn("poisson_nll_loss"), [((2, 3), (2, 3))], domain=POS,
             op="F.poisson_nll_loss"),
    OpRecord("poisson_nll_loss_full_none",
             _fn("poisson_nll_loss", log_input=False, full=True, reduction="none"),
             [((2, 3), (2, 3))], domain=(0.2, 3.0), op="F.poisson_nll_loss"),
    OpRecord("gaussian_nll_loss", _fn("gaussian_nll_loss"),
             extra=lambda rng: [(rng.normal(size=(2, 3)), rng.normal(size=(2, 3)),
                                 rng.uniform(0.5, 2, (2, 3))),
                                (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)),
                                 rng.uniform(0.5, 2, (2,)))],
             op="F.gaussian_nll_loss"),
    OpRecord("gaussian_nll_loss_full_none",
             lambda T, x, y, v: T.nn.functional.gaussian_nll_loss(x, y, v, full=True,
                                                                  reduction="none"),
             extra=lambda rng: [(rng.normal(size=(2, 3)), rng.normal(size=(2, 3)),
                                 rng.uniform(0.5, 2, (2, 1)))],
             op="F.gaussian_nll_loss"),
    # ---- margin and embedding losses ----
    OpRecord("margin_ranking_loss",
             lambda T, a, b, t: T.nn.functional.margin_ranking_loss(a, b, t, margin=0.3),
             extra=lambda rng: [(rng.normal(size=(4,)), rng.normal(size=(4,)),
                                 _signs(rng, (4,)))],
             nondiff=(2,), op="F.margin_ranking_loss"),
    OpRecord("margin_ranking_loss_none", _fn("margin_ranking_loss", reduction="none"),
             extra=lambda rng: [(rng.normal(size=(4,)), rng.normal(size=(4,)),
                                 _signs(rng, (4,)))],
             nondiff=(2,), op="F.margin_ranking_loss"),
    OpRecord("hinge_embedding_loss", _fn("hinge_embedding_loss", margin=0.5),
             extra=lambda rng: [(rng.normal(size=(2, 3)), _signs(rng, (2, 3)))],
             nondiff=(1,), op="F.hinge_embedding_loss"),
    OpRecord("hinge_embedding_loss_none", _fn("hinge_embedding_loss", reduction="none"),
             extra=lambda rng: [(rng.normal(size=(2, 3)), _signs(rng, (2, 3)))],
             nondiff=(1,), op="F.hinge_embedding_loss"),
    OpRecord("cosine_embedding_loss", _fn("cosine_embedding_loss", margin=-0.2),
             extra=lambda rng: [(rng.normal(size=(3, 4)), rng.normal(size=(3, 4)),
                                 np.array([1, -1, -1])),
                                (rng.normal(size=(4,)), rng.normal(size=(4,)), np.array(1))],
             op="F.cosine_embedding_loss"),
    OpRecord("cosine_embedding_loss_none", _fn("cosine_embedding_loss", reduction="none"),
             extra=lambda rng: [(rng.normal(size=(3, 4)), rng.normal(size=(3, 4)),
                                 np.array([1, -1, 1]))],
             op="F.cosine_embedding_loss"),
    OpRecord("triplet_margin_loss", _fn("triplet_margin_loss", margin=2.0),
             [((3, 4), (3, 4), (3, 4)), ((4,), (4,), (4,))], op="F.triplet_margin_loss"),
    OpRecord("triplet_margin_loss_p1_swap_none",
             _fn("triplet_margin_loss", margin=2.0, p=1, swap=True, reduction="none"),
             [((3, 4), (3, 4), (3, 4))], op="F.triplet_margin_loss"),
    OpRecord("triplet_margin_with_distance_loss",
             lambda T, a, p, n: T.nn.functional.triplet_margin_with_distance_loss(
                 a, p, n, distance_function=lambda x, y: 1 - T.cosine_similarity(x, y),
                 margin=1.5, swap=True, reduction="none"),
             [((3, 4), (3, 4), (3, 4))], op="F.triplet_margin_with_distance_loss"),
    OpRecord("triplet_margin_with_distance_loss_default",
             _fn("triplet_margin_with_distance_loss", margin=2.0),
             [((3, 4), (3, 4), (3, 4))], op="F.triplet_margin_with_distance_loss"),
    OpRecord("multi_margin_loss", _fn("multi_margin_loss"),
             extra=lambda rng: [(rng.normal(size=(3, 4)), _ints(rng, 4, (3,))),
                                (rng.normal(size=(4,)), np.array(2))],
             op="F.multi_margin_loss"),
    OpRecord("multi_margin_loss_p2_weight_none",
             lambda T, x, t, w: T.nn.functional.multi_margin_loss(
                 x, t, p=2, margin=0.8, weight=w, reduction="none"),
             extra=lambda rng: [(rng.normal(size=(3, 4)), _ints(rng, 4, (3,)),
                                 rng.uniform(0.5, 2, (4,)))],
             nondiff=(2,), op="F.multi_margin_loss"),
    OpRecord("multilabel_margin_loss", _fn("multilabel_margin_loss"),
             extra=lambda rng: [(rng.normal(size=(2, 4)), np.array([[3, 0, -1, 1], [1, 1, 2, -1]])),
                                (rng.normal(size=(4,)), np.array([2, -1, 0, 0]))],
             op="F.multilabel_margin_loss"),
    OpRecord("multilabel_margin_loss_none", _fn("multilabel_margin_loss", reduction="none"),
             extra=lambda rng: [(rng.normal(size=(3, 3)),
                                 np.array([[2, -1, 0], [-1, 0, 1], [0, 1, 2]]))],
             op="F.multilabel_margin_loss"),
    # NOTE: CTC has first derivatives only, in PyTorch too (its backward is not differentiable).
    OpRecord("ctc_loss",
             lambda T, x, t, il, tl: T.nn.functional.ctc_loss(x.log_softmax(2), t, il, tl),
             extra=lambda rng: [(rng.normal(size=(5, 2, 4)), np.array([[1, 2, 2], [3, 1, 0]]),
                                 np.array([5, 4]), np.array([3, 2]))],
             second_order=False, op="F.ctc_loss"),
    OpRecord("ctc_loss_none_blank",
             lambda T, x, t, il, tl: T.nn.functional.ctc_loss(x.log_softmax(1), t, il, tl,
                                                              blank=2, reduction="none"),
             extra=lambda rng: [(rng.normal(size=(4, 3)), np.array([1, 0]), np.array(4),
                                 np.array(2))],
             second_order=False, op="F.ctc_loss"),
    # ---- classification losses (beyond core.py's) ----
    OpRecord("nll_loss_weight_ignore_sum",
             lambda T, x, t, w: T.nn.functional.nll_loss(x, t, weight=w, ignore_index=0,
                                                         reduction="sum"),
             extra=lambda rng: [(rng.normal(size=(5, 3)), _ints(rng, 3, (5,)),
                                 rng.uniform(0.5, 2, (3,)))],
             nondiff=(2,), op="F.nll_loss"),
    OpRecord("nll_loss_2d_weight",
             lambda T, x, t, w: T.nn.functional.nll_loss(x, t, weight=w),
             extra=lambda rng: [(rng.normal(size=(2, 3, 2, 2)), _ints(rng, 3, (2, 2, 2)),
                                 rng.uniform(0.5, 2, (3,)))],
             nondiff=(2,), op="F.nll_loss"),
    OpRecord("cross_entropy_probs_weight_smoothing",
             lambda T, x, p, w: T.nn.functional.cross_entropy(
                 x, p.softmax(1), weight=w, label_smoothing=0.2),
             extra=lambda rng: [(rng.normal(size=(3, 4)), rng.normal(size=(3, 4)),
                                 rng.uniform(0.5, 2, (4,)))],
             nondiff=(2,), op="F.cross_entropy"),
    OpRecord("cross_entropy_smoothing_weight_ignore_none",
             lambda T, x, t, w: T.nn.functional.cross_entropy(
                 x, t, weight=w, ignore_index=2, label_smoothing=0.1, reduction="none"),
             extra=lambda rng: [(rng.normal(size=(4, 3)), np.array([0, 2, 1, 1]),
                                 rng.uniform(0.5, 2, (3,)))],
             nondiff=(2,), op="F.cross_entropy"),
    OpRecord("cross_entropy_smoothing_weight_ignore_mean",
             lambda T, x, t, w: T.nn.functional.cross_entropy(
                 x, t, weight=w, ignore_index=2, label_smoothing=0.1),
             extra=lambda rng: [(rng.normal(size=(2, 3, 2)), np.array([[0, 2], [1, 1]]),
                                 rng.uniform(0.5, 2, (3,)))],
             nondiff=(2,), op="F.cross_entropy"),
    # ---- distances ----
    OpRecord("cosine_similarity", lambda T, a, b: T.nn.functional.cosine_similarity(a, b),
             [((2, 3), (2, 3)), ((2, 3, 2), (1, 3, 2))], op="F.cosine_similarity"),
    OpRecord("cosine_similarity_dim", lambda T, a, b: T.cosine_similarity(a, b, dim=-1),
             [((2, 3), (3,)), ((4,), (4,))], op="cosine_similarity"),
    OpRecord("pairwise_distance", _fn("pairwise_distance"),
             [((2, 3), (2, 3)), ((2, 3), (3,)), ((4,), (4,))], op="F.pairwise_distance"),
    OpRecord("pairwise_distance_p1_keepdim", _fn("pairwise_distance", p=1.0, keepdim=True),
             [((2, 3), (2, 3))], op="F.pairwise_distance"),
    OpRecord("pairwise_distance_p3", _fn("pairwise_distance", p=3.0), [((2, 3), (2, 3))],
             op="F.pairwise_distance"),
    OpRecord("cdist", lambda T, a, b: T.cdist(a, b),
             [((3, 2), (4, 2)), ((2, 3, 2), (1, 2, 2))]),
    OpRecord("cdist_mm", lambda T, a, b: T.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
             [((3, 2), (2, 2)), ((2, 3, 2), (1, 2, 2))], op="cdist"),
    OpRecord("cdist_p1", lambda T, a, b: T.cdist(a, b, p=1), [((3, 2), (2, 2))], op="cdist"),
    OpRecord("cdist_p3", lambda T, a, b: T.cdist(a, b, p=3), [((3, 2), (2, 2))], op="cdist"),
    OpRecord("cdist_pinf", lambda T, a, b: T.cdist(a, b, p=float("inf")), [((3, 2), (2, 2))],
             op="cdist"),
    OpRecord("pdist", lambda T, a: T.nn.functional.pdist(a), [((4, 3),)],
             op="F.pdist"),
    OpRecord("pdist_p1_5", lambda T, a: T.nn.functional.pdist(a, p=1.5), [((3, 2),)],
             op="F.pdist"),
    OpRecord("normalize", lambda T, a: T.nn.functional.normalize(a), [((2, 3),), ((2, 3, 2),)],
             op="F.normalize"),
    OpRecord("normalize_p1_dim0", lambda T, a: T.nn.functional.normalize(a, p=1.0, dim=0),
             [((3,),), ((3, 2),)], op="F.normalize"),
    # ---- attention ----
    OpRecord("scaled_dot_product_attention",
             lambda T, q, k, v: T.nn.functional.scaled_dot_product_attention(q, k, v),
             [((2, 3, 4), (2, 5, 4), (2, 5, 2)), ((3, 2), (3, 2), (3, 2))],
             op="F.scaled_dot_product_attention"),
    OpRecord("scaled_dot_product_attention_causal_scale",
             lambda T, q, k, v: T.nn.functional.scaled_dot_product_attention(
                 q, k, v, is_causal=True, scale=0.3),
             [((1, 2, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2)), ((2, 4, 2), (2, 3, 2), (2, 3, 2))],
             op="F.scaled_dot_product_attention"),
    OpRecord("scaled_dot_product_attention_bool_mask",
             lambda T, q, k, v: T.nn.functional.scaled_dot_product_attention(
                 q, k, v, attn_mask=T.tensor([[True, False, True], [False, False, False]])),
             [((2, 2, 2), (2, 3, 2), (2, 3, 2))], op="F.scaled_dot_product_attention"),
    OpRecord("scaled_dot_product_attention_float_mask",
             lambda T, q, k, v, m: T.nn.functional.scaled_dot_product_attention(
                 q, k, v, attn_mask=m),
             [((2, 2, 2), (2, 3, 2), (2, 3, 2), (2, 3))], op="F.scaled_dot_product_attention"),
    OpRecord("scaled_dot_product_attention_fused_masks",
             lambda T, q, k, v, m: T.nn.functional.scaled_dot_product_attention(
                 q, k, v, attn_mask=m),
             [((1, 2, 2, 2), (1, 2, 3, 2), (1, 2, 3, 2), (2, 3))], nondiff=(3,),
             extra=lambda rng: [(rng.normal(size=(2, 1, 2, 2)), rng.normal(size=(2, 1, 3, 2)),
                                 rng.normal(size=(2, 1, 3, 2)),
                                 np.array([[True, False, True], [False, False, False]]))],
             op="F.scaled_dot_product_attention"),
    OpRecord("scaled_dot_product_attention_gqa",
             lambda T, q, k, v: T.nn.functional.scaled_dot_product_attention(
                 q, k, v, enable_gqa=True),
             [((1, 4, 2, 2), (1, 2, 3, 2), (1, 2, 3, 2))], op="F.scaled_dot_product_attention"),
]
