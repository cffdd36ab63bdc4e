"""``gradcheck`` / ``gradgradcheck``: compare analytical derivatives with finite differences.

Contract: PyTorch's signatures, defaults and failure messages. ``gradcheck`` builds the
numerical Jacobian of every differentiable input by central differences and compares it with
the analytical one (one VJP per output element; with ``check_forward_ad`` also one JVP per
input element through the ops' forward-mode rules). A failure raises ``GradcheckError`` naming
the output, the input and both Jacobians, or returns False with ``raise_exception=False``.

- ``fast_mode``: instead of whole Jacobians, compare the scalar ``v^T J u`` for random unit
  ``u`` (per input) and ``v`` (per output): one JVP by finite differences and one VJP; on a
  mismatch the slow comparison runs to show the Jacobians.
- ``nondet_tol``: the analytical Jacobian is computed twice and must agree within it.
- ``check_undefined_grad``: zero output gradients must give zero (or no) input gradients.
- ``check_batched_grad``: ``autograd.grad(..., is_grads_batched=True)`` must agree with one
  VJP per vector.
- ``check_grad_dtypes``: gradients must have their input's dtype.
``gradgradcheck`` runs ``gradcheck`` on the function ``(inputs, grad_outputs) -> VJP``, so it
checks second derivatives (random fixed ``grad_outputs`` that are themselves differentiable).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical derivatives differ."""


def _as_tuple(x):
    from ..tensor import Tensor

    return (x,) if isinstance(x, Tensor) else tuple(x)


def _is_tensor(t):
    from ..tensor import Tensor

    return isinstance(t, Tensor)


def _float_outputs(out):
    return tuple(o for o in _as_tuple(out) if _is_tensor(o) and o.is_floating_point())


def _differentiable_outputs(out):
    return tuple(o for o in _float_outputs(out) if o.requires_grad)


def _diff_inputs(inputs):
    return [k for k, t in enumerate(inputs) if _is_tensor(t) and t.requires_grad]


def _fmt(m, dtype):
    from ..creation import from_numpy

    return repr(from_numpy(np.ascontiguousarray(m, dtype=dtype)))


def _mismatch(o, i, numerical, analytical, dtype, forward=False):
    """PyTorch's report; the Jacobians print in the input's dtype, as PyTorch builds them."""
    mode = "computed with forward mode " if forward else ""
    return (f"Jacobian {mode}mismatch for output {o} with respect to input {i},\n"
            f"numerical:{_fmt(numerical, dtype)}\nanalytical:{_fmt(analytical, dtype)}\n")


# ---- Jacobians -----------------------------------------------------------------------------

def _evaluate(func, inputs):
    """The outputs the analytical side differentiates (those that require grad; all float
    outputs when none does), flattened."""
    outs = _float_outputs(func(*inputs))
    if any(o.requires_grad for o in outs):
        outs = [o for o in outs if o.requires_grad]
    return [o._data.astype(np.float64).reshape(-1).copy() for o in outs]


def _numerical_jacobians(func, inputs, eps):
    """``J[i][o]`` of shape (numel(output o), numel(input i)) by central differences."""
    n_out = len(_evaluate(func, inputs))
    jacs = []
    for t in inputs:
        if not (_is_tensor(t) and t.requires_grad):
            jacs.append(None)
            continue
        a = t._data  # perturbed in place, element by element, then restored
        cols = None
        for j, idx in enumerate(np.ndindex(a.shape)):
            orig = a[idx].item()
            a[idx] = orig + eps
            plus = _evaluate(func, inputs)
            a[idx] = orig - eps
            minus = _evaluate(func, inputs)
            a[idx] = orig
            if cols is None:
                cols = [np.zeros((plus[k].size, a.size)) for k in range(n_out)]
            for k in range(n_out):
                cols[k][:, j] = (plus[k] - minus[k]) / (2 * eps)
        if cols is None:
            sizes = [o.size for o in _evaluate(func, inputs)]
            cols = [np.zeros((s, 0)) for s in sizes]
        jacs.append(cols)
    return jacs


def _analytical_jacobians(outputs, inputs, check_dtypes=False):
    """``J[i][o]`` from one VJP per output element."""
    from ..creation import zeros_like
    from . import grad

    diff = _diff_inputs(inputs)
    xs = [inputs[k] for k in diff]
    jacs = {k: [np.zeros((o._data.size, inputs[k]._data.size)) for o in outputs] for k in diff}
    for n, out in enumerate(outputs):
        for row in range(out._data.size):
            g = zeros_like(out)
            g._data.reshape(-1)[row] = 1
            got = grad(out, xs, g, retain_graph=True, allow_unused=True)
            for k, x, gx in zip(diff, xs, got):
                if gx is None:
                    continue
                if check_dtypes and gx.dtype != x.dtype:
                    raise GradcheckError("Gradient has dtype mismatch")
                if gx.shape != x.shape:
                    raise GradcheckError("Analytical gradient has incorrect size")
                jacs[k][n][row, :] = gx._data.astype(np.float64).reshape(-1)
    return [jacs.get(k) for k in range(len(inputs))]


def _forward_jacobians(func, inputs):
    """``J[i][o]`` from one JVP per input element: ``func`` runs again on dual inputs for each,
    as PyTorch's check does (a custom Function's ``jvp`` may consume what its ``forward`` left
    on ``ctx``, so one recorded graph cannot serve every column)."""
    from ..creation import zeros_like
    from . import forward_ad as fw

    diff = _diff_inputs(inputs)
    jacs = {}
    for k in diff:
        cols = None
        for j in range(inputs[k]._data.size):
            tangent = zeros_like(inputs[k])
            tangent._data.reshape(-1)[j] = 1
            level = fw._enter_nested()
            try:
                args = list(inputs)
                args[k] = fw.make_dual(inputs[k], tangent, level=level)
                outputs = _float_outputs(func(*args))
                if cols is None:
                    cols = [np.zeros((o._data.size, inputs[k]._data.size)) for o in outputs]
                for n, o in enumerate(outputs):
                    t = fw.unpack_dual(o, level=level).tangent
                    if t is not None:
                        cols[n][:, j] = t._data.astype(np.float64).reshape(-1)
            finally:
                fw.exit_dual_level(level=level)
        if cols is None:  # an input with no elements
            cols = [np.zeros((o._data.size, 0)) for o in _float_outputs(func(*inputs))]
        jacs[k] = cols
    return [jacs.get(k) for k in range(len(inputs))]


# ---- the checks ----------------------------------------------------------------------------

def _check_inputs(inputs):
    any_grad = False
    for idx, t in enumerate(inputs):
        if _is_tensor(t) and t.requires_grad:
            if t._data.dtype not in (np.float64, np.complex128):
                warnings.warn(
                    f"Input #{idx} requires gradient and is not a double precision floating "
                    "point or complex. This check will likely fail if all the inputs are not "
                    "of double precision floating point or complex. ", UserWarning,
                    stacklevel=4)
            if t._data.size and any(st == 0 and sz > 1
                                    for st, sz in zip(t._data.strides, t._data.shape)):
                raise RuntimeError(
                    f"The {idx}th input has a dimension with stride 0. gradcheck only supports "
                    "inputs that are non-overlapping to be able to compute the numerical "
                    "gradients correctly. You should call .contiguous on the input before "
                    "passing it to gradcheck.")
            any_grad = True
    if not any_grad:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of them have requires_grad=True.")


def _compare(inputs, numerical, analytical, rtol, atol, forward=False):
    for i, (a_list, n_list) in enumerate(zip(analytical, numerical)):
        if a_list is None:
            continue
        for o, (a, n) in enumerate(zip(a_list, n_list)):
            if not np.allclose(a, n, rtol=rtol, atol=atol, equal_nan=True):
                raise GradcheckError(_mismatch(o, i, n, a, inputs[i]._data.dtype, forward))


_NONDET_NOTE = """

NOTE: If your op relies on non-deterministic operations i.e., it is listed here:
https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html
this failure might be expected.

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck.
If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `nondet_tol=<tol>` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_nondet_tol=<tol>`.
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_nondet_tol=<tol>`
"""


def _check_reentrant(outputs, inputs, first, nondet_tol):
    second = _analytical_jacobians(outputs, inputs)
    for a_list, b_list in zip(first, second):
        if a_list is None:
            continue
        for a, b in zip(a_list, b_list):
            if a.size and np.abs(a - b).max() > nondet_tol:
                raise GradcheckError(
                    "Backward is not reentrant, i.e., running backward with same input and "
                    "grad_output multiple times gives different values, although analytical "
                    "gradient matches numerical gradient.The tolerance for nondeterminism was "
                    f"{nondet_tol}." + _NONDET_NOTE)


def _check_undefined_grad(outputs, inputs):
    from ..creation import zeros_like
    from . import grad

    xs = [inputs[k] for k in _diff_inputs(inputs)]
    try:
        got = grad(outputs, xs, [zeros_like(o) for o in outputs], allow_unused=True,
                   retain_graph=True)
    except RuntimeError as e:
        raise GradcheckError(
            "Expected backward function to handle undefined output grads. Please look at "
            '"Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"'
        ) from e
    for g in got:
        if g is not None and not bool((g == 0).all()):
            raise GradcheckError(
                "Expected all input grads to be undefined or zero when all output grads are "
                'undefined or zero. Please look at "Notes about undefined output gradients" '
                'in "tools/autograd/derivatives.yaml"')


def _check_batched_grad(outputs, inputs):
    from ..ops.join import stack
    from ..random import randn_like
    from . import grad

    xs = [inputs[k] for k in _diff_inputs(inputs)]
    for o_idx, out in enumerate(outputs):
        vs = [randn_like(out) for _ in range(2)]
        expected = [grad(out, xs, v, retain_graph=True, allow_unused=True) for v in vs]
        try:
            result = grad(out, xs, stack(vs), retain_graph=True, allow_unused=True,
                          is_grads_batched=True)
        except RuntimeError as ex:
            raise GradcheckError(f"While computing batched gradients, got: {ex}") from ex
        for i_idx, res in enumerate(result):
            exp = [e[i_idx] for e in expected]
            if res is None or any(e is None for e in exp):
                continue
            if not np.allclose(res._data, stack(exp)._data):
                raise GradcheckError(
                    f"For output {o_idx} and input {i_idx}:\n\nbatched gradient computation "
                    "does not match the gradients computed one vector at a time.\n"
                    f"Got: {res}\nExpected: {stack(exp)}")


def _fast_check(func, inputs, outputs, eps, rtol, atol, check_backward, check_forward):
    """Compare ``v^T J u`` computed numerically (a JVP by central differences) and
    analytically (a VJP, or a JVP with forward mode) for random unit vectors."""
    from ..creation import from_numpy
    from . import grad

    rng = np.random.default_rng(0)
    diff = _diff_inputs(inputs)
    us = {}
    for k in diff:
        u = rng.standard_normal(inputs[k]._data.shape)
        us[k] = u / max(np.linalg.norm(u), 1e-300)
    vs = [rng.standard_normal(o._data.shape) for o in outputs]
    for k in diff:
        a = inputs[k]._data
        orig = a.copy()
        a[...] = orig + eps * us[k]
        plus = _evaluate(func, inputs)
        a[...] = orig - eps * us[k]
        minus = _evaluate(func, inputs)
        a[...] = orig
        for n, v in enumerate(vs):
            numerical = float(((plus[n] - minus[n]) / (2 * eps)) @ v.reshape(-1))
            if check_backward:
                gv = from_numpy(v.astype(outputs[n]._data.dtype))
                (gx,) = grad(outputs[n], inputs[k], gv, retain_graph=True, allow_unused=True)
                analytical = 0.0 if gx is None else float(
                    gx._data.astype(np.float64).reshape(-1) @ us[k].reshape(-1))
                if not np.isclose(analytical, numerical, rtol=rtol, atol=atol):
                    _slow_report(func, inputs, outputs, k, n, eps, forward=False)
            if check_forward:
                fwd = _forward_jacobians(func, inputs)[k][n]
                analytical = float(v.reshape(-1) @ fwd @ us[k].reshape(-1))
                if not np.isclose(analytical, numerical, rtol=rtol, atol=atol):
                    _slow_report(func, inputs, outputs, k, n, eps, forward=True)


def _slow_report(func, inputs, outputs, i, o, eps, forward):
    numerical = _numerical_jacobians(func, inputs, eps)[i][o]
    analytical = (_forward_jacobians(func, inputs) if forward
                  else _analytical_jacobians(outputs, inputs))[i][o]
    raise GradcheckError(_mismatch(o, i, numerical, analytical, inputs[i]._data.dtype, forward) +
                         "\nThe above quantities relating the numerical and analytical "
                         "jacobians are computed in fast mode (v^T J u for random unit u, v); "
                         "the Jacobians shown are the full ones.")


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """True if ``func``'s analytical derivatives match finite differences at ``inputs``.

    >>> x = ember.tensor([1., 2.], dtype=ember.float64, requires_grad=True)
    >>> ember.autograd.gradcheck(lambda t: (t ** 3).sum(), (x,))
    True
    """
    try:
        return _gradcheck(func, _as_tuple(inputs), eps, atol, rtol, nondet_tol,
                          check_undefined_grad, check_grad_dtypes, check_batched_grad,
                          check_forward_ad, check_backward_ad, fast_mode)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _gradcheck(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
               check_grad_dtypes, check_batched_grad, check_forward_ad, check_backward_ad,
               fast_mode):
    _check_inputs(inputs)
    outputs = _differentiable_outputs(func(*inputs))
    if not outputs:
        for cols in _numerical_jacobians(func, inputs, eps):
            if cols is not None and any(np.any(c != 0) for c in cols):
                raise GradcheckError("Numerical gradient for function expected to be zero")
        return True
    if fast_mode:
        _fast_check(func, inputs, outputs, eps, rtol, atol, check_backward_ad,
                    check_forward_ad)
    else:
        numerical = _numerical_jacobians(func, inputs, eps)
        if check_backward_ad:
            analytical = _analytical_jacobians(outputs, inputs, check_grad_dtypes)
            _compare(inputs, numerical, analytical, rtol, atol)
            _check_reentrant(outputs, inputs, analytical, nondet_tol)
        if check_forward_ad:
            _compare(inputs, numerical, _forward_jacobians(func, inputs), rtol, atol,
                     forward=True)
    if check_backward_ad and check_undefined_grad:
        _check_undefined_grad(outputs, inputs)
    if check_backward_ad and check_batched_grad:
        _check_batched_grad(outputs, inputs)
    return True


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
    diff = _diff_inputs(inputs)

    def first_order(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs = _differentiable_outputs(func(*ins))
        gs = grad(outs, [ins[k] for k in diff], gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_order, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     check_forward_ad=check_fwd_over_rev, check_backward_ad=check_rev_over_rev,
                     fast_mode=fast_mode)
