"""``gradcheck`` / ``gradgradcheck``: compare analytical gradients with finite differences.

Contract: PyTorch's signatures and defaults. ``gradcheck`` builds the numerical Jacobian by
central differences of every differentiable input (float64 inputs recommended) and the
analytical one row by row with ``autograd.grad``; a mismatch raises ``GradcheckError`` naming
the input, the output and both Jacobians (or returns False with ``raise_exception=False``).
``gradgradcheck`` does the same for the gradient function itself (second order), with random
fixed ``grad_outputs`` that are themselves checked as differentiable inputs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients differ."""


def _as_tuple(x):
    from ..tensor import Tensor

    return (x,) if isinstance(x, Tensor) else tuple(x)


def _differentiable_outputs(out):
    return tuple(o for o in _as_tuple(out) if o.requires_grad)


def _numerical_jacobians(func, inputs, eps):
    """J[i][o] of shape (numel(output o), numel(input i)) by central differences."""
    def evaluate():
        return [o._data.astype(np.float64).reshape(-1).copy()
                for o in _as_tuple(func(*inputs)) if o.is_floating_point()]

    n_out = len(evaluate())
    jacs = []
    for t in inputs:
        if not (hasattr(t, "_data") and t.requires_grad):
            jacs.append(None)
            continue
        a = t._data  # perturbed in place, element by element, then restored
        cols = None
        for j, idx in enumerate(np.ndindex(a.shape)):
            orig = a[idx].item()
            a[idx] = orig + eps
            plus = evaluate()
            a[idx] = orig - eps
            minus = evaluate()
            a[idx] = orig
            if cols is None:
                cols = [np.zeros((plus[k].size, a.size)) for k in range(n_out)]
            for k in range(n_out):
                cols[k][:, j] = (plus[k] - minus[k]) / (2 * eps)
        jacs.append(cols if cols is not None else [np.zeros((0, 0))] * n_out)
    return jacs


def _analytical_jacobians(outputs, inputs):
    from . import grad

    diff_inputs = [t for t in inputs if hasattr(t, "_data") and t.requires_grad]
    jacs = {id(t): [np.zeros((o._data.size, t._data.size)) for o in outputs]
            for t in diff_inputs}
    for k, out in enumerate(outputs):
        flat_n = out._data.size
        for row in range(flat_n):
            from ..creation import zeros_like

            g = zeros_like(out)
            g._data.reshape(-1)[row] = 1
            grads = grad(out, diff_inputs, g, retain_graph=True, allow_unused=True)
            for t, gt in zip(diff_inputs, grads):
                if gt is not None:
                    jacs[id(t)][k][row, :] = gt._data.astype(np.float64).reshape(-1)
    return [jacs.get(id(t)) if hasattr(t, "_data") and t.requires_grad else None
            for t in inputs]


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """True if ``func``'s analytical gradients match finite differences at ``inputs``."""
    inputs = _as_tuple(inputs)
    outputs = _differentiable_outputs(func(*inputs))
    if not outputs:
        return True
    analytical = _analytical_jacobians(outputs, inputs)
    numerical = _numerical_jacobians(func, inputs, eps)
    for i, (a_list, n_list) in enumerate(zip(analytical, numerical)):
        if a_list is None:
            continue
        for o, (a, n) in enumerate(zip(a_list, n_list)):
            if not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=True):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {o} with respect to input {i},\n"
                    f"numerical:{_fmt(n)}\nanalytical:{_fmt(a)}\n")
    return True


def _fmt(m):
    from ..creation import from_numpy

    return repr(from_numpy(np.ascontiguousarray(m)))


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """True if the second derivatives of ``func`` match finite differences of its gradient."""
    from ..creation import from_numpy
    from . import grad

    inputs = _as_tuple(inputs)
    outputs = _differentiable_outputs(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            from_numpy(rng.standard_normal(o._data.shape).astype(o._data.dtype))
            .requires_grad_(True) for o in outputs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_idx = [k for k, t in enumerate(inputs) if hasattr(t, "_data") and t.requires_grad]

    def first_order(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = _differentiable_outputs(func(*ins))
        diff = [ins[k] for k in diff_idx]
        gs = grad(outs, diff, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_order, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
