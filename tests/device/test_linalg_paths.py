"""The linear-algebra ops' branches the op records' samples do not reach, on ``cuda`` (the
device checker without a GPU): empty inputs, failed factorisations (``*_ex`` status, errors),
every lstsq driver, the singular-matrix path of cond, the torch.* spellings, tolerance tensors.
Each gives the CPU's outputs bit for bit (values, dtypes, strides), on the device, the same
gradient of a weighted sum of its floating outputs, and the CPU's error where the CPU fails.
The records' own samples are the op sweep's (test_op_sweep.py)."""

from __future__ import annotations

import numpy as np
import pytest

import ember

from .helpers import tensors

RNG = np.random.default_rng(0)
SQ = RNG.uniform(-1, 1, (2, 3, 3)) + 3 * np.eye(3)
PD = SQ @ np.swapaxes(SQ, -1, -2) + np.eye(3)
NOT_PD = np.array([[1.0, 2.0], [2.0, 1.0]])
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
TALL = RNG.uniform(-1, 1, (2, 5, 3))
WIDE = RNG.uniform(-1, 1, (2, 3, 5))
RHS = RNG.uniform(-1, 1, (2, 5, 2))
EMPTY = np.zeros((0, 3))
EMPTY_BATCH = np.zeros((2, 0, 0))
TAU = RNG.uniform(0, 1, (2, 3))
LOWER = np.linalg.cholesky(PD[0])


def _lu_solve(T, a, b, left, adjoint):
    LU, piv = T.linalg.lu_factor(a)
    return T.linalg.lu_solve(LU, piv, b, left=left, adjoint=adjoint)


CASES = {
    # svd / qr / eigen: empty inputs, the non-finite error, the modes without a graph
    "svd_empty": (lambda T, a: T.linalg.svd(a), [EMPTY]),
    "svd_empty_reduced": (lambda T, a: T.linalg.svd(a, full_matrices=False), [EMPTY]),
    "svd_batch_empty": (lambda T, a: T.linalg.svd(a), [np.zeros((0, 2, 3))]),
    "svdvals_empty": (lambda T, a: T.linalg.svdvals(a), [EMPTY]),
    "svd_nan": (lambda T, a: T.linalg.svd(a), [np.array([[np.nan, 1.0], [0.0, 1.0]])]),
    "svd_no_uv": (lambda T, a: T.svd(a, compute_uv=False), [TALL]),
    "svd_wide": (lambda T, a: T.linalg.svd(a, full_matrices=False), [WIDE]),
    "qr_r": (lambda T, a: T.linalg.qr(a, mode="r"), [TALL]),
    "qr_r_empty": (lambda T, a: T.linalg.qr(a, mode="r"), [EMPTY]),
    "qr_complete": (lambda T, a: T.linalg.qr(a, mode="complete"), [TALL]),
    "eigvalsh_upper": (lambda T, a: T.linalg.eigvalsh(a, "U"), [PD]),
    "eigvals_empty": (lambda T, a: T.linalg.eigvals(a), [EMPTY_BATCH]),
    "eigvals_nograd": (lambda T, a: T.linalg.eigvals(a.detach()), [SQ]),
    # cholesky: the failure's error and the *_ex status (LAPACK's partial factor)
    "cholesky_not_pd": (lambda T, a: T.linalg.cholesky(a), [NOT_PD]),
    "cholesky_not_pd_batch": (lambda T, a: T.linalg.cholesky(a), [np.stack([np.eye(2), NOT_PD])]),
    "cholesky_ex_not_pd": (lambda T, a: T.linalg.cholesky_ex(a.detach()), [NOT_PD]),
    "cholesky_ex_upper": (lambda T, a: T.linalg.cholesky_ex(a.detach(), upper=True), [NOT_PD]),
    "cholesky_ex_pd": (lambda T, a: T.linalg.cholesky_ex(a.detach()), [PD]),
    "cholesky_ex_check": (lambda T, a: T.linalg.cholesky_ex(a, check_errors=True), [NOT_PD]),
    "cholesky_solve": (lambda T, b, l_: T.cholesky_solve(b, l_), [TALL[0, :3], LOWER]),
    "cholesky_inverse": (lambda T, l_: T.cholesky_inverse(l_), [LOWER]),
    # pinv / lstsq / rank / norms / cond
    "pinv_empty": (lambda T, a: T.linalg.pinv(a), [EMPTY]),
    "pinv_rtol_tensor": (lambda T, a, r: T.linalg.pinv(a, rtol=r), [TALL, np.array([0.1, 0.5])]),
    "lstsq_vector": (lambda T, a, b: T.linalg.lstsq(a, b), [TALL, RHS[..., 0]]),
    "lstsq_gels": (lambda T, a, b: T.linalg.lstsq(a, b, driver="gels"), [TALL, RHS]),
    "lstsq_gelsd": (lambda T, a, b: T.linalg.lstsq(a, b, driver="gelsd"), [TALL, RHS]),
    "lstsq_gelss": (lambda T, a, b: T.linalg.lstsq(a, b, driver="gelss"), [TALL, RHS]),
    "lstsq_empty": (lambda T, a, b: T.linalg.lstsq(a, b), [np.zeros((0, 2)), np.zeros((0, 1))]),
    "matrix_exp_empty": (lambda T, a: T.linalg.matrix_exp(a), [EMPTY_BATCH]),
    "matrix_exp_squaring": (lambda T, a: T.linalg.matrix_exp(a), [SQ[0] * 5]),
    "matrix_norm_nuc": (lambda T, a: T.linalg.matrix_norm(a, "nuc"), [TALL]),
    "matrix_norm_2_empty": (lambda T, a: T.linalg.matrix_norm(a, 2), [np.zeros((2, 0, 3))]),
    "matrix_norm_1_empty": (lambda T, a: T.linalg.matrix_norm(a, 1), [np.zeros((2, 3, 0))]),
    "matrix_rank": (lambda T, a: T.linalg.matrix_rank(a), [TALL]),
    "matrix_rank_hermitian": (lambda T, a: T.linalg.matrix_rank(a, hermitian=True), [PD]),
    "matrix_rank_empty": (lambda T, a: T.linalg.matrix_rank(a), [EMPTY]),
    "matrix_rank_atol_tensor": (lambda T, a, t: T.linalg.matrix_rank(a, atol=t.detach()),
                                [TALL, np.array([0.0, 0.5])]),
    "pinv_atol_tensor": (lambda T, a, t: T.linalg.pinv(a, atol=t.detach()),
                         [TALL, np.array([0.0, 0.5])]),
    "cond_empty": (lambda T, a: T.linalg.cond(a), [EMPTY_BATCH]),
    # LU: singular inputs (error, status), every solve form, empty
    "lu_factor_singular": (lambda T, a: T.linalg.lu_factor(a), [SINGULAR]),
    "lu_factor_ex_singular": (lambda T, a: T.linalg.lu_factor_ex(a.detach()), [SINGULAR]),
    "lu_factor_empty": (lambda T, a: T.linalg.lu_factor(a), [EMPTY_BATCH]),
    "lu_wide": (lambda T, a: T.linalg.lu(a), [WIDE]),
    "lu_tall": (lambda T, a: T.linalg.lu(a), [TALL]),
    **{f"lu_solve_{left}_{adjoint}": (
        lambda T, a, b, left=left, adjoint=adjoint: _lu_solve(T, a, b, left, adjoint),
        [SQ, RNG.uniform(-1, 1, (2, 3, 3))])
        for left in (True, False) for adjoint in (True, False)},
    "solve_triangular_broadcast": (
        lambda T, a, b: T.linalg.solve_triangular(a, b, upper=False, left=False),
        [SQ[0], RNG.uniform(-1, 1, (2, 2, 3))]),
    # Householder
    "geqrf_empty": (lambda T, a: T.geqrf(a), [EMPTY]),
    "householder_square": (lambda T, a, t: T.linalg.householder_product(a, t), [SQ, TAU]),
    "ormqr_right": (lambda T, a, t, c: T.ormqr(a, t, c, left=False, transpose=True),
                    [TALL, TAU, RNG.uniform(-1, 1, (2, 2, 5))]),
    # matrix-shaped helpers and products
    "diag_embed_offset": (lambda T, a: T.diag_embed(a, 1, 0, 2), [SQ]),
    "diagonal_scatter_dims": (lambda T, a, s: T.diagonal_scatter(a, s, -1, 1, 2),
                              [SQ, RNG.uniform(size=(2, 2))]),
    "block_diag_mixed_ranks": (lambda T, a, b, c: T.block_diag(a, b, c),
                               [SQ[0], np.ones(2), np.ones(())]),
    "tril_int": (lambda T, a: T.tril(a, -1), [np.arange(12).reshape(3, 4)]),
    "triu_int": (lambda T, a: T.triu(a, 1), [np.arange(12).reshape(3, 4)]),
    "trace_int": (lambda T, a: T.trace(a), [np.arange(9).reshape(3, 3)]),
    "trace_nograd": (lambda T, a: T.trace(a.detach()), [SQ[0]]),
    # (a factory: ``ref`` only names the device)
    "tril_indices_device": (lambda T, ref: T.tril_indices(3, 4, 1, device=ref.device),
                            [np.arange(1)]),
    "triu_indices_device": (lambda T, ref: T.triu_indices(4, 3, -1, device=ref.device),
                            [np.arange(1)]),
    "bmm_empty_mixed_dtypes": (lambda T, a, b: T.bmm(a, b.float()),
                               [np.zeros((2, 0, 3)), np.zeros((2, 3, 4))]),
    "addbmm_empty_batch": (lambda T, i, a, b: T.addbmm(i, a, b),
                           [np.ones((2, 4)), np.zeros((0, 2, 3)), np.zeros((0, 3, 4))]),
    "addbmm_half_beta0": (lambda T, i, a, b: T.addbmm(i.half(), a.half(), b.half(), beta=0),
                          [np.ones((2, 4)), np.ones((3, 2, 3)), np.ones((3, 3, 4))]),
    "dot_int": (lambda T, a, b: T.dot(a, b), [np.arange(3), np.arange(3)]),
    "vander_nograd": (lambda T, x: T.linalg.vander(x.detach(), N=4), [np.arange(3.0)]),
}


def _args(arrays, device=None):
    out = []
    for a in arrays:
        t = ember.tensor(a, device=device)
        out.append(t.requires_grad_() if a.dtype.kind == "f" else t)
    return out


def _run(fn, args):
    try:
        return fn(ember, *args), None
    except Exception as e:  # noqa: BLE001 - compared with the CPU's failure
        return None, e


def _same(cpu, dev, what):
    assert dev.device == ember.device("cuda", 0), f"{what}: on {dev.device}"
    assert dev.dtype == cpu.dtype, what
    assert dev.shape == cpu.shape and dev.stride() == cpu.stride(), what
    got, want = dev.detach().cpu().numpy(), cpu.detach().numpy()
    assert np.array_equal(got, want, equal_nan=got.dtype.kind in "fc"), \
        f"{what}: values differ from the CPU's"


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_linalg_path_on_device_matches_cpu(name):
    fn, arrays = CASES[name]
    cpu_args, dev_args = _args(arrays), _args(arrays, "cuda")
    cpu_out, cpu_err = _run(fn, cpu_args)
    dev_out, dev_err = _run(fn, dev_args)
    if cpu_err is not None:
        assert type(dev_err) is type(cpu_err) and str(dev_err) == str(cpu_err)
        return
    if dev_err is not None:
        raise dev_err
    cpu_ts, dev_ts = tensors(cpu_out), tensors(dev_out)
    assert len(cpu_ts) == len(dev_ts) > 0
    for k, (c, d) in enumerate(zip(cpu_ts, dev_ts)):
        _same(c, d, f"output {k}")
    diff = [(c, d) for c, d in zip(cpu_ts, dev_ts) if c.requires_grad]
    cpu_in = [a for a in cpu_args if a.requires_grad]
    dev_in = [a for a in dev_args if a.requires_grad]
    if not diff or not cpu_in:
        return
    weights = [RNG.uniform(0.5, 1.5, size=tuple(c.shape)) for c, _ in diff]
    cpu_loss = sum((c * ember.tensor(w, dtype=c.dtype)).sum() for (c, _), w in zip(diff, weights))
    dev_loss = sum((d * ember.tensor(w, dtype=d.dtype, device="cuda")).sum()
                   for (_, d), w in zip(diff, weights))
    cpu_g, cpu_err = _run(lambda T: T.autograd.grad(cpu_loss, cpu_in, allow_unused=True), [])
    dev_g, dev_err = _run(lambda T: T.autograd.grad(dev_loss, dev_in, allow_unused=True), [])
    if cpu_err is not None:  # (geqrf's backward, qr's in mode 'r'...)
        assert type(dev_err) is type(cpu_err) and str(dev_err) == str(cpu_err)
        return
    if dev_err is not None:
        raise dev_err
    for k, (c, d) in enumerate(zip(cpu_g, dev_g)):
        assert (c is None) == (d is None), f"grad {k}"
        if c is not None:
            _same(c, d, f"grad {k}")
