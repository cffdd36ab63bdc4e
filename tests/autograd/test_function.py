"""Oracle tests for custom ``autograd.Function``s: forward/backward, ctx API, setup_context
style, dirty and non-differentiable outputs, gradient-count and shape errors,
``once_differentiable`` and double backward through a Function written with library ops.
"""

from __future__ import annotations

from ..oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def _square(T):
    class Square(T.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    return Square


def test_apply_records_named_node_and_gradient():
    def fn(T):
        x = T.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = _square(T).apply(x)
        y.sum().backward()
        fn_ = y.grad_fn
        return (y, x.grad, fn_.name(), type(fn_).__name__, len(fn_.next_functions),
                fn_.next_functions[0][0].name())
    same(fn)


def test_relu_seed_example():
    def fn(T):
        class MyReLU(T.autograd.Function):
            @staticmethod
            def forward(ctx, input):
                ctx.save_for_backward(input)
                return input.clamp(min=0)

            @staticmethod
            def backward(ctx, grad_output):
                (input,) = ctx.saved_tensors
                grad_input = grad_output.clone()
                grad_input[input < 0] = 0
                return grad_input

        x = T.tensor([-1.5, 0, 1.5], requires_grad=True)
        y = MyReLU.apply(x)
        y.backward(T.tensor([1.0, 1.0, 1.0]))
        return y, x.grad
    same(fn)


def test_non_tensor_arguments_and_needs_input_grad():
    def fn(T):
        seen = []

        class Scale(T.autograd.Function):
            @staticmethod
            def forward(ctx, x, k, y):
                seen.append(ctx.needs_input_grad)
                ctx.k = k
                return x * k + y

            @staticmethod
            def backward(ctx, g):
                seen.append(ctx.needs_input_grad)
                return g * ctx.k, None, g

        x = T.ones(3, requires_grad=True)
        y = T.ones(3)
        out = Scale.apply(x, 2.0, y)
        out.sum().backward()
        fns = [f is None for f, _ in out.grad_fn.next_functions]
        no_grad_out = Scale.apply(T.ones(3), 2.0, T.ones(3))
        return out, x.grad, y.grad, fns, seen, no_grad_out
    same(fn)


def test_multiple_outputs_and_materialized_zero_grads():
    def fn(T):
        got = []

        class Two(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                got.append((g1, g2))
                return g1 * 2 + g2 * 3

        x = T.ones(2, requires_grad=True)
        a, b = Two.apply(x)
        a.sum().backward()
        return a, b, x.grad, got, a.grad_fn is b.grad_fn, b.output_nr
    same(fn)


def test_set_materialize_grads_false_passes_none():
    def fn(T):
        got = []

        class Two(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                got.append(g2 is None)
                return g1 * 2

        x = T.ones(2, requires_grad=True)
        a, _ = Two.apply(x)
        a.sum().backward()
        return x.grad, got
    same(fn)


def test_setup_context_style():
    def fn(T):
        class Mul(T.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = inputs[1]
                ctx.save_for_backward(output)

            @staticmethod
            def backward(ctx, g):
                (out,) = ctx.saved_tensors
                return g * ctx.k, None

        x = T.ones(3, requires_grad=True)
        y = Mul.apply(x, 3.0)
        y.sum().backward()
        return y, x.grad
    same(fn)


def test_saved_output_is_version_checked():
    def fn(T):
        class Exp(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                out = x.exp()
                ctx.save_for_backward(out)
                return out

            @staticmethod
            def backward(ctx, g):
                (out,) = ctx.saved_tensors
                return g * out

        x = T.zeros(3, requires_grad=True)
        y = Exp.apply(x)
        y.mul_(2)
        y.sum().backward()
    same(fn)


def test_saved_tensors_freed_after_backward():
    def fn(T):
        x = T.ones(2, requires_grad=True)
        y = _square(T).apply(x).sum()
        y.backward()
        y.backward()
    same(fn)


def test_wrong_number_of_gradients():
    def fn(T):
        class G(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g, g

        G.apply(T.ones(3, requires_grad=True)).sum().backward()
    same(fn)


def test_extra_none_gradients_are_allowed():
    def fn(T):
        class G(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2, None, None

        x = T.ones(3, requires_grad=True)
        G.apply(x).sum().backward()
        return x.grad
    same(fn)


def test_gradient_for_non_tensor_input_is_an_error():
    def fn(T):
        class G(T.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return g, g

        G.apply(T.ones(3, requires_grad=True), 2.0).sum().backward()
    same(fn)


def test_wrong_gradient_shape():
    def fn(T):
        class H(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g[:2]

        H.apply(T.ones(3, requires_grad=True)).sum().backward()
    same(fn)


def test_gradient_dtype_is_cast_to_input_dtype():
    def fn(T):
        class D(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g.double()

        x = T.ones(3, requires_grad=True)
        D.apply(x).sum().backward()
        return x.grad
    same(fn)


def test_missing_backward():
    def fn(T):
        class NoB(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

        NoB.apply(T.ones(3, requires_grad=True)).sum().backward()
    same(fn)


def test_mark_dirty():
    def fn(T):
        class Double(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return 2 * g

        a = T.ones(3, requires_grad=True)
        z = a.clone()
        w = Double.apply(z)
        w.sum().backward()
        return w is z, w, z._version, a.grad
    same(fn)


def test_mark_dirty_on_leaf_is_an_error():
    def fn(T):
        class Double(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.mul_(2)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return 2 * g

        Double.apply(T.ones(3, requires_grad=True))
    same(fn)


def test_mark_non_differentiable():
    def fn(T):
        got = []

        class MaxArg(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                i = x.argmax()
                v = x.max()
                ctx.mark_non_differentiable(i)
                ctx.save_for_backward(x, i)
                return v, i

            @staticmethod
            def backward(ctx, g, gi):
                x, i = ctx.saved_tensors
                got.append(gi)
                out = T.zeros_like(x)
                out[i] = g
                return out

        x = T.tensor([1.0, 3.0, 2.0], requires_grad=True)
        v, i = MaxArg.apply(x)
        v.backward()
        return v, i, i.requires_grad, x.grad, got
    same(fn)


def test_non_tensor_output_passes_through():
    def fn(T):
        class Ret(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2, 3

            @staticmethod
            def backward(ctx, g, g_none):
                return g * 2 if g_none is None else None

        x = T.ones(2, requires_grad=True)
        y, k = Ret.apply(x)
        y.sum().backward()
        return y, k, x.grad
    same(fn)


def test_double_backward_through_function_of_library_ops():
    def fn(T):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        y = _square(T).apply(x).pow(2).sum()  # x**4
        (g,) = T.autograd.grad(y, x, create_graph=True)
        (gg,) = T.autograd.grad(g.sum(), x)
        return g, gg
    same(fn)


def test_once_differentiable_runs_without_graph():
    def fn(T):
        from importlib import import_module

        once = import_module(T.__name__ + ".autograd.function").once_differentiable

        class Sq(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 2

            @staticmethod
            @once
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = T.ones(3, requires_grad=True)
        (gx,) = T.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
        return gx
    same(fn)


def test_once_differentiable_double_backward_raises():
    def fn(T):
        from importlib import import_module

        once = import_module(T.__name__ + ".autograd.function").once_differentiable

        class Sq(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 2

            @staticmethod
            @once
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = T.ones(3, requires_grad=True)
        y = Sq.apply(x * 1).sum()
        v = T.ones((), requires_grad=True)
        (gx,) = T.autograd.grad(y, x, grad_outputs=v, create_graph=True)
        name = gx.grad_fn.name()
        gx.sum().backward()
        return name
    same(fn)


def test_instantiating_and_calling_is_legacy_error():
    def fn(T):
        class S(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g

        S()(T.ones(1))
    same(fn)


def test_save_for_backward_rejects_non_tensors():
    def fn(T):
        class S(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g

        S.apply(T.ones(1, requires_grad=True))
    same(fn)


def test_function_hooks_and_retain_grad_work_on_its_output():
    def fn(T):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        y = _square(T).apply(x)
        y.retain_grad()
        seen = []
        y.register_hook(lambda g: seen.append(g.clone()) or g * 10)
        y.sum().backward()
        return x.grad, y.grad, seen
    same(fn)
