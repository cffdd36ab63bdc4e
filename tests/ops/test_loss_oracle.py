"""Oracle tests of the loss family (losses, distances, one_hot, attention) beyond the op
records: argument errors and their messages, warnings, integer paths, ties and kinks,
stability at large magnitudes, empty inputs — each run through ember and PyTorch by ``same``."""

from __future__ import annotations

import numpy as np
import pytest

from ..oracle import same

X = [[0.5, -1.0, 2.0, 0.1], [1.5, 0.3, -0.7, 0.0], [-2.0, 0.4, 0.9, 1.1]]
Y = [[0.2, -1.0, 1.0, 0.6], [1.0, 0.1, 0.3, 0.0], [-1.0, 0.5, 0.9, 1.3]]


def _t(T, data, requires_grad=False, dtype=None):
    return T.tensor(data, dtype=dtype or T.float64, requires_grad=requires_grad)


def _grad_of(fn):
    """``fn(T, x)`` on a leaf ``x`` built from X: the result and ``x``'s gradient."""
    def run(T):
        x = _t(T, X, True)
        out = fn(T, x)
        (out * (T.arange(out.numel(), dtype=T.float64).reshape(out.shape) + 1)).sum().backward()
        return out, x.grad
    return run


def _ctc_args(T, requires_grad=False):
    lp = T.tensor(np.linspace(-2, 1, 40).reshape(5, 2, 4), requires_grad=requires_grad)
    return lp, T.tensor([[1, 2, 2], [3, 1, 0]]), T.tensor([5, 4]), T.tensor([3, 2])


# ---- argument errors ----
ERRORS = {
    "nll_target_oob": lambda T: T.nn.functional.nll_loss(_t(T, X), T.tensor([0, 1, 7])),
    "nll_batch": lambda T: T.nn.functional.nll_loss(_t(T, X), T.tensor([0, 1])),
    "nll_float_target": lambda T: T.nn.functional.nll_loss(_t(T, X), _t(T, [0, 1, 2])),
    "ce_batch": lambda T: T.nn.functional.cross_entropy(_t(T, X), T.tensor([0, 1])),
    "ce_oob": lambda T: T.nn.functional.cross_entropy(_t(T, X), T.tensor([0, -3, 1])),
    "bce_range": lambda T: T.nn.functional.binary_cross_entropy(_t(T, [1.5]), _t(T, [1.0])),
    "bce_size": lambda T: T.nn.functional.binary_cross_entropy(_t(T, [[0.5] * 3] * 2),
                                                              _t(T, [0.5] * 3)),
    "bce_logits_size": lambda T: T.nn.functional.binary_cross_entropy_with_logits(
        _t(T, X), _t(T, X[0])),
    "bad_reduction": lambda T: T.nn.functional.mse_loss(_t(T, X), _t(T, Y), reduction="bad"),
    "bad_reduction_kl": lambda T: T.nn.functional.kl_div(_t(T, X), _t(T, Y), reduction="x"),
    "bad_reduction_mlsm": lambda T: T.nn.functional.multilabel_soft_margin_loss(
        _t(T, X), _t(T, Y), reduction="x"),
    "smooth_l1_beta": lambda T: T.nn.functional.smooth_l1_loss(_t(T, X), _t(T, Y), beta=-1),
    "huber_delta": lambda T: T.nn.functional.huber_loss(_t(T, X), _t(T, Y), delta=0),
    "mse_weight_size": lambda T: T.nn.functional.mse_loss(_t(T, X), _t(T, Y),
                                                          weight=_t(T, X[0])),
    "soft_margin_target_grad": lambda T: T.nn.functional.soft_margin_loss(
        _t(T, X), _t(T, Y, True)),
    "mm_target_oob": lambda T: T.nn.functional.multi_margin_loss(_t(T, X), T.tensor([0, 5, 1])),
    "mm_target_size": lambda T: T.nn.functional.multi_margin_loss(_t(T, X), T.tensor([0, 1])),
    "mm_p": lambda T: T.nn.functional.multi_margin_loss(_t(T, X), T.tensor([0, 1, 1]), p=3),
    "cos_emb_target_dim": lambda T: T.nn.functional.cosine_embedding_loss(
        _t(T, X), _t(T, Y), _t(T, [[1.0]] * 3)),
    "cos_emb_0d_target": lambda T: T.nn.functional.cosine_embedding_loss(
        _t(T, X), _t(T, Y), _t(T, 1.0)),
    "cos_emb_1d_target": lambda T: T.nn.functional.cosine_embedding_loss(
        _t(T, X[0]), _t(T, Y[0]), _t(T, [1.0] * 3)),
    "margin_ranking_dims": lambda T: T.nn.functional.margin_ranking_loss(
        _t(T, X), _t(T, Y), _t(T, [1.0] * 3)),
    "triplet_dims": lambda T: T.nn.functional.triplet_margin_loss(_t(T, X), _t(T, Y),
                                                                  _t(T, X[0])),
    "triplet_margin": lambda T: T.nn.functional.triplet_margin_loss(_t(T, X), _t(T, Y),
                                                                    _t(T, Y), margin=0),
    "gaussian_var_size": lambda T: T.nn.functional.gaussian_nll_loss(_t(T, X), _t(T, Y),
                                                                     T.ones(3, 2)),
    "gaussian_var_negative": lambda T: T.nn.functional.gaussian_nll_loss(_t(T, X), _t(T, Y),
                                                                         -T.ones(3, 4)),
    "cosine_similarity_shapes": lambda T: T.nn.functional.cosine_similarity(
        _t(T, X), _t(T, Y[:2])),
    "cosine_similarity_dim": lambda T: T.nn.functional.cosine_similarity(_t(T, X), _t(T, Y),
                                                                         dim=2),
    "cosine_similarity_int": lambda T: T.cosine_similarity(T.ones(3, dtype=T.int64),
                                                           T.ones(3, dtype=T.int64), dim=0),
    "cdist_columns": lambda T: T.cdist(_t(T, X), T.ones(2, 5, dtype=T.float64)),
    "cdist_1d": lambda T: T.cdist(_t(T, X[0]), _t(T, X)),
    "cdist_negative_p": lambda T: T.cdist(_t(T, X), _t(T, Y), p=-1),
    "cdist_mode": lambda T: T.cdist(_t(T, X), _t(T, Y), compute_mode="fast"),
    "bce_weight_grad": lambda T: T.nn.functional.binary_cross_entropy(
        _t(T, [0.5]), _t(T, [1.0]), weight=_t(T, [1.0], True)),
    "bce_logits_pos_weight_grad": lambda T: T.nn.functional.binary_cross_entropy_with_logits(
        _t(T, [0.5]), _t(T, [1.0]), pos_weight=_t(T, [1.0], True)),
    "mm_weight_grad": lambda T: T.nn.functional.multi_margin_loss(
        _t(T, X), T.tensor([0, 1, 1]), weight=_t(T, [1.0] * 4, True)),
    "mlm_target_oob": lambda T: T.nn.functional.multilabel_margin_loss(
        _t(T, X), T.tensor([[5, 0, -1, 1]] * 3)),
    "mlm_target_size": lambda T: T.nn.functional.multilabel_margin_loss(
        _t(T, X), T.tensor([[3, 0, -1, 1]])),
    "mlm_target_dtype": lambda T: T.nn.functional.multilabel_margin_loss(
        _t(T, X), _t(T, [[3, 0, -1, 1]] * 3)),
    "ctc_blank": lambda T: T.nn.functional.ctc_loss(*_ctc_args(T), blank=4),
    "ctc_input_lengths": lambda T: T.nn.functional.ctc_loss(
        _ctc_args(T)[0], _ctc_args(T)[1], T.tensor([6, 4]), _ctc_args(T)[3]),
    "ctc_target_lengths": lambda T: T.nn.functional.ctc_loss(
        *_ctc_args(T)[:3], T.tensor([4, 2])),
    "ctc_batch": lambda T: T.nn.functional.ctc_loss(
        _ctc_args(T)[0], _ctc_args(T)[1], T.tensor([5]), _ctc_args(T)[3]),
    "ctc_reduction": lambda T: T.nn.functional.ctc_loss(*_ctc_args(T), reduction="x"),
    "triplet_distance_dims": lambda T: T.nn.functional.triplet_margin_with_distance_loss(
        _t(T, X), _t(T, Y), _t(T, X[0])),
    "triplet_distance_reduction": lambda T: T.nn.functional.triplet_margin_with_distance_loss(
        _t(T, X), _t(T, Y), _t(T, Y), reduction="x"),
    "nll_weight_size": lambda T: T.nn.functional.nll_loss(_t(T, X), T.tensor([0, 1, 2]),
                                                          weight=T.ones(3, dtype=T.float64)),
    "ce_probs_weight_size": lambda T: T.nn.functional.cross_entropy(
        _t(T, X), _t(T, Y), weight=T.ones(3, dtype=T.float64)),
    "nll_0d": lambda T: T.nn.functional.nll_loss(_t(T, 1.0), T.tensor(0)),
    "nll_3d_target": lambda T: T.nn.functional.nll_loss(T.zeros(2, 3, 4), T.zeros(
        2, 5, dtype=T.int64)),
    "nll_4d_target": lambda T: T.nn.functional.nll_loss(T.zeros(2, 3, 4, 5), T.zeros(
        2, 4, 6, dtype=T.int64)),
    "nll_5d_target": lambda T: T.nn.functional.nll_loss(T.zeros(2, 3, 4, 5, 2), T.zeros(
        2, 4, 6, 2, dtype=T.int64)),
    "nll_2d_multi_target": lambda T: T.nn.functional.nll_loss(T.zeros(2, 3), T.zeros(
        2, 3, dtype=T.int64)),
    "nll_1d_target_size": lambda T: T.nn.functional.nll_loss(T.zeros(3), T.zeros(
        2, dtype=T.int64)),
    "nll_int32_target": lambda T: T.nn.functional.nll_loss(T.zeros(2, 3), T.zeros(
        2, dtype=T.int32)),
    "ce_float_target_shape": lambda T: T.nn.functional.cross_entropy(_t(T, X), _t(T, Y)[:, :3]),
    "ce_probs_ignore_index": lambda T: T.nn.functional.cross_entropy(_t(T, X), _t(T, Y),
                                                                     ignore_index=1),
    "ce_label_smoothing": lambda T: T.nn.functional.cross_entropy(_t(T, X), T.tensor([0, 1, 2]),
                                                                  label_smoothing=1.5),
    "ce_0d_long_target": lambda T: T.nn.functional.cross_entropy(T.zeros(()), T.tensor(0)),
    "mse_int": lambda T: T.nn.functional.mse_loss(T.ones(2, dtype=T.int64),
                                                  T.ones(2, dtype=T.int64)),
    "huber_int": lambda T: T.nn.functional.huber_loss(T.ones(2, dtype=T.int64),
                                                      T.ones(2, dtype=T.int64)),
    "smooth_l1_int": lambda T: T.nn.functional.smooth_l1_loss(T.ones(2, dtype=T.int64),
                                                              T.ones(2, dtype=T.int64)),
    "bce_int": lambda T: T.nn.functional.binary_cross_entropy(T.ones(2, dtype=T.int64),
                                                              T.ones(2, dtype=T.int64)),
    "bce_dtypes": lambda T: T.nn.functional.binary_cross_entropy(T.ones(2) / 2,
                                                                 T.ones(2, dtype=T.float64)),
    "mm_3d": lambda T: T.nn.functional.multi_margin_loss(T.zeros(2, 3, 4), T.tensor([0, 1])),
    "mm_int": lambda T: T.nn.functional.multi_margin_loss(T.ones(2, 3, dtype=T.int64),
                                                          T.ones(2, dtype=T.int64)),
    "sdpa_1d": lambda T: T.nn.functional.scaled_dot_product_attention(T.ones(4), T.ones(4),
                                                                      T.ones(4)),
    "cdist_int": lambda T: T.cdist(T.ones(3, 3, dtype=T.int64), T.ones(3, 3, dtype=T.int64)),
    "pdist_1d": lambda T: T.nn.functional.pdist(_t(T, X[0])),
    "normalize_dim": lambda T: T.nn.functional.normalize(_t(T, X), dim=3),
    "one_hot_negative": lambda T: T.nn.functional.one_hot(T.tensor([-1, 2])),
    "one_hot_too_big": lambda T: T.nn.functional.one_hot(T.tensor([1, 2]), 2),
    "one_hot_float": lambda T: T.nn.functional.one_hot(T.tensor([1.0, 2.0])),
    "one_hot_int32": lambda T: T.nn.functional.one_hot(T.tensor([1, 2], dtype=T.int32)),
    "one_hot_empty": lambda T: T.nn.functional.one_hot(T.tensor([], dtype=T.int64)),
    "sdpa_dtypes": lambda T: T.nn.functional.scaled_dot_product_attention(
        T.ones(2, 3, 4), T.ones(2, 3, 4), T.ones(2, 3, 4, dtype=T.float64)),
    "sdpa_mask_and_causal": lambda T: T.nn.functional.scaled_dot_product_attention(
        T.ones(2, 3, 4), T.ones(2, 3, 4), T.ones(2, 3, 4), attn_mask=T.ones(3, 3),
        is_causal=True),
    "sdpa_mask_dtype": lambda T: T.nn.functional.scaled_dot_product_attention(
        T.ones(2, 3, 4), T.ones(2, 3, 4), T.ones(2, 3, 4),
        attn_mask=T.ones(3, 3, dtype=T.int64)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors(name):
    same(ERRORS[name])


# ---- warnings, reductions, legacy flags ----
def test_size_mismatch_warns_and_broadcasts():
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        same(lambda T, name=name: getattr(T.nn.functional, name)(_t(T, X, True), _t(T, Y[0])))


def test_kl_div_mean_warns():
    same(lambda T: T.nn.functional.kl_div(_t(T, X, True), _t(T, Y).abs()))


def test_legacy_reduction_flags():
    same(lambda T: T.nn.functional.mse_loss(_t(T, X, True), _t(T, Y), size_average=False))
    same(lambda T: T.nn.functional.l1_loss(_t(T, X, True), _t(T, Y), reduce=False))
    same(lambda T: T.nn.functional.kl_div(_t(T, X, True), _t(T, Y).abs(), reduce=False))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_huber_weight_reductions(reduction):
    same(lambda T: T.nn.functional.huber_loss(_t(T, X, True), _t(T, Y), reduction=reduction,
                                              weight=_t(T, Y).abs() + 0.5))


def test_integer_inputs_give_float():
    same(lambda T: T.nn.functional.pairwise_distance(T.ones(3, dtype=T.int64),
                                                     T.zeros(3, dtype=T.int64)))
    same(lambda T: T.cosine_similarity(T.ones(3, dtype=T.int64), T.ones(3), dim=0))


# ---- kinks, ties, zeros ----
def test_l1_and_smooth_l1_at_zero_difference():
    same(_grad_of(lambda T, x: T.nn.functional.l1_loss(x, _t(T, X), reduction="none")))
    same(_grad_of(lambda T, x: T.nn.functional.smooth_l1_loss(x, _t(T, X), reduction="none")))


def test_smooth_l1_and_huber_at_the_seam():
    # |x - y| == beta / delta exactly: both sides' slopes agree there.
    same(_grad_of(lambda T, x: T.nn.functional.smooth_l1_loss(x, x.detach() - 0.5, beta=0.5)))
    same(_grad_of(lambda T, x: T.nn.functional.huber_loss(x, x.detach() + 0.5, delta=0.5)))


def test_bce_at_zero_and_one():
    def run(T):
        x = _t(T, [0.0, 1.0, 0.5], True)
        out = T.nn.functional.binary_cross_entropy(x, _t(T, [1.0, 0.0, 1.0]), reduction="none")
        out.sum().backward()
        return out, x.grad
    same(run)


def test_bce_with_logits_large_inputs_stable():
    def run(T):
        x = _t(T, [1e3, -1e3, 30.0, -30.0], True)
        out = T.nn.functional.binary_cross_entropy_with_logits(
            x, _t(T, [0.0, 1.0, 0.5, 1.0]), pos_weight=_t(T, [2.0] * 4), reduction="none")
        out.sum().backward()
        return out, x.grad
    same(run)


def test_soft_margin_large_inputs_stable():
    same(_grad_of(lambda T, x: T.nn.functional.soft_margin_loss(x * 1e3, _t(T, Y).sign())))


def test_cdist_zero_distance_gradient_is_zero():
    def run(T):
        x = T.zeros(2, 3, dtype=T.float64, requires_grad=True)
        d = T.cdist(x, x)
        d.sum().backward()
        return d, x.grad
    same(run)


def test_cosine_similarity_tiny_norm_clamped():
    def run(T):
        x = _t(T, [[1e-10, 0.0], [1.0, 2.0]], True)
        out = T.nn.functional.cosine_similarity(x, _t(T, [[1.0, 1.0], [2.0, 1.0]]))
        out.sum().backward()
        return out, x.grad
    same(run, rtol=1e-5)


def test_pairwise_distance_p0_has_no_gradient():
    def run(T):
        x = _t(T, X, True)
        out = T.nn.functional.pairwise_distance(x, _t(T, Y), p=0)
        return out, T.autograd.grad(out.sum(), x, allow_unused=True)
    same(run)


def test_cdist_large_uses_matmul_form():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 27, 3)), rng.normal(size=(1, 4, 3))

    def run(T):
        x = _t(T, a, True)
        out = T.cdist(x, _t(T, b))
        out.sum().backward()
        return out, x.grad
    same(run)


def test_cross_entropy_probs_sum_graph():
    same(lambda T: T.nn.functional.cross_entropy(_t(T, X, True), _t(T, Y).softmax(1),
                                                 reduction="sum"))


def test_normalize_out():
    def run(T):
        out = T.empty(3, 4, dtype=T.float64)
        res = T.nn.functional.normalize(_t(T, X), p=1.0, out=out)
        return res, out
    same(run)


# ---- empty inputs, one_hot ----
def test_empty_inputs():
    same(lambda T: T.cdist(T.ones(0, 2), T.ones(3, 2)))
    same(lambda T: T.nn.functional.pdist(T.ones(1, 2)))
    same(lambda T: T.nn.functional.mse_loss(T.ones(0, 2), T.ones(0, 2)))
    same(lambda T: T.nn.functional.l1_loss(T.ones(0), T.ones(0), reduction="sum"))


@pytest.mark.parametrize("call", [
    lambda T: T.nn.functional.one_hot(T.tensor([0, 2, 1])),
    lambda T: T.nn.functional.one_hot(T.tensor([[0, 2], [1, 1]]), 4),
    lambda T: T.nn.functional.one_hot(T.tensor(2), 3),
    lambda T: T.nn.functional.one_hot(T.tensor([], dtype=T.int64), 3),
])
def test_one_hot(call):
    same(call)


# ---- classification losses: K-dim targets, weights, ignore_index ----
def test_nll_loss_kdim_all_ignored_is_nan():
    same(lambda T: T.nn.functional.nll_loss(T.zeros(2, 3, 2), T.full((2, 2), -100)))


def test_nll_loss_5d():
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(2, 3, 2, 2, 2)), rng.integers(0, 3, size=(2, 2, 2, 2))
    same(lambda T: T.nn.functional.nll_loss(_t(T, x, True), T.tensor(t), reduction="none"))


def test_cross_entropy_probs_kdim_none():
    rng = np.random.default_rng(1)
    x, p = rng.normal(size=(2, 3, 2)), rng.uniform(size=(2, 3, 2))
    same(lambda T: T.nn.functional.cross_entropy(_t(T, x, True), _t(T, p), reduction="none",
                                                 label_smoothing=0.3))


# ---- attention ----
def test_sdpa_fully_masked_row_is_zero():
    def run(T):
        q = _t(T, np.arange(12.0).reshape(1, 1, 3, 4) / 10, True)
        m = T.tensor([[True, False, True], [False, False, False], [True, True, True]])
        out = T.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=m)
        out.sum().backward()
        return out, q.grad
    same(run)


@pytest.mark.parametrize("shape", [(1, 0), (2, 0), (1, 1, 3, 0)])
def test_sdpa_without_features(shape):
    # no features: the default scale is 1/sqrt(0), yet the scores are 0, so each query takes
    # the mean of the values (found by tests/fuzz)
    def run(T):
        q = T.zeros(shape, dtype=T.float64, requires_grad=True)
        v = _t(T, np.arange(shape[-2] * 3.0).reshape(*shape[:-1], 3), True)
        out = T.nn.functional.scaled_dot_product_attention(q, q, v)
        out.sum().backward()
        e = q.detach()
        return out, q.grad, v.grad, T.nn.functional.scaled_dot_product_attention(e, e, e)
    same(run)


def test_sdpa_float_mask_gradient():
    def run(T):
        q = _t(T, np.arange(12.0).reshape(1, 2, 3, 2) / 10, True)
        m = _t(T, np.linspace(-1, 1, 9).reshape(3, 3), True)
        out = T.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=m)
        out.sum().backward()
        return out, q.grad, m.grad
    same(run)


def test_sdpa_no_grad_and_causal_rectangular():
    q = np.linspace(-1, 1, 24).reshape(2, 3, 4)
    k = np.linspace(1, -1, 16).reshape(2, 2, 4)
    same(lambda T: T.nn.functional.scaled_dot_product_attention(
        _t(T, q), _t(T, k), _t(T, k), is_causal=True))
    same(lambda T: T.nn.functional.scaled_dot_product_attention(
        _t(T, k), _t(T, q), _t(T, q), is_causal=True))


def test_sdpa_dropout_keeps_shape_and_scale():
    import ember

    q = ember.ones(2, 3, 4)
    out = ember.nn.functional.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert out.shape == (2, 3, 4)
    # each weight is 1/3, kept ones scaled by 2: outputs are multiples of 2/3
    np.testing.assert_allclose(np.round(out._data * 1.5), out._data * 1.5, atol=1e-5)


# ---- ctc_loss ----
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_raw_log_probs(reduction, zero_infinity):
    def run(T):
        lp, t, il, tl = _ctc_args(T, True)
        out = T.nn.functional.ctc_loss(lp, t, T.tensor([2, 4]), tl, reduction=reduction,
                                       zero_infinity=zero_infinity)
        grad = T.autograd.grad(out.sum(), lp)[0] if zero_infinity else None
        return out, grad
    same(run)


def test_ctc_loss_concatenated_targets_and_tuple_lengths():
    def run(T):
        lp = _ctc_args(T, True)[0]
        out = T.nn.functional.ctc_loss(lp.log_softmax(2), T.tensor([1, 2, 2, 3, 1]), (5, 4),
                                       (3, 2), reduction="none")
        out.sum().backward()
        return out, lp.grad
    same(run)


def test_ctc_loss_unbatched_and_empty_target():
    def run(T):
        lp = _ctc_args(T, True)[0][:, 0]
        out = T.nn.functional.ctc_loss(lp.log_softmax(1), T.tensor([], dtype=T.int64),
                                       T.tensor(5), T.tensor(0), reduction="none")
        out.backward()
        return out, lp.grad
    same(run)


# ---- the classifier fast paths (nll_loss forward and backward, log_softmax backward) ----
# NOTE: the plain case (2-D input, class indices in range, no weight, none ignored, no graph
# being built) runs on arrays; these check it against PyTorch and, bit for bit, against the
# general path (forced by all-ones weights and create_graph=True, which give the same values).

@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("ignore_index", [-100, 2, 9])
def test_cross_entropy_fast_path(reduction, ignore_index):
    rng = np.random.default_rng(3)
    xs, ts = rng.standard_normal((32, 5)), rng.integers(0, 5, 32)

    def run(T):
        x = T.tensor(xs, requires_grad=True)
        loss = T.nn.functional.cross_entropy(x, T.tensor(ts), reduction=reduction,
                                             ignore_index=ignore_index)
        loss.backward()
        return loss, x.grad

    same(run)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_fast_path_is_the_general_path(reduction, dtype):
    import ember

    rng = np.random.default_rng(4)
    xs = rng.standard_normal((64, 7)).astype(dtype)
    ts = rng.integers(0, 7, 64)
    got = []
    for general in (False, True):
        x = ember.tensor(xs, requires_grad=True)
        weight = ember.ones(7, dtype=x.dtype) if general else None
        loss = ember.nn.functional.cross_entropy(x, ember.tensor(ts), weight=weight,
                                                 reduction=reduction)
        (g,) = ember.autograd.grad(loss, x, create_graph=general)
        got.append((loss.detach().numpy(), g.detach().numpy()))
    assert got[0][0].tobytes() == got[1][0].tobytes()
    assert got[0][1].tobytes() == got[1][1].tobytes()


def test_nll_loss_fast_path_zero_gradient_sign():
    """A zero upstream gradient leaves -0.0 at the targets, as PyTorch's kernel writes it.
    (With an ignored target the general path runs, which adds into zeros and leaves +0.0:
    a known difference in the sign of zero only.)"""
    def run(T):
        x = T.tensor(X, dtype=T.float64, requires_grad=True)
        loss = T.nn.functional.nll_loss(x, T.tensor([0, 3, 1]))
        (g,) = T.autograd.grad(loss * 0.0, x)
        return np.signbit(g.numpy()).tolist()

    same(run)


# NOTE: PyTorch broadcasts input and target (broadcast_tensors) before the regression kernels,
# so a 0-d operand promotes as a dimensioned one: float64 0-d with float16 1-d is float64.
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
@pytest.mark.parametrize("dtypes", [("float64", "float16"), ("float16", "float64"),
                                    ("float32", "float16"), ("float16", "float32")])
@pytest.mark.parametrize("zero_dim", ["input", "target"])
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_zero_dim_operand_promotes_as_broadcast(loss, dtypes, zero_dim, reduction):
    def run(T):
        x = T.tensor(-1.07 if zero_dim == "input" else [-1.07, 0.5], dtype=getattr(T, dtypes[0]),
                     requires_grad=True)
        y = T.tensor(-0.867 if zero_dim == "target" else [-0.867, 0.25],
                     dtype=getattr(T, dtypes[1]), requires_grad=True)
        out = getattr(T.nn.functional, loss)(x, y, reduction=reduction)
        return out, T.autograd.grad(out.sum(), (x, y))

    same(run)


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss"])
def test_zero_dim_operand_promotes_with_weight(loss):
    same(lambda T: getattr(T.nn.functional, loss)(
        T.tensor([-1.07, 0.5], dtype=T.float16), T.tensor(0.25, dtype=T.float64),
        weight=T.tensor([1.0, 2.0], dtype=T.float16)))


@pytest.mark.parametrize("dtypes", [("float16", "float32"), ("float32", "float64"),
                                    ("float64", "float16"), ("int64", "float32"),
                                    ("int64", "int64")])
def test_huber_result_has_the_input_dtype(dtypes):
    # PyTorch's kernel writes into a result of the input's dtype (computing in the promoted one)
    same(lambda T: T.nn.functional.huber_loss(
        T.tensor([0.3001, -1.5]).to(getattr(T, dtypes[0])),
        T.tensor([0.1, 0.25]).to(getattr(T, dtypes[1])), reduction="none"))


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss"])
def test_bool_target_backward(loss):
    # the fused kernels read a bool target as 0/1 (only the `-` operator rejects bool)
    def run(T):
        x = T.tensor([[-0.7089, 0.25]], dtype=T.float64, requires_grad=True)
        out = getattr(T.nn.functional, loss)(x, T.tensor([[False, True]]))
        return out, T.autograd.grad(out, x)
    same(run)


@pytest.mark.parametrize("dtypes", [("float64", "float32"), ("float16", "float64"),
                                    ("float64", "int64"), ("float32", "bool")])
@pytest.mark.parametrize("wants", ["input", "target", "both"])
def test_huber_backward_rejects_mixed_dtypes(dtypes, wants):
    def run(T):
        x = T.tensor([1.0, -0.25]).to(getattr(T, dtypes[0]))
        y = T.tensor([0.5, 1.0]).to(getattr(T, dtypes[1]))
        x.requires_grad_(wants != "target")
        if y.is_floating_point():
            y.requires_grad_(wants != "input")
        out = T.nn.functional.huber_loss(x, y)
        return out, T.autograd.grad(out, [t for t in (x, y) if t.requires_grad])
    same(run)


@pytest.mark.parametrize("loss", ["huber_loss", "smooth_l1_loss", "l1_loss", "mse_loss"])
def test_gradient_at_a_nan_difference(loss):
    # PyTorch's kernels test d < -beta and d > beta, so a NaN difference takes the inner
    # branch: a NaN gradient (found by tests/fuzz)
    def fn(T):
        x = T.tensor([0.5, 2.0, -3.0, 0.25], dtype=T.float64, requires_grad=True)
        t = T.tensor([float("nan"), 0.0, 0.0, 0.0], dtype=T.float64)
        g, = T.autograd.grad(getattr(T.nn.functional, loss)(x, t, reduction="sum"), x,
                             create_graph=True)
        if loss == "l1_loss":  # (PyTorch's second order is a ZeroTensor)
            return g
        # ... and no second order there (the double backward tests |d| <= beta)
        return g.detach(), T.autograd.grad(g.sum(), x, allow_unused=True)
    same(fn)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("loss", ["multi_margin_loss", "multilabel_margin_loss"])
def test_margin_losses_reject_half_types(loss, dtype):
    # their CPU kernels have no float16/bfloat16 version (found by tests/fuzz)
    def fn(T):
        x = T.ones(2, 2, dtype=getattr(T, dtype))
        t = T.tensor([0, 1]) if loss == "multi_margin_loss" else T.tensor([[0, -1], [1, -1]])
        return getattr(T.nn.functional, loss)(x, t)
    same(fn)


_MARGIN_TARGETS = [((2, 1), [0.0]), ((2, 1), [0.0, 0.0]), ((2, 1), np.zeros(2, "int32")),
                   ((0, 1), np.zeros(0, "float32")), ((0, 1), np.zeros(0, "int32")),
                   ((0, 1), np.zeros((0, 1), "float32")), ((2, 0), np.zeros((2, 0), "float32")),
                   ((1,), 0.0), ((1,), 0), ((), 0), ((), [0]), ((0,), np.zeros(0, "int64")),
                   ((2, 1, 1), np.zeros((2, 1, 1), "int64")), ((2,), np.zeros((1, 2), "int64"))]


@pytest.mark.parametrize("shape, target", _MARGIN_TARGETS)
@pytest.mark.parametrize("loss", ["multi_margin_loss", "multilabel_margin_loss"])
def test_margin_loss_target_checks(loss, shape, target):
    # the shape checks come first; the int64 target is required only of a non-empty batch
    # (the kernel reads it only then); a vector's multilabel target is any vector or 0-d
    # tensor of as many elements (found by tests/fuzz). Reduction "none": PyTorch's mean and
    # sum of an empty batch are uninitialised memory.
    def fn(T):
        return getattr(T.nn.functional, loss)(T.zeros(shape), T.tensor(target), reduction="none")
    same(fn)


@pytest.mark.parametrize("x, t", [([float("nan")], [0.5]), ([0.5], [float("nan")]),
                                  ([0.5, 2.0], [3.0, 0.5]), ([2.0, 0.5], [0.5, 3.0]),
                                  ([0.5, 0.5], [0.5, -1.0])])
def test_bce_range_checks(x, t):
    # each element's input, then its target, must lie in [0, 1]: the first bad element names
    # the tensor, and NaN is out of range (found by tests/fuzz)
    same(lambda T: T.nn.functional.binary_cross_entropy(T.tensor(x), T.tensor(t)))
