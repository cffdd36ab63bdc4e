"""Oracle tests for grad modes (no_grad, enable_grad, set_grad_enabled, inference_mode), detach,
requires_grad, retain_grad, tensor hooks and the rules for accumulating ``.grad``.

Each test runs the same code through ember and PyTorch (``same``) and compares results,
exceptions (class and message) and warnings.
"""

from __future__ import annotations

import threading

import pytest

import ember

from ..oracle import same, torch


@pytest.fixture(autouse=True)
def _no_mode_left_behind():
    """A test that leaves grad mode off (or inference mode on) would corrupt the ones after it:
    restore grad mode and fail that test instead."""
    yield
    left = (ember.is_grad_enabled(), torch.is_grad_enabled(),
            ember.is_inference_mode_enabled(), torch.is_inference_mode_enabled())
    ember.set_grad_enabled(True)
    torch.set_grad_enabled(True)
    assert left == (True, True, False, False), f"grad/inference mode left behind: {left}"


def _run_in_thread(target):
    th = threading.Thread(target=target)
    th.start()
    th.join()


# ---- no_grad / enable_grad / set_grad_enabled as context managers --------------------------

def test_no_grad_results_do_not_require_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        with T.no_grad():
            y = x * 2
            z = (x + y).exp()
        return y, z, y.is_leaf, y.grad_fn is None
    same(fn)


def test_no_grad_is_grad_enabled_inside_and_after():
    def fn(T):
        states = [T.is_grad_enabled()]
        with T.no_grad():
            states.append(T.is_grad_enabled())
        states.append(T.is_grad_enabled())
        return states
    same(fn)


def test_no_grad_enter_returns_none():
    def fn(T):
        with T.no_grad() as g:
            return g
    same(fn)


def test_factory_with_requires_grad_under_no_grad():
    def fn(T):
        with T.no_grad():
            a = T.ones(2, requires_grad=True)
            b = T.tensor([1., 2.], requires_grad=True)
        return a, b
    same(fn)


def test_enable_grad_inside_no_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        with T.no_grad():
            with T.enable_grad():
                y = x * 2
                inner = T.is_grad_enabled()
            z = x * 2
        return y, z, inner, T.is_grad_enabled()
    same(fn)


def test_nested_no_grad_enable_grad_no_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        states = []
        with T.no_grad():
            with T.enable_grad():
                with T.no_grad():
                    a = x * 2
                    states.append(T.is_grad_enabled())
                b = x * 2
                states.append(T.is_grad_enabled())
            states.append(T.is_grad_enabled())
        states.append(T.is_grad_enabled())
        return a.requires_grad, b.requires_grad, states
    same(fn)


def test_no_grad_restores_mode_after_exception():
    def fn(T):
        try:
            with T.no_grad():
                raise ValueError("boom")
        except ValueError:
            pass
        return T.is_grad_enabled()
    same(fn)


def test_set_grad_enabled_as_function_call():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        try:
            T.set_grad_enabled(False)
            off = T.is_grad_enabled()
            y = x * 2
        finally:
            T.set_grad_enabled(True)
        z = x * 2
        return off, T.is_grad_enabled(), y.requires_grad, z.requires_grad
    same(fn)


def test_set_grad_enabled_as_context_manager():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        with T.set_grad_enabled(False):
            y = x * 2
            inside = T.is_grad_enabled()
        with T.set_grad_enabled(True):
            z = x * 2
        return inside, T.is_grad_enabled(), y.requires_grad, z.requires_grad
    same(fn)


def test_set_grad_enabled_true_inside_no_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        with T.no_grad():
            with T.set_grad_enabled(True):
                y = x * 2
            after = T.is_grad_enabled()
        return y.requires_grad, after, T.is_grad_enabled()
    same(fn)


def test_set_grad_enabled_call_inside_no_grad_is_undone_on_exit():
    def fn(T):
        with T.no_grad():
            T.set_grad_enabled(True)
            inside = T.is_grad_enabled()
        return inside, T.is_grad_enabled()
    same(fn)


def test_set_grad_enabled_call_inside_enable_grad_is_undone_on_exit():
    def fn(T):
        try:
            T.set_grad_enabled(False)
            with T.enable_grad():
                T.set_grad_enabled(False)
                inside = T.is_grad_enabled()
            after = T.is_grad_enabled()
        finally:
            T.set_grad_enabled(True)
        return inside, after
    same(fn)


def test_set_grad_enabled_nested_context_managers():
    def fn(T):
        states = []
        with T.set_grad_enabled(False):
            states.append(T.is_grad_enabled())
            with T.set_grad_enabled(True):
                states.append(T.is_grad_enabled())
                with T.set_grad_enabled(False):
                    states.append(T.is_grad_enabled())
                states.append(T.is_grad_enabled())
            states.append(T.is_grad_enabled())
        states.append(T.is_grad_enabled())
        return states
    same(fn)


def test_in_place_on_non_leaf_under_no_grad_keeps_grad_fn():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        with T.no_grad():
            y.add_(1)
        y.sum().backward()
        return y, y._version, x.grad
    same(fn)


def test_autograd_grad_works_under_no_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = (x ** 2).sum()
        with T.no_grad():
            return T.autograd.grad(y, x)
    same(fn)


def test_grad_mode_inside_backward_hooks():
    def fn(T):
        seen = []
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * x
        y.register_hook(lambda g: seen.append(T.is_grad_enabled()))
        y.sum().backward(retain_graph=True)
        T.autograd.grad(y.sum(), x, create_graph=True)
        return seen
    same(fn)


# ---- decorators ---------------------------------------------------------------------------

def test_no_grad_decorator_with_parentheses():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)

        @T.no_grad()
        def f(t):
            return t * 2, T.is_grad_enabled()
        y, inside = f(x)
        return y, inside, T.is_grad_enabled()
    same(fn)


def test_no_grad_bare_decorator():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)

        @T.no_grad
        def f(t):
            return t * 2, T.is_grad_enabled()
        y, inside = f(x)
        return y, inside, T.is_grad_enabled()
    same(fn)


def test_decorator_keeps_name_and_doc():
    def fn(T):
        @T.no_grad()
        def f():
            """Doc."""
        @T.enable_grad()
        def g():
            """Other."""
        return f.__name__, f.__doc__, g.__name__, g.__doc__
    same(fn)


def test_enable_grad_decorator_inside_no_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)

        @T.enable_grad()
        def f(t):
            return t * 2
        with T.no_grad():
            y = f(x)
            after = T.is_grad_enabled()
        return y, after
    same(fn)


def test_enable_grad_bare_decorator():
    def fn(T):
        @T.enable_grad
        def f():
            return T.is_grad_enabled()
        with T.no_grad():
            return f(), T.is_grad_enabled()
    same(fn)


def test_set_grad_enabled_decorator_does_not_change_mode_at_definition():
    def fn(T):
        @T.set_grad_enabled(False)
        def f():
            return T.is_grad_enabled()
        after_definition = T.is_grad_enabled()
        T.set_grad_enabled(True)
        return after_definition, f(), T.is_grad_enabled()
    same(fn)


def test_no_grad_decorator_restores_after_exception():
    def fn(T):
        @T.no_grad()
        def f():
            raise KeyError("k")
        try:
            f()
        except KeyError:
            pass
        return T.is_grad_enabled()
    same(fn)


def test_no_grad_decorator_on_method():
    def fn(T):
        class M:
            @T.no_grad()
            def run(self, t):
                return t * 2
        x = T.tensor([1., 2.], requires_grad=True)
        return M().run(x)
    same(fn)


def test_no_grad_decorated_generator_keeps_mode_per_step():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)

        @T.no_grad()
        def gen():
            for i in range(3):
                yield (x * i).requires_grad, T.is_grad_enabled()
        steps = []
        for item in gen():
            steps.append((item, T.is_grad_enabled()))
        return steps
    same(fn)


def test_no_grad_decorated_generator_send():
    def fn(T):
        @T.no_grad()
        def gen():
            got = yield T.is_grad_enabled()
            got2 = yield (got, T.is_grad_enabled())
            yield (got2, T.is_grad_enabled())
        g = gen()
        a = next(g)
        b = g.send("one")
        between = T.is_grad_enabled()
        c = g.send("two")
        return a, b, between, c
    same(fn)


def test_enable_grad_decorated_generator_consumed_in_no_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)

        @T.enable_grad()
        def gen():
            yield (x * 2).requires_grad
            yield (x * 3).requires_grad
        with T.no_grad():
            out = [(v, T.is_grad_enabled()) for v in gen()]
        return out
    same(fn)


def test_no_grad_decorated_generator_close_and_throw():
    def fn(T):
        log = []

        @T.no_grad()
        def gen():
            try:
                while True:
                    try:
                        yield 1
                    except ValueError:
                        log.append(("caught", T.is_grad_enabled()))
            finally:
                log.append(("finally", T.is_grad_enabled()))
        g = gen()
        next(g)
        g.throw(ValueError("v"))
        g.close()
        return log, T.is_grad_enabled()
    same(fn)


# ---- thread locality ----------------------------------------------------------------------

def test_no_grad_does_not_leak_into_other_thread():
    def fn(T):
        seen = {}

        def worker():
            x = T.tensor([1., 2.], requires_grad=True)
            seen["enabled"] = T.is_grad_enabled()
            seen["requires_grad"] = (x * 2).requires_grad
        with T.no_grad():
            _run_in_thread(worker)
            main = T.is_grad_enabled()
        return seen, main
    same(fn)


def test_other_thread_no_grad_does_not_affect_this_thread():
    def fn(T):
        seen = {}

        def worker():
            T.set_grad_enabled(False)
            seen["worker"] = T.is_grad_enabled()
        _run_in_thread(worker)
        return seen, T.is_grad_enabled()
    same(fn)


def test_inference_mode_is_thread_local():
    def fn(T):
        seen = {}

        def worker():
            seen["inference"] = T.is_inference_mode_enabled()
            seen["is_inference"] = T.ones(2).is_inference()
        with T.inference_mode():
            _run_in_thread(worker)
        return seen
    same(fn)


def test_backward_in_other_thread():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = (x * x).sum()
        _run_in_thread(y.backward)
        return x.grad
    same(fn)


# ---- inference_mode -----------------------------------------------------------------------

def test_inference_mode_tensors():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        with T.inference_mode():
            y = x * 2
            c = T.ones(2)
            flags = T.is_inference_mode_enabled(), T.is_grad_enabled()
        return (y, y.is_inference(), c.is_inference(), x.is_inference(), flags,
                T.is_inference_mode_enabled(), T.is_grad_enabled())
    same(fn)


def test_inference_mode_decorator():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)

        @T.inference_mode()
        def f(t):
            return t * 2
        y = f(x)
        return y, y.is_inference()
    same(fn)


def test_inference_mode_bare_decorator():
    def fn(T):
        @T.inference_mode
        def f():
            return T.ones(2).is_inference(), T.is_grad_enabled()
        return f(), T.is_grad_enabled()
    same(fn)


def test_inference_mode_false_inside_inference_mode():
    def fn(T):
        with T.inference_mode():
            with T.inference_mode(False):
                t = T.ones(2)
                inner = T.is_inference_mode_enabled(), T.is_grad_enabled()
            outer = T.is_inference_mode_enabled(), T.is_grad_enabled()
        return t.is_inference(), inner, outer
    same(fn)


def test_inference_mode_false_inside_no_grad():
    def fn(T):
        with T.no_grad():
            with T.inference_mode(False):
                inner = T.is_grad_enabled()
        return inner
    same(fn)


def test_inference_tensor_saved_for_backward_errors():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        with T.inference_mode():
            c = T.tensor([3., 4.])
        return x * c
    same(fn)


def test_inference_tensor_in_op_that_saves_nothing():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        with T.inference_mode():
            c = T.tensor([3., 4.])
        y = x + c
        y.sum().backward()
        return y, y.is_inference(), x.grad
    same(fn)


def test_inference_tensor_in_place_outside_inference_mode_errors():
    def fn(T):
        with T.inference_mode():
            c = T.tensor([3., 4.])
        c.add_(1)
    same(fn)


def test_inference_tensor_in_place_outside_under_no_grad_errors():
    def fn(T):
        with T.inference_mode():
            c = T.tensor([3., 4.])
        with T.no_grad():
            c.mul_(2)
    same(fn)


def test_inference_tensor_in_place_inside_inference_mode_ok():
    def fn(T):
        with T.inference_mode():
            c = T.tensor([3., 4.])
            c.add_(1)
        return c
    same(fn)


def test_inference_tensor_version_errors():
    def fn(T):
        with T.inference_mode():
            c = T.tensor([3., 4.])
        return c._version
    same(fn)


def test_inference_tensor_requires_grad_outside_errors():
    def fn(T):
        with T.inference_mode():
            c = T.tensor([3., 4.])
        c.requires_grad_()
    same(fn)


def test_inference_tensor_clone_outside_is_normal():
    def fn(T):
        with T.inference_mode():
            c = T.tensor([3., 4.])
        d = c.clone()
        d.add_(1)
        return d, d.is_inference(), (d * 2).is_inference()
    same(fn)


def test_requires_grad_tensor_created_in_inference_mode():
    def fn(T):
        with T.inference_mode():
            c = T.ones(2, requires_grad=True)
            d = c * 2
        return c, c.is_inference(), d, d.is_inference()
    same(fn)


def test_view_of_normal_tensor_in_inference_mode():
    def fn(T):
        x = T.tensor([1., 2., 3.])
        with T.inference_mode():
            v = x[1:]
            w = x * 1
        return v.is_inference(), w.is_inference()
    same(fn)


# ---- numpy and requires_grad ---------------------------------------------------------------

def test_numpy_on_tensor_requiring_grad_errors():
    def fn(T):
        return T.tensor([1., 2.], requires_grad=True).numpy()
    same(fn)


def test_numpy_on_non_leaf_requiring_grad_errors():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        return (x * 2).numpy()
    same(fn)


def test_numpy_after_detach_shares_memory():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        n = x.detach().numpy()
        n[0] = 5.
        return n, x
    same(fn)


def test_numpy_under_no_grad_result():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        with T.no_grad():
            return (x * 2).numpy()
    same(fn)


def test_requires_grad_on_int_tensor_method():
    same(lambda T: T.tensor([1, 2]).requires_grad_())


def test_requires_grad_on_int_tensor_setter():
    def fn(T):
        t = T.tensor([1, 2])
        t.requires_grad = True
    same(fn)


def test_requires_grad_false_on_int_tensor_is_fine():
    same(lambda T: T.tensor([1, 2]).requires_grad_(False))


def test_requires_grad_on_int_factory():
    same(lambda T: T.tensor([1, 2], requires_grad=True))


def test_requires_grad_on_int_ones_factory():
    same(lambda T: T.ones(2, dtype=T.int64, requires_grad=True))


def test_requires_grad_on_bool_tensor():
    same(lambda T: T.tensor([True]).requires_grad_())


def test_requires_grad_on_complex_tensor():
    def fn(T):
        t = T.tensor([1 + 2j]).requires_grad_()
        return t.requires_grad, t.is_leaf
    same(fn)


def test_requires_grad_method_returns_self():
    def fn(T):
        t = T.tensor([1., 2.])
        return t.requires_grad_() is t, t
    same(fn)


def test_requires_grad_setter_false_on_non_leaf():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        y.requires_grad = False
    same(fn)


def test_requires_grad_method_false_on_non_leaf():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        (x * 2).requires_grad_(False)
    same(fn)


def test_requires_grad_setter_true_on_non_leaf():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        y.requires_grad = True
    same(fn)


def test_requires_grad_method_true_on_non_leaf_is_fine():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        return y.requires_grad_() is y, y
    same(fn)


def test_requires_grad_false_on_leaf_stops_tracking():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        x.requires_grad_(False)
        y = x * 2
        return x, y
    same(fn)


def test_requires_grad_set_on_leaf_after_use():
    def fn(T):
        x = T.tensor([1., 2.])
        y = x * 2
        x.requires_grad_()
        z = x * 2
        return y, z
    same(fn)


# ---- detach / detach_ ----------------------------------------------------------------------

def test_detach_shares_storage():
    def fn(T):
        x = T.tensor([1., 2., 3.], requires_grad=True)
        d = x.detach()
        d[0] = 10.
        return x, d, d.requires_grad, d.is_leaf, d.grad_fn
    same(fn)


def test_detach_shares_version_counter():
    def fn(T):
        x = T.tensor([1., 2., 3.], requires_grad=True)
        d = x.detach()
        d.add_(1)
        d.mul_(2)
        return x._version, d._version
    same(fn)


def test_detach_of_non_leaf():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        d = y.detach()
        z = d * x
        z.sum().backward()
        return d, x.grad
    same(fn)


def test_functional_detach():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        return T.detach(x * 2)
    same(fn)


def test_detach_in_place_on_non_leaf():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        r = y.detach_()
        return r is y, y, y.is_leaf, y.grad_fn
    same(fn)


def test_detach_in_place_on_view_errors():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        y[0:1].detach_()
    same(fn)


def test_detach_in_place_on_view_of_leaf_errors():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        x.view(2, 1).detach_()
    same(fn)


def test_detach_in_place_on_leaf():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        x.detach_()
        return x, (x * 2).requires_grad
    same(fn)


# ---- retain_grad ---------------------------------------------------------------------------

def test_retain_grad_on_leaf_is_a_no_op():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        x.retain_grad()
        (x * 3).sum().backward()
        return x.retains_grad, x.grad
    same(fn)


def test_retain_grad_on_non_leaf():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 3
        before = y.retains_grad
        y.retain_grad()
        (y * y).sum().backward()
        return before, y.retains_grad, y.grad, x.grad
    same(fn)


def test_retained_grad_is_a_copy():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x.clone()
        y.retain_grad()
        y.sum().backward()
        y.grad.mul_(5)
        return y.grad, x.grad
    same(fn)


def test_retain_grad_on_tensor_not_requiring_grad():
    same(lambda T: T.tensor([1., 2.]).retain_grad())


def test_retain_grad_accumulates():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 3
        y.retain_grad()
        z = (y * y).sum()
        z.backward(retain_graph=True)
        z.backward()
        return y.grad, x.grad
    same(fn)


def test_retain_grad_twice_does_not_double():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 3
        y.retain_grad()
        y.retain_grad()
        y.sum().backward()
        return y.grad
    same(fn)


def test_retain_grad_then_in_place():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.mul_(3)
        (y * y).sum().backward()
        return y.retains_grad, y.grad, x.grad
    same(fn)


def test_retain_grad_on_view():
    def fn(T):
        x = T.tensor([1., 2., 3.], requires_grad=True)
        v = (x * 2)[1:]
        v.retain_grad()
        (v * v).sum().backward()
        return v.grad, x.grad
    same(fn)


def test_retain_grad_sees_hook_modified_grad_hook_first():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 3
        y.register_hook(lambda g: g * 2)
        y.retain_grad()
        y.sum().backward()
        return y.grad, x.grad
    same(fn)


def test_retain_grad_sees_hook_modified_grad_retain_first():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 3
        y.retain_grad()
        y.register_hook(lambda g: g * 2)
        y.sum().backward()
        return y.grad, x.grad
    same(fn)


def test_retain_grad_populated_by_autograd_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 3
        y.retain_grad()
        T.autograd.grad(y.sum(), x)
        return y.grad
    same(fn)


# ---- register_hook --------------------------------------------------------------------------

def test_hook_doubling_leaf_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        x.register_hook(lambda g: g * 2)
        (x * x).sum().backward()
        return x.grad
    same(fn)


def test_hook_doubling_non_leaf_grad_propagates():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 3
        y.register_hook(lambda g: g * 2)
        (y * y).sum().backward()
        return x.grad
    same(fn)


def test_hook_returning_none_observes():
    def fn(T):
        seen = []
        x = T.tensor([1., 2.], requires_grad=True)
        y = x.exp()
        y.register_hook(lambda g: seen.append(g.clone()))
        x.register_hook(lambda g: seen.append(g.clone()))
        (y * 2).sum().backward()
        return seen, x.grad
    same(fn)


def test_hook_removed_with_handle():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        h = x.register_hook(lambda g: g * 100)
        h.remove()
        (x * x).sum().backward()
        return x.grad
    same(fn)


def test_hook_removed_between_backwards():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        h = y.register_hook(lambda g: g * 10)
        z = y.sum()
        z.backward(retain_graph=True)
        first = x.grad.clone()
        h.remove()
        z.backward()
        return first, x.grad
    same(fn)


def test_hook_on_tensor_not_requiring_grad_errors():
    same(lambda T: T.tensor([1., 2.]).register_hook(lambda g: g))


def test_hooks_chain_in_registration_order():
    def fn(T):
        order = []
        x = T.tensor([1., 2.], requires_grad=True)

        def first(g):
            order.append(("first", g.tolist()))
            return g + 1

        def second(g):
            order.append(("second", g.tolist()))
            return g * 10
        x.register_hook(first)
        x.register_hook(second)
        (x * 2).sum().backward()
        return order, x.grad
    same(fn)


def test_hook_sees_summed_grad_once():
    def fn(T):
        seen = []
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        y.register_hook(lambda g: seen.append(g.tolist()))
        (y * y + y.exp()).sum().backward()
        return seen
    same(fn)


def test_leaf_hook_runs_on_each_backward():
    def fn(T):
        count = []
        x = T.tensor([1., 2.], requires_grad=True)
        x.register_hook(lambda g: count.append(1))
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        return len(count), x.grad
    same(fn)


def test_leaf_hook_applies_with_autograd_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        x.register_hook(lambda g: g * 10)
        return T.autograd.grad((x * 2).sum(), x)
    same(fn)


def test_non_leaf_hook_applies_with_autograd_grad_input():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        y.register_hook(lambda g: g * 10)
        return T.autograd.grad((y * 3).sum(), [y, x])
    same(fn)


def test_hook_grad_has_no_graph_without_create_graph():
    def fn(T):
        seen = []
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * x
        y.register_hook(lambda g: seen.append(g.requires_grad))
        x.register_hook(lambda g: seen.append(g.requires_grad))
        y.sum().backward()
        return seen
    same(fn)


def test_hook_changing_shape_errors():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        y.register_hook(lambda g: g.sum())
        (y * y).sum().backward()
    same(fn)


def test_hook_registered_on_leaf_after_use():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = (x * x).sum()
        x.register_hook(lambda g: g * 3)
        y.backward()
        return x.grad
    same(fn)


def test_post_accumulate_grad_hook():
    def fn(T):
        seen = []
        x = T.tensor([1., 2.], requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda p: seen.append((p is x, p.grad.tolist())))
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        return seen
    same(fn)


def test_post_accumulate_grad_hook_on_non_leaf_errors():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        (x * 2).register_post_accumulate_grad_hook(lambda p: None)
    same(fn)


def test_grad_fn_hooks():
    def fn(T):
        log = []
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 3
        y.grad_fn.register_prehook(lambda go: log.append(("pre", [g.tolist() for g in go])))
        y.grad_fn.register_hook(
            lambda gi, go: log.append(("post", [g.tolist() if g is not None else None
                                                 for g in gi])))
        (y * 2).sum().backward()
        return log, x.grad
    same(fn)


def test_grad_fn_prehook_replaces_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 3
        y.grad_fn.register_prehook(lambda go: (go[0] * 0 + 1,))
        (y * 5).sum().backward()
        return x.grad
    same(fn)


# ---- .grad accumulation rules ---------------------------------------------------------------

def test_grad_of_tensor_not_requiring_grad():
    def fn(T):
        x = T.tensor([1., 2.])
        return x.grad
    same(fn)


def test_grad_flags():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        (x * x).sum().backward()
        return x.grad.requires_grad, x.grad.is_leaf, x.grad.grad_fn
    same(fn)


def test_retained_grad_no_warning():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        y = x * 2
        y.retain_grad()
        g_before = y.grad
        y.sum().backward()
        return g_before, y.grad
    same(fn)


def test_grad_zero_then_accumulate():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        (x * x).sum().backward()
        g = x.grad
        x.grad.zero_()
        (x * 3).sum().backward()
        return x.grad, x.grad is g
    same(fn)


def test_assign_grad_wrong_shape():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        x.grad = T.zeros(3)
    same(fn)


def test_assign_grad_wrong_dtype():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        x.grad = T.zeros(2, dtype=T.float64)
    same(fn)


def test_assign_grad_not_a_tensor():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        x.grad = [1., 2.]
    same(fn)


def test_assign_grad_to_none():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        (x * 2).sum().backward()
        x.grad = None
        return x.grad
    same(fn)


def test_accumulate_into_user_grad_that_requires_grad():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        g = T.tensor([10., 10.], requires_grad=True)
        x.grad = g
        (x * 2).sum().backward()
        return x.grad is g, x.grad.requires_grad, x.grad.detach()
    same(fn)


def test_accumulate_into_user_grad_of_broadcast_view():
    def fn(T):
        x = T.tensor([1., 2., 3.], requires_grad=True)
        base = T.zeros(1)
        x.grad = base.expand(3)
        (x * 2).sum().backward()
        return x.grad, base
    same(fn)


def test_grad_accumulates_for_leaf_used_in_two_graphs():
    def fn(T):
        x = T.tensor([1., 2.], requires_grad=True)
        a = (x * 2).sum()
        b = (x ** 2).sum()
        a.backward()
        b.backward()
        return x.grad
    same(fn)


def test_grad_shape_of_broadcast_leaf():
    def fn(T):
        x = T.tensor([[1.], [2.]], requires_grad=True)
        (x * T.ones(2, 3)).sum().backward()
        return x.grad
    same(fn)


# views of inference tensors, taken inside and outside inference_mode (they have no version
# counter: view ops used to read it and fail with "'NoneType' object is not subscriptable")
_INFERENCE_VIEWS = {
    "split": lambda x: [a.is_inference() for a in x.split(2)],
    "split_dim": lambda x: [a.shape for a in x.split(2, dim=1)],
    "chunk": lambda x: x.chunk(2),
    "unbind": lambda x: x.unbind(),
    "view": lambda x: x.view(24),
    "view_of_view": lambda x: x[1:].view(18).is_inference(),
    "narrow": lambda x: x.narrow(0, 1, 2),
    "transpose": lambda x: x.transpose(0, 1).is_inference(),
    "index": lambda x: x[1:3, None],
    "expand_of_view": lambda x: x[0:1].expand(3, 6),
    "expand_as": lambda x: x[0].expand_as(x).is_inference(),
    "squeeze_of_view": lambda x: x.unsqueeze(0).squeeze(0),
    "detach": lambda x: (x.detach().is_inference(), x[0].detach().is_inference()),
    "grad_fn_of_view": lambda x: (x[0].grad_fn, x[0].requires_grad, x[0]._is_view()),
}


@pytest.mark.parametrize("name", sorted(_INFERENCE_VIEWS))
@pytest.mark.parametrize("inside", [True, False])
def test_views_of_inference_tensors(name, inside):
    def fn(T):
        with T.inference_mode():
            w = T.ones(6, 6, requires_grad=True)
            x = T.arange(24.).reshape(4, 6) @ w
            if inside:
                return _INFERENCE_VIEWS[name](x)
        return _INFERENCE_VIEWS[name](x)
    same(fn)


@pytest.mark.parametrize("op", ["setitem", "view_add_", "split_mul"])
def test_inference_views_outside_the_mode(op):
    def fn(T):
        with T.inference_mode():
            x = T.ones(4, 6)
        p = T.ones(2, 6, requires_grad=True)
        if op == "setitem":
            x[0] = 1.
        elif op == "view_add_":
            x[0].add_(1)
        else:
            (x.split(2)[0] * p).sum().backward()
        return x
    same(fn)
