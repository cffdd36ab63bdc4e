"""Every op record through ``ember.compile``: each sample of tests/opinfo, called three times
through one compiled function (the first call traces, the later ones replay the recorded
program), must give eager's outputs bit for bit (same NumPy calls), the same dtypes and shapes,
the same gradients through the compiled outputs (on replays through
``CompiledFunctionBackward``), and the same failures (class and message). The same holds under
``no_grad``. A sample the compiler cannot trace runs eagerly (a graph break); every record that
breaks must be listed in ``EXPECTED_BREAKS`` with its reason, so the list documents what is not
compiled.

Cost: the first two samples of each record (most records have at most that many; the rest are
covered by tests/device and tests/ops): about 20 s for both variants.

Arguments: fresh tensors on every call, except the leaves that require grad (reused). Outputs
are read from ``_data`` (``test_zero_dim_outputs_hold_arrays`` checks
that a compiled call's outputs are tensors ``numpy()`` reads)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember._pytree import tree_flatten

from ..opinfo import RECORDS

SAMPLES_PER_RECORD = 2
CASES = [(rec, i) for rec in RECORDS
         for i, _ in enumerate(rec.samples(np.random.default_rng(0))) if i < SAMPLES_PER_RECORD]

def _ids(cases):
    """``name-i``, with pytest's ``_k`` suffix where records share a name."""
    ids = [f"{rec.name}-{i}" for rec, i in cases]
    seen: dict = {}
    dup = {x for x in ids if ids.count(x) > 1}
    out = []
    for x in ids:
        if x in dup:
            k = seen[x] = seen.get(x, -1) + 1
            x = f"{x}_{k}"
        out.append(x)
    return out


IDS = _ids(CASES)

# What breaks, by reason (a substring of the break's message). Each record below breaks in at
# least one of its samples (with or without grad): its calls then run eagerly, and the results
# must still be eager's. A record not listed must compile.
# - a backward rule reads a value into Python (a NaN or zero check, a loop bound, a fast path
#   taken when every value is finite...): a traced backward pass cannot guard on values; so
#   does a read after the call wrote into its state (a draw from the generator, an in-place op)
BACKWARD_READ = "or in its backward pass"
# - the output's shape depends on the values (nonzero, unique, masked_select, bincount...),
#   also inside kernels that use such calls for a fast path or a scatter
VALUE_SHAPED = "data-dependent output shape"
BOOL_MASK = "indexing with a boolean mask"
# - a kernel hands the array to code outside NumPy (SciPy on the host, np.asarray)
TO_NUMPY = "implicit conversion of a traced array to NumPy"
TO_HOST = "a traced array is copied to the host"
# - the result is a constant (a factory's, or a Python value computed from the inputs)
CONSTANT = "a constant tensor"
VALUE_READ = "reads a traced tensor's value"
# - the result is a view of an input (its view metadata and version counter are not replayed)
VIEW_OUT = "returns a view of its input"

EXPECTED_BREAKS: dict[str, tuple] = {
    # VIEW_OUT
    'H': (VIEW_OUT,),
    'T': (VIEW_OUT,),
    'adjoint': (VIEW_OUT,),
    'as_strided_expanded': (VIEW_OUT,),
    'as_strided_transposed': (VIEW_OUT,),
    'atleast_1d': (VIEW_OUT,),
    'atleast_2d': (VIEW_OUT,),
    'atleast_3d': (VIEW_OUT,),
    'broadcast_tensors': (VIEW_OUT,),
    'broadcast_to': (VIEW_OUT,),
    'chunk': (VIEW_OUT,),
    'diagonal': (VIEW_OUT,),
    'diagonal_neg': (VIEW_OUT,),
    'diagonal_offset': (VIEW_OUT,),
    'dsplit': (VIEW_OUT,),
    'einsum_diag': (VIEW_OUT,),
    'einsum_transpose': (VIEW_OUT,),
    'expand': (VIEW_OUT,),
    'expand_as': (VIEW_OUT,),
    'flatten': (VIEW_OUT,),
    'flatten_0d': (VIEW_OUT,),
    'getitem_ellipsis': (VIEW_OUT,),
    'getitem_int': (VIEW_OUT,),
    'getitem_mixed': (VIEW_OUT,),
    'getitem_slice': (VIEW_OUT,),
    'hsplit': (VIEW_OUT,),
    'linalg_diagonal': (VIEW_OUT,),
    'mH': (VIEW_OUT,),
    'mT': (VIEW_OUT,),
    'moveaxis': (VIEW_OUT,),
    'movedim': (VIEW_OUT,),
    'narrow': (VIEW_OUT,),
    'permute': (VIEW_OUT,),
    'ravel': (VIEW_OUT,),
    'ravel_0d': (VIEW_OUT,),
    'reshape': (VIEW_OUT,),
    'select': (VIEW_OUT,),
    'split': (VIEW_OUT,),
    'split_sizes': (VIEW_OUT,),
    'split_with_sizes': (VIEW_OUT,),
    'squeeze': (VIEW_OUT,),
    'squeeze_dim': (VIEW_OUT,),
    'squeeze_dims': (VIEW_OUT,),
    'swapaxes': (VIEW_OUT,),
    'swapdims': (VIEW_OUT,),
    't': (VIEW_OUT,),
    'tensor_split': (VIEW_OUT,),
    'tensor_split_empty_part': (VIEW_OUT,),
    'tensor_split_indices': (VIEW_OUT,),
    'transpose': (VIEW_OUT,),
    'unbind': (VIEW_OUT,),
    'unflatten': (VIEW_OUT,),
    'unfold': (VIEW_OUT,),
    'unfold_0d': (VIEW_OUT,),
    'unfold_step': (VIEW_OUT,),
    'unsqueeze': (VIEW_OUT,),
    'unsqueeze_0d': (VIEW_OUT,),
    'unsqueeze_neg': (VIEW_OUT,),
    'view': (VIEW_OUT,),
    'view_as': (VIEW_OUT,),
    'vsplit': (VIEW_OUT,),
    # BACKWARD_READ
    'maximum': (BACKWARD_READ,), 'minimum': (BACKWARD_READ,), 'abs': (BACKWARD_READ,),
    'prod': (BACKWARD_READ,), 'prod_dim': (BACKWARD_READ,), 'max': (BACKWARD_READ,),
    'max_dim': (BACKWARD_READ,), 'min_dim_keepdim': (BACKWARD_READ,), 'std_dim': (BACKWARD_READ,),
    'norm': (BACKWARD_READ,), 'norm_dim': (BACKWARD_READ,), 'norm_p1': (BACKWARD_READ,),
    'norm_p3': (BACKWARD_READ,), 'norm_inf': (BACKWARD_READ,),
    'getitem_index_list': (BACKWARD_READ,), 'cross_entropy': (BACKWARD_READ,),
    'cross_entropy_sum': (BACKWARD_READ,), 'cross_entropy_none': (BACKWARD_READ,),
    'cross_entropy_weight_ignore': (BACKWARD_READ,), 'cross_entropy_kdim_none': (BACKWARD_READ,),
    'cross_entropy_smoothing': (BACKWARD_READ,), 'cross_entropy_1d': (BACKWARD_READ,),
    'cross_entropy_kdim': (BACKWARD_READ,), 'nll_loss': (BACKWARD_READ,),
    'cumprod_': (BACKWARD_READ,), 'index_copy_': (BACKWARD_READ,),
    'index_fill_': (BACKWARD_READ,), 'put_': (BACKWARD_READ,), 'scatter_': (BACKWARD_READ,),
    'scatter__value': (BACKWARD_READ,), 'linalg_det': (BACKWARD_READ,), 'det': (BACKWARD_READ,),
    'linalg_slogdet': (BACKWARD_READ,), 'slogdet': (BACKWARD_READ,), 'logdet': (BACKWARD_READ,),
    'linalg_solve': (BACKWARD_READ,), 'linalg_solve_right': (BACKWARD_READ,),
    'linalg_svd': (BACKWARD_READ,), 'linalg_svd_full': (BACKWARD_READ,),
    'linalg_eigh': (BACKWARD_READ,), 'linalg_lstsq': (BACKWARD_READ,),
    'linalg_lstsq_gelsd': (BACKWARD_READ,), 'linalg_matrix_exp': (BACKWARD_READ,),
    'matrix_exp_large': (BACKWARD_READ,), 'linalg_matrix_norm_fro': (BACKWARD_READ,),
    'linalg_matrix_norm_1': (BACKWARD_READ,), 'linalg_matrix_norm_-1': (BACKWARD_READ,),
    'linalg_matrix_norm_inf': (BACKWARD_READ,), 'linalg_matrix_norm_-inf': (BACKWARD_READ,),
    'linalg_matrix_norm_dims': (BACKWARD_READ,), 'linalg_norm': (BACKWARD_READ,),
    'linalg_norm_ord': (BACKWARD_READ,), 'linalg_norm_dim': (BACKWARD_READ,),
    'linalg_solve_ex': (BACKWARD_READ,), 'svd': (BACKWARD_READ,),
    'linalg_cond_fro': (BACKWARD_READ,), 'linalg_cond_1': (BACKWARD_READ,),
    'linalg_tensorsolve': (BACKWARD_READ,), 'linalg_tensorsolve_dims': (BACKWARD_READ,),
    'linalg_vander': (BACKWARD_READ,), 'linalg_vander_n': (BACKWARD_READ,),
    'linalg_vector_norm': (BACKWARD_READ,), 'softsign': (BACKWARD_READ,),
    'embedding': (BACKWARD_READ,), 'torch_embedding': (BACKWARD_READ,),
    'pad_reflect': (BACKWARD_READ,), 'pad_reflect1d': (BACKWARD_READ,),
    'pad_replicate': (BACKWARD_READ,), 'pad_replicate3d': (BACKWARD_READ,),
    'pad_circular': (BACKWARD_READ,), 'interpolate_nearest': (BACKWARD_READ,),
    'interpolate_nearest_scale': (BACKWARD_READ,), 'interpolate_bilinear': (BACKWARD_READ,),
    'interpolate_bilinear_corners': (BACKWARD_READ,),
    'interpolate_bilinear_scale': (BACKWARD_READ,),
    'interpolate_bilinear_antialias': (BACKWARD_READ,),
    'interpolate_bicubic_antialias': (BACKWARD_READ,), 'interpolate_linear': (BACKWARD_READ,),
    'interpolate_trilinear': (BACKWARD_READ,), 'interpolate_nearest_exact': (BACKWARD_READ,),
    'interpolate_area': (BACKWARD_READ,), 'interpolate_bicubic': (BACKWARD_READ,),
    'interpolate_bicubic_corners': (BACKWARD_READ,), 'upsample': (BACKWARD_READ,),
    'upsample_nearest': (BACKWARD_READ,), 'upsample_bilinear': (BACKWARD_READ,),
    'grid_sample': (BACKWARD_READ,), 'grid_sample_border': (BACKWARD_READ,),
    'grid_sample_reflection': (BACKWARD_READ,), 'grid_sample_3d': (BACKWARD_READ,),
    'grid_sample_bicubic': (BACKWARD_READ,), 'grid_sample_bicubic_reflection': (BACKWARD_READ,),
    'grid_sample_nearest': (BACKWARD_READ,), 'lp_pool2d': (BACKWARD_READ,),
    'lp_pool1d': (BACKWARD_READ,), 'lp_pool2d_inf': (BACKWARD_READ,),
    'adaptive_avg_pool2d': (BACKWARD_READ,), 'adaptive_avg_pool2d_none': (BACKWARD_READ,),
    'adaptive_avg_pool1d': (BACKWARD_READ,), 'adaptive_avg_pool3d': (BACKWARD_READ,),
    'lp_pool3d': (BACKWARD_READ,), 'l1_loss_mean': (BACKWARD_READ,),
    'l1_loss_sum': (BACKWARD_READ,), 'l1_loss_none': (BACKWARD_READ,),
    'l1_loss_weight': (BACKWARD_READ,), 'smooth_l1_loss_beta0': (BACKWARD_READ,),
    'multilabel_soft_margin_loss': (BACKWARD_READ,),
    'multilabel_soft_margin_loss_weight_none': (BACKWARD_READ,),
    'triplet_margin_loss': (BACKWARD_READ,), 'triplet_margin_loss_p1_swap_none': (BACKWARD_READ,),
    'triplet_margin_with_distance_loss': (BACKWARD_READ,),
    'triplet_margin_with_distance_loss_default': (BACKWARD_READ,),
    'nll_loss_weight_ignore_sum': (BACKWARD_READ,), 'nll_loss_2d_weight': (BACKWARD_READ,),
    'cross_entropy_smoothing_weight_ignore_none': (BACKWARD_READ,),
    'cosine_similarity': (BACKWARD_READ,), 'cosine_similarity_dim': (BACKWARD_READ,),
    'pairwise_distance': (BACKWARD_READ,), 'pairwise_distance_p1_keepdim': (BACKWARD_READ,),
    'pairwise_distance_p3': (BACKWARD_READ,), 'cdist_p1': (BACKWARD_READ,),
    'cdist_p3': (BACKWARD_READ,), 'cdist_pinf': (BACKWARD_READ,), 'pdist': (BACKWARD_READ,),
    'pdist_p1_5': (BACKWARD_READ,), 'normalize': (BACKWARD_READ,),
    'normalize_p1_dim0': (BACKWARD_READ,), 'lgamma': (BACKWARD_READ,),
    'lgamma_negative': (BACKWARD_READ,), 'special_gammaln': (BACKWARD_READ,),
    'special_i0e': (BACKWARD_READ,), 'special_i1e': (BACKWARD_READ,),
    'mvlgamma': (BACKWARD_READ,), 'special_multigammaln': (BACKWARD_READ,),
    'inplace_abs_': (BACKWARD_READ,), 'inplace_absolute_': (BACKWARD_READ,),
    'inplace_lgamma_': (BACKWARD_READ,), 'inplace_mvlgamma_': (BACKWARD_READ,),
    'cumprod': (BACKWARD_READ,), 'cumprod_neg': (BACKWARD_READ,),
    'cumprod_one_zero': (BACKWARD_READ,), 'cumprod_two_zeros': (BACKWARD_READ,),
    'cummax': (BACKWARD_READ,), 'cummin': (BACKWARD_READ,), 'logcumsumexp': (BACKWARD_READ,),
    'logcumsumexp_neg_dim': (BACKWARD_READ,), 'logcumsumexp_wide': (BACKWARD_READ,),
    'sort': (BACKWARD_READ,), 'sort_descending': (BACKWARD_READ,),
    'sort_stable': (BACKWARD_READ,), 'msort': (BACKWARD_READ,), 'topk': (BACKWARD_READ,),
    'topk_smallest_dim0': (BACKWARD_READ,), 'kthvalue': (BACKWARD_READ,),
    'kthvalue_keepdim': (BACKWARD_READ,), 'median': (BACKWARD_READ,),
    'median_dim': (BACKWARD_READ,), 'median_dim_keepdim': (BACKWARD_READ,),
    'nanmedian_dim': (BACKWARD_READ,), 'prod_keepdim': (BACKWARD_READ,),
    'prod_one_zero': (BACKWARD_READ,), 'prod_two_zeros': (BACKWARD_READ,),
    'max_binary': (BACKWARD_READ,), 'std': (BACKWARD_READ,), 'std_mean': (BACKWARD_READ,),
    'std_mean_unbiased': (BACKWARD_READ,), 'norm_keepdim_dims': (BACKWARD_READ,),
    'getitem_tensor_slice': (BACKWARD_READ,), 'getitem_slice_tensor': (BACKWARD_READ,),
    'getitem_two_tensors': (BACKWARD_READ,), 'repeat_interleave_tensor': (BACKWARD_READ,),
    'gather': (BACKWARD_READ,), 'scatter': (BACKWARD_READ,), 'scatter_value': (BACKWARD_READ,),
    'index_select': (BACKWARD_READ,), 'index_copy': (BACKWARD_READ,),
    'index_fill': (BACKWARD_READ,), 'index_fill_tensor': (BACKWARD_READ,),
    'take': (BACKWARD_READ,), 'take_along_dim': (BACKWARD_READ,),
    'take_along_dim_flat': (BACKWARD_READ,), 'put': (BACKWARD_READ,),
    'gather_0d': (BACKWARD_READ,), 'index_select_0d': (BACKWARD_READ,),
    'take_0d': (BACKWARD_READ,), 'dist_p1': (BACKWARD_READ,), 'dist_inf': (BACKWARD_READ,),
    'quantile': (BACKWARD_READ,), 'quantile_dim': (BACKWARD_READ,),
    'quantile_q_tensor': (BACKWARD_READ,), 'quantile_midpoint': (BACKWARD_READ,),
    'quantile_nearest': (BACKWARD_READ,), 'nanquantile': (BACKWARD_READ,),
    'renorm_p1_dim1': (BACKWARD_READ,),
    # BOOL_MASK
    'getitem_bool_mask': (BOOL_MASK,), 'index_add_': (BOOL_MASK,),
    'index_put__accumulate': (BOOL_MASK,), 'index_reduce_': (BOOL_MASK,),
    'index_reduce__amax': (BOOL_MASK,), 'masked_scatter_': (BOOL_MASK,),
    'put__accumulate': (BOOL_MASK,), 'scatter_reduce__amin': (BOOL_MASK,),
    'setitem_mask': (BOOL_MASK,), 'embedding_bag': (BOOL_MASK,),
    'embedding_bag_sum_weights': (BOOL_MASK,), 'embedding_bag_max_2d': (BOOL_MASK,),
    'ctc_loss': (BOOL_MASK,), 'nanmedian': (BOOL_MASK,), 'index_put_accumulate': (BOOL_MASK,),
    'index_put_mask': (BOOL_MASK,), 'scatter_reduce_prod_True': (BOOL_MASK,),
    'scatter_reduce_prod_False': (BOOL_MASK,), 'scatter_reduce_amax_True': (BOOL_MASK,),
    'scatter_reduce_amax_False': (BOOL_MASK,), 'scatter_reduce_amin_True': (BOOL_MASK,),
    'scatter_reduce_amin_False': (BOOL_MASK,), 'index_reduce_prod_True': (BOOL_MASK,),
    'index_reduce_prod_False': (BOOL_MASK,), 'index_reduce_amax_True': (BOOL_MASK,),
    'index_reduce_amax_False': (BOOL_MASK,), 'index_reduce_amin_True': (BOOL_MASK,),
    'index_reduce_amin_False': (BOOL_MASK,), 'index_add': (BOOL_MASK,),
    'masked_select': (BOOL_MASK,), 'masked_scatter': (BOOL_MASK,), 'put_accumulate': (BOOL_MASK,),
    'masked_select_0d': (BOOL_MASK,), 'index_add_0d': (BOOL_MASK,),
    'unique_consecutive': (BOOL_MASK,),
    # CONSTANT
    'tril_indices': (CONSTANT,), 'triu_indices': (CONSTANT,), 'allclose': (CONSTANT,),
    'equal': (CONSTANT,),
    # TO_HOST
    'linalg_eigvals': (TO_HOST,), 'special_airy_ai': (TO_HOST,),
    # TO_NUMPY
    'adaptive_max_pool2d': (TO_NUMPY,), 'adaptive_max_pool2d_unbatched': (TO_NUMPY,),
    'adaptive_max_pool3d': (TO_NUMPY,), 'adaptive_max_pool1d': (TO_NUMPY,),
    'adaptive_max_pool1d_pair': (TO_NUMPY,), 'adaptive_max_pool1d_with_indices': (TO_NUMPY,),
    'adaptive_max_pool2d_with_indices': (TO_NUMPY,), 'digamma': (TO_NUMPY,),
    'polygamma_1': (TO_NUMPY,), 'polygamma_2': (TO_NUMPY,), 'polygamma_0': (TO_NUMPY,),
    'special_psi': (TO_NUMPY,), 'inplace_digamma_': (TO_NUMPY,),
    'inplace_polygamma_': (TO_NUMPY,),
    # VALUE_READ
    'cross_entropy_smoothing_weight_ignore_mean': (VALUE_READ,),
    'special_chebyshev_polynomial_t': (VALUE_READ,),
    'special_chebyshev_polynomial_u': (VALUE_READ,),
    'special_chebyshev_polynomial_v': (VALUE_READ,),
    'special_chebyshev_polynomial_w': (VALUE_READ,),
    'special_shifted_chebyshev_polynomial_t': (VALUE_READ,),
    'special_shifted_chebyshev_polynomial_u': (VALUE_READ,),
    'special_shifted_chebyshev_polynomial_v': (VALUE_READ,),
    'special_shifted_chebyshev_polynomial_w': (VALUE_READ,),
    'special_hermite_polynomial_h': (VALUE_READ,), 'special_hermite_polynomial_he': (VALUE_READ,),
    'special_laguerre_polynomial_l': (VALUE_READ,),
    'special_legendre_polynomial_p': (VALUE_READ,), 'histc': (VALUE_READ,),
    # VALUE_SHAPED
    'scatter_add_': (VALUE_SHAPED,), 'scatter_reduce_': (VALUE_SHAPED,), 'gelu': (VALUE_SHAPED,),
    'embedding_padding_freq': (VALUE_SHAPED,), 'max_pool2d_overlap': (VALUE_SHAPED,),
    'max_pool2d_ceil': (VALUE_SHAPED,), 'max_pool1d': (VALUE_SHAPED,),
    'max_pool3d': (VALUE_SHAPED,), 'F_max_pool1d_with_indices': (VALUE_SHAPED,),
    'multilabel_margin_loss': (VALUE_SHAPED,), 'multilabel_margin_loss_none': (VALUE_SHAPED,),
    'erf': (VALUE_SHAPED,), 'special_erf': (VALUE_SHAPED,), 'special_ndtr': (VALUE_SHAPED,),
    'inplace_erf_': (VALUE_SHAPED,), 'mode': (VALUE_SHAPED,), 'mode_dim0': (VALUE_SHAPED,),
    'scatter_add': (VALUE_SHAPED,), 'scatter_reduce_sum_True': (VALUE_SHAPED,),
    'scatter_reduce_sum_False': (VALUE_SHAPED,), 'scatter_reduce_mean_True': (VALUE_SHAPED,),
    'scatter_reduce_mean_False': (VALUE_SHAPED,), 'index_reduce_mean_True': (VALUE_SHAPED,),
    'index_reduce_mean_False': (VALUE_SHAPED,), 'scatter_add_0d': (VALUE_SHAPED,),
    'unique': (VALUE_SHAPED,), 'unique_dim': (VALUE_SHAPED,), 'nonzero': (VALUE_SHAPED,),
    'nonzero_tuple': (VALUE_SHAPED,), 'argwhere': (VALUE_SHAPED,), 'bincount': (VALUE_SHAPED,),
}
# as_strided's backward reads the view's geometry back from the values' layout (int()), and
# storage_offset is a Python int: these break for either reason
for _name in ("as_strided", "as_strided_", "as_strided_overlap", "as_strided_expanded",
              "as_strided_transposed", "storage_offset"):
    EXPECTED_BREAKS[_name] = EXPECTED_BREAKS.get(_name, ()) + (VIEW_OUT, BACKWARD_READ,
                                                               CONSTANT)

# Known compiler bugs (strict xfails: a fix makes them fail until the entry goes), keyed by
# (variant, case id); reported with minimal repros in the issue that added this file.
KNOWN_BUGS: dict[tuple[str, str], str] = {
}


def _sample(rec, i):
    return list(rec.samples(np.random.default_rng(0)))[i]


def _args(rec, sample):
    """Fresh tensors for one call: float arrays in float64, requiring grad unless ``nondiff``."""
    out = []
    for k, a in enumerate(sample):
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                t = ember.tensor(a, dtype=ember.float64)
                out.append(t.requires_grad_(k not in rec.nondiff))
            else:
                out.append(ember.tensor(a))
        else:
            out.append(a)
    return out


def _call(fn, args):
    """``fn(*args)`` with the default generator seeded (random ops draw the same numbers)."""
    ember.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args), None
        except Exception as e:  # noqa: BLE001 - compared with eager's failure
            return None, e


def _leaves(out):
    return tree_flatten(out)[0]


def _values(t):
    """``t``'s values as a NumPy array (read from ``_data``: whether a compiled call's 0-d
    outputs hold arrays, as ``numpy()`` needs, is ``test_zero_dim_outputs_hold_arrays``'s)."""
    return np.asarray(t.detach()._data)


def _same_tensor(got, want, what):
    assert isinstance(got, ember.Tensor), f"{what}: {type(got).__name__}, not a Tensor"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), f"{what}: shape {got.shape} != {want.shape}"
    g, w = _values(got), _values(want)
    assert np.array_equal(g, w, equal_nan=w.dtype.kind in "fc"), \
        f"{what}: values differ from eager's\n{g}\n{w}"


def _same_outputs(got, want, what):
    gl, wl = _leaves(got), _leaves(want)
    assert len(gl) == len(wl), f"{what}: {len(gl)} outputs, eager gave {len(wl)}"
    for k, (g, w) in enumerate(zip(gl, wl)):
        if isinstance(w, ember.Tensor):
            _same_tensor(g, w, f"{what} output {k}")
            assert g.requires_grad == w.requires_grad, f"{what} output {k}: requires_grad"
        else:
            assert type(g) is type(w) and (g == w or (g != g and w != w)), \
                f"{what} output {k}: {g!r} != {w!r}"


def _cotangents(outs):
    rng = np.random.default_rng(1)
    return [ember.tensor(rng.uniform(0.5, 1.5, size=tuple(o.shape))).to(o.dtype)
            for o in outs]


def _grads(rec, args, out):
    """Gradients of the differentiable outputs (fixed cotangents) w.r.t. the inputs that
    require grad; None when there is nothing to differentiate."""
    if not rec.gradcheck:
        return None
    outs = [o for o in _leaves(out) if isinstance(o, ember.Tensor) and o.requires_grad]
    ins = [a for a in args if isinstance(a, ember.Tensor) and a.requires_grad]
    if not outs or not ins:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (complex-to-real casts warn alike on both sides)
            return ember.autograd.grad(outs, ins, grad_outputs=_cotangents(outs),
                                       allow_unused=True), None
    except Exception as e:  # noqa: BLE001 - compared with eager's failure
        return None, e


def _same_error(got, want, what):
    assert got is not None, f"{what}: eager raised {want!r}, the compiled call did not"
    assert type(got) is type(want) and str(got) == str(want), \
        f"{what}: raised {got!r}, eager raised {want!r}"


def _breaks(cf):
    return [e.reason for e in cf._cache.values() if e.eager]


def _check_breaks(rec, cf):
    reasons = _breaks(cf)
    want = EXPECTED_BREAKS.get(rec.name)
    if want is not None and BACKWARD_READ in want:
        # (past a value guard, a backward rule may go on to a data-dependent step)
        want = want + (BOOL_MASK, VALUE_SHAPED, VALUE_READ)
    if want is not None and BOOL_MASK in want:
        # (the user's own x[mask], masked_select, unique...: their size depends on the values)
        want = want + (VALUE_SHAPED,)
    if want is None:
        assert not reasons, f"unexpected graph break: {reasons}"
    else:
        assert all(any(w in r for w in want) for r in reasons), \
            f"graph break for another reason than {want}: {reasons}"
    return reasons


def _sweep(rec, i, grad_mode):
    sample = _sample(rec, i)
    with ember.set_grad_enabled(grad_mode):
        args = _args(rec, sample)
        want, want_err = _call(lambda *a: rec.fn(ember, *a), args)
    want_grads = None
    if want_err is None and grad_mode:
        want_grads = _grads(rec, args, want)
    fn = lambda *a: rec.fn(ember, *a)  # noqa: E731 - the compiled function
    cf = ember.compile(fn)
    # NOTE: fresh copies of every argument on each call, except the leaves that require grad:
    # fresh ones make a new signature on every call today (test_fresh_leaves_replay), so the
    # later calls would trace again instead of replaying
    args = _args(rec, sample)
    for call in range(3):
        what = f"call {call + 1}"
        args = [a if isinstance(a, ember.Tensor) and a.requires_grad else b
                for a, b in zip(args, _args(rec, sample))]
        with ember.set_grad_enabled(grad_mode):
            got, err = _call(cf, args)
        if want_err is not None:
            _same_error(err, want_err, what)
            continue
        if err is not None:
            raise AssertionError(f"{what}: raised {err!r}; eager did not") from err
        _same_outputs(got, want, what)
        reasons = _check_breaks(rec, cf)
        if want_grads is None:
            continue
        got_grads = _grads(rec, args, got)
        if want_grads[1] is not None:
            _same_error(got_grads[1] if got_grads else None, want_grads[1], f"{what} grad")
            continue
        assert got_grads[1] is None, f"{what}: the gradient raised {got_grads[1]!r}"
        for k, (g, w) in enumerate(zip(got_grads[0], want_grads[0])):
            assert (g is None) == (w is None), f"{what} grad {k}: None differs"
            if w is not None:
                _same_tensor(g, w, f"{what} grad {k}")
        if call > 0 and not reasons:
            names = {type(o.grad_fn).__name__ for o in _leaves(got)
                     if isinstance(o, ember.Tensor) and o.grad_fn is not None}
            assert names <= {"CompiledFunctionBackward"}, \
                f"{what}: outputs' grad_fn {names}, not a replay"


def _params(variant):
    for (rec, i), cid in zip(CASES, IDS):
        bug = KNOWN_BUGS.get((variant, cid))
        marks = (pytest.mark.xfail(strict=True, reason=bug),) if bug else ()
        yield pytest.param(rec, i, id=cid, marks=marks)


@pytest.mark.parametrize("rec,i", list(_params("grad")))
def test_compiled_op_matches_eager(rec, i):
    _sweep(rec, i, grad_mode=True)


@pytest.mark.parametrize("rec,i", list(_params("no_grad")))
def test_compiled_op_matches_eager_no_grad(rec, i):
    _sweep(rec, i, grad_mode=False)


# ---- single behaviours the sweep relies on -----------------------------------------------------
def test_fresh_leaves_replay():
    cf = ember.compile(lambda x, y: x * y)
    for _ in range(3):
        x = ember.tensor([1.0, 2.0], requires_grad=True)
        y = ember.tensor([3.0, 4.0], requires_grad=True)
        out = cf(x, y)
    assert type(out.grad_fn).__name__ == "CompiledFunctionBackward"
    assert len(cf._cache) == 1


def test_zero_dim_outputs_hold_arrays():
    """The tracing call's 0-d outputs are tensors numpy() can read, as eager's and as the
    replays'."""
    cf = ember.compile(lambda x: x.sum())
    x = ember.tensor([0.0, 1.0, 2.0], requires_grad=True)
    for _ in range(2):
        out = cf(x)
        assert type(out._data) is np.ndarray
        assert out.detach().numpy() == 3.0


def test_replayed_backward_and_double_backward():
    """Replays give outputs whose node is CompiledFunctionBackward; its backward is eager's;
    a second-order gradient through it raises."""
    cf = ember.compile(lambda x: (x * x).tanh())
    x = ember.tensor([0.5, -1.0, 2.0], dtype=ember.float64, requires_grad=True)
    (want,) = ember.autograd.grad((x * x).tanh().sum(), x)
    for _ in range(3):
        out = cf(x)
        (got,) = ember.autograd.grad(out.sum(), x, retain_graph=True)
        _same_tensor(got, want, "grad")
    assert type(out.grad_fn).__name__ == "CompiledFunctionBackward"
    (g,) = ember.autograd.grad(out.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward"):
        ember.autograd.grad(g.sum(), x)


def test_sweep_catches_a_difference():
    """The comparison the sweep uses fails on a one-ulp difference."""
    a = ember.tensor([1.0], dtype=ember.float64)
    b = ember.tensor([np.nextafter(1.0, 2.0)], dtype=ember.float64)
    with pytest.raises(AssertionError):
        _same_tensor(a, b, "ulp")
