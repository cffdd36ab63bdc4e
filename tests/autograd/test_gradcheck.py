"""Oracle tests for ``gradcheck`` / ``gradgradcheck``: passing and failing functions, the
mismatch report, ``raise_exception``, input checks, ``fast_mode``, ``check_forward_ad``,
``nondet_tol``, ``check_undefined_grad``, ``check_batched_grad``, ``check_grad_dtypes``."""

from __future__ import annotations

import pytest

from ..oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def _wrong(T, factor=3.0, jvp_factor=None):
    """x**2 with a backward (and optionally a jvp) off by a factor."""
    class Wrong(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return factor * x * g

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return (jvp_factor or factor) * x * t

    return Wrong


def _x(T, n=3):
    return (T.arange(n, dtype=T.float64) * 0.5 + 0.25).requires_grad_()


def _result(T, call):
    try:
        return call()
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"


@pytest.mark.parametrize("fast", [False, True])
def test_passes_on_correct_functions(fast):
    def fn(T):
        gc = T.autograd.gradcheck
        x = _x(T)
        y = (T.arange(6, dtype=T.float64).reshape(2, 3) * 0.1).requires_grad_()
        return (gc(lambda a: (a ** 3).sin(), (x,), fast_mode=fast),
                gc(lambda a, b: (a * b).sum(1), (x, y), fast_mode=fast),
                gc(lambda a: (a.exp(), a.sum()), x, fast_mode=fast, check_forward_ad=True),
                T.autograd.gradgradcheck(lambda a: (a ** 3).sin(), (x,), fast_mode=fast))
    same(fn, warnings_too=False)  # PyTorch's forward-AD check warns about its jit internals


def test_mismatch_report():
    def fn(T):
        return _result(T, lambda: T.autograd.gradcheck(_wrong(T).apply, (_x(T),)))
    same(fn)


def test_raise_exception_false_returns_false():
    def fn(T):
        return T.autograd.gradcheck(_wrong(T).apply, (_x(T),), raise_exception=False)
    same(fn)


def test_fast_mode_detects_wrong_gradient():
    def fn(T):
        try:
            T.autograd.gradcheck(_wrong(T).apply, (_x(T),), fast_mode=True)
        except RuntimeError as e:
            return type(e).__name__, str(e).startswith(
                "Jacobian mismatch for output 0 with respect to input 0,\n")
        return None
    same(fn)


def test_forward_ad_mismatch_report():
    def fn(T):
        return _result(T, lambda: T.autograd.gradcheck(
            _wrong(T, factor=2.0, jvp_factor=5.0).apply, (_x(T),), check_forward_ad=True))
    same(fn)


def test_input_checks():
    def fn(T):
        gc = T.autograd.gradcheck
        res = [_result(T, lambda: gc(lambda a: a * 2, (_x(T).detach(),)))]
        res.append(_result(T, lambda: gc(lambda a: a * 2, (T.ones(3).expand(2, 3)
                                                          .double().requires_grad_(),))))
        res.append(gc(lambda a: a * 2, (T.tensor([1.0, 2.0], requires_grad=True),),
                      atol=1e-2, rtol=1e-2))
        return res
    same(fn)


def test_non_differentiable_output_needs_zero_numerical_gradient():
    def fn(T):
        gc = T.autograd.gradcheck
        return (gc(lambda a: (a > 1).double(), (_x(T),)),
                _result(T, lambda: gc(lambda a: (a * 2).detach(), (_x(T),))))
    same(fn)


def test_nondeterministic_backward():
    def fn(T):
        calls = [0]

        class Noisy(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                calls[0] += 1
                return g * (2 + 1e-9 * calls[0])

        gc = T.autograd.gradcheck
        return (_result(T, lambda: gc(Noisy.apply, (_x(T),))),
                gc(Noisy.apply, (_x(T),), nondet_tol=1e-6))
    same(fn)


def test_undefined_grad_check():
    def fn(T):
        class Bad(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2 + (g == 0).double()  # nonzero for a zero output gradient

        gc = T.autograd.gradcheck
        return (_result(T, lambda: gc(Bad.apply, (_x(T),))),
                gc(Bad.apply, (_x(T),), check_undefined_grad=False))
    same(fn, warnings_too=False)  # PyTorch also warns about backwards compatibility here


def test_grad_dtype_check():
    def fn(T):
        class F32(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return (g * 2).float()

        gc = T.autograd.gradcheck
        return (gc(F32.apply, (_x(T),), atol=1e-4),
                _result(T, lambda: gc(F32.apply, (_x(T),), check_grad_dtypes=True)))
    same(fn)


def test_batched_grad_check_passes():
    def fn(T):
        return T.autograd.gradcheck(lambda a: a.exp() * a,
                                    (_x(T),), check_batched_grad=True)
    same(fn, warnings_too=False)  # PyTorch's vmap fallback may warn about performance


def test_gradgradcheck_detects_wrong_second_derivative():
    def fn(T):
        class Sq(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x.detach() * g  # first order right, second order missing

        return T.autograd.gradgradcheck(Sq.apply, (_x(T),), raise_exception=False)
    same(fn)
