"""Oracle tests: programs written the way PyTorch's ``torch.func`` tutorials write them
(per-sample gradients, neural tangent kernels, Jacobians and Hessians, forward-mode AD,
extending torch.func with autograd.Function, model ensembling) give PyTorch's results on
ember. Each program seeds with ``manual_seed(0)`` so both libraries draw the same weights and
data; the sizes are smaller than the tutorials' so the tests stay quick."""

from __future__ import annotations

import copy
import importlib
from functools import partial

from .oracle import same, torch  # noqa: F401 - torch: skip without PyTorch


def _mods(T):
    """(func, nn, nn.functional, forward_ad) of library ``T``."""
    return (importlib.import_module(T.__name__ + ".func"), T.nn, T.nn.functional,
            importlib.import_module(T.__name__ + ".autograd.forward_ad"))


def _values(d):
    return [v for v in d.values()]


# ---- per-sample gradients ---------------------------------------------------------------------

def _simple_cnn(T):
    _, nn, F, _ = _mods(T)

    class SimpleCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.conv2 = nn.Conv2d(4, 8, 3, 1)
            self.fc1 = nn.Linear(8 * 4 * 4, 16)
            self.fc2 = nn.Linear(16, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = T.flatten(x, 1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.fc2(x)
            output = F.log_softmax(x, dim=1)
            return output

    return SimpleCNN()


def test_per_sample_gradients():
    def fn(T):
        func, _, F, _ = _mods(T)
        T.manual_seed(0)
        model = _simple_cnn(T)
        batch_size = 6
        data = T.randn(batch_size, 1, 12, 12)
        targets = T.randint(10, (batch_size,))

        def loss_fn(predictions, targets):
            return F.nll_loss(predictions, targets)

        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def compute_loss(params, buffers, sample, target):
            batch = sample.unsqueeze(0)
            targets = target.unsqueeze(0)
            predictions = func.functional_call(model, (params, buffers), (batch,))
            loss = loss_fn(predictions, targets)
            return loss

        ft_compute_grad = func.grad(compute_loss)
        ft_compute_sample_grad = func.vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
        ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)

        # the tutorial's check: the same as one backward per sample
        manual = []
        for i in range(batch_size):
            model.zero_grad()
            loss_fn(model(data[i:i + 1]), targets[i:i + 1]).backward()
            manual.append([p.grad.clone() for p in model.parameters()])
        stacked = [T.stack([m[j] for m in manual]) for j in range(len(manual[0]))]
        agree = all(T.allclose(a, b, atol=3e-3, rtol=1e-5)
                    for a, b in zip(ft_per_sample_grads.values(), stacked))
        return ft_per_sample_grads, agree

    same(fn, rtol=1e-4, atol=1e-6)


# ---- neural tangent kernels -------------------------------------------------------------------

def _ntk_setup(T):
    _, nn, _, _ = _mods(T)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, (3, 3))
            self.conv2 = nn.Conv2d(4, 4, (3, 3))
            self.fc = nn.Linear(4 * 4 * 4, 3)

        def forward(self, x):
            x = self.conv1(x)
            x = x.relu()
            x = self.conv2(x)
            x = x.relu()
            x = x.flatten(1)
            x = self.fc(x)
            return x

    T.manual_seed(0)
    x_train = T.randn(4, 3, 8, 8)
    x_test = T.randn(3, 3, 8, 8)
    net = CNN()
    return net, x_train, x_test


def _ntk_jacobian_contraction(T, compute):
    func = _mods(T)[0]
    net, x_train, x_test = _ntk_setup(T)
    params = {k: v.detach() for k, v in net.named_parameters()}

    def fnet_single(params, x):
        return func.functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

    def empirical_ntk_jacobian_contraction(fnet_single, params, x1, x2):
        # Compute J(x1)
        jac1 = func.vmap(func.jacrev(fnet_single), (None, 0))(params, x1)
        jac1 = jac1.values()
        jac1 = [j.flatten(2) for j in jac1]

        # Compute J(x2)
        jac2 = func.vmap(func.jacrev(fnet_single), (None, 0))(params, x2)
        jac2 = jac2.values()
        jac2 = [j.flatten(2) for j in jac2]

        # Compute J(x1) @ J(x2).T
        einsum_expr = {"full": "Naf,Mbf->NMab", "trace": "Naf,Maf->NM",
                       "diagonal": "Naf,Maf->NMa"}[compute]
        result = T.stack([T.einsum(einsum_expr, j1, j2) for j1, j2 in zip(jac1, jac2)])
        result = result.sum(0)
        return result

    return empirical_ntk_jacobian_contraction(fnet_single, params, x_train, x_test)


def test_ntk_jacobian_contraction_full():
    same(lambda T: _ntk_jacobian_contraction(T, "full"), rtol=1e-4, atol=1e-5)


def test_ntk_jacobian_contraction_trace_and_diagonal():
    same(lambda T: (_ntk_jacobian_contraction(T, "trace"),
                    _ntk_jacobian_contraction(T, "diagonal")), rtol=1e-4, atol=1e-5)


def test_ntk_jacrev_of_a_parameter_dict():
    """The pieces of the NTK program one at a time: jacrev of a dict primal (a dict of
    Jacobians, each ``out.shape + param.shape``), outside and inside vmap."""
    def fn(T):
        func = _mods(T)[0]
        net, x_train, _ = _ntk_setup(T)
        params = {k: v.detach() for k, v in net.named_parameters()}

        def fnet_single(params, x):
            return func.functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

        one = func.jacrev(fnet_single)(params, x_train[0])
        with_x = func.jacrev(fnet_single, argnums=(0, 1))(params, x_train[0])
        batched = func.vmap(func.jacrev(fnet_single), (None, 0))(params, x_train)
        fwd = func.jacfwd(fnet_single)(params, x_train[0])
        return one, with_x, batched, fwd

    same(fn, rtol=1e-4, atol=1e-5, warnings_too=False)  # PyTorch's jacfwd warns about jit


def test_ntk_via_vector_products():
    def fn(T):
        func = _mods(T)[0]
        net, x_train, x_test = _ntk_setup(T)
        params = {k: v.detach() for k, v in net.named_parameters()}

        def fnet_single(params, x):
            return func.functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

        def empirical_ntk_ntk_vps(func_, params, x1, x2, compute="full"):
            def get_ntk(x1, x2):
                def func_x1(params):
                    return func_(params, x1)

                def func_x2(params):
                    return func_(params, x2)

                output, vjp_fn = func.vjp(func_x1, params)

                def get_ntk_slice(vec):
                    # This computes ``vec @ J(x2).T``
                    # `vec` is some unit vector (a single slice of the Identity matrix)
                    vjps = vjp_fn(vec)
                    # This computes ``J(X1) @ vjps``
                    _, jvps = func.jvp(func_x2, (params,), vjps)
                    return jvps

                # Here's our identity matrix
                basis = T.eye(output.numel(), dtype=output.dtype,
                              device=output.device).view(output.numel(), -1)
                return func.vmap(get_ntk_slice)(basis)

            # ``get_ntk(x1, x2)`` computes the NTK for a single data point x1, x2
            # Since the x1, x2 inputs to ``empirical_ntk_ntk_vps`` are batched,
            # we actually wish to compute the NTK between every pair of data points
            # between {x1} and {x2}. That's what the ``vmaps`` here do.
            result = func.vmap(func.vmap(get_ntk, (None, 0)), (0, None))(x1, x2)

            if compute == "full":
                return result
            if compute == "trace":
                return T.einsum("NMKK->NM", result)
            if compute == "diagonal":
                return T.einsum("NMKK->NMK", result)

        full = empirical_ntk_ntk_vps(fnet_single, params, x_train, x_test)
        trace = empirical_ntk_ntk_vps(fnet_single, params, x_train, x_test, "trace")
        return full, trace

    same(fn, rtol=1e-4, atol=1e-5, warnings_too=False)  # PyTorch's jvp warns about jit


# ---- Jacobians, Hessians, hvp, jvp, vjp -------------------------------------------------------

def _predict(T):
    F = T.nn.functional

    def predict(weight, bias, x):
        return F.linear(x, weight, bias).tanh()

    return predict


def test_jacobian_rows_by_autograd_and_by_vmap_of_vjp():
    def fn(T):
        func = _mods(T)[0]
        predict = _predict(T)
        T.manual_seed(0)
        D = 16
        weight = T.randn(D, D)
        bias = T.randn(D)
        x = T.randn(D)

        def compute_jac(xp):
            jacobian_rows = [T.autograd.grad(predict(weight, bias, xp), xp, vec)[0]
                             for vec in unit_vectors]
            return T.stack(jacobian_rows)

        xp = x.clone().requires_grad_()
        unit_vectors = T.eye(D)
        jacobian = compute_jac(xp)

        _, vjp_fn = func.vjp(partial(predict, weight, bias), x)
        ft_jacobian, = func.vmap(vjp_fn)(unit_vectors)
        return jacobian, ft_jacobian, T.allclose(ft_jacobian, jacobian)

    same(fn)


def test_jacrev_jacfwd_argnums_and_hessians():
    def fn(T):
        func = _mods(T)[0]
        predict = _predict(T)
        T.manual_seed(0)
        D = 8
        weight = T.randn(D, D)
        bias = T.randn(D)
        x = T.randn(D)
        ft_jacobian = func.jacrev(predict, argnums=2)(weight, bias, x)
        ft_jac_weight, ft_jac_bias = func.jacrev(predict, argnums=(0, 1))(weight, bias, x)
        fwd = func.jacfwd(predict, argnums=2)(weight, bias, x)
        fwd_wb = func.jacfwd(predict, argnums=(0, 1))(weight, bias, x)
        hess_api = func.hessian(predict, argnums=2)(weight, bias, x)
        hess_fwdfwd = func.jacfwd(func.jacfwd(predict, argnums=2), argnums=2)(weight, bias, x)
        hess_revrev = func.jacrev(func.jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
        hess_fwdrev = func.jacfwd(func.jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
        return (ft_jacobian, ft_jac_weight, ft_jac_bias, fwd, fwd_wb, hess_api, hess_fwdfwd,
                hess_revrev, hess_fwdrev, T.allclose(hess_api, hess_revrev, atol=1e-6))

    same(fn, atol=1e-5, warnings_too=False)  # PyTorch's forward mode warns about its jit


def test_batch_jacobians_and_hessians():
    def fn(T):
        func = _mods(T)[0]
        predict = _predict(T)
        T.manual_seed(0)
        batch_size, Din, Dout = 5, 4, 3
        weight = T.randn(Dout, Din)
        bias = T.randn(Dout)
        x = T.randn(batch_size, Din)

        compute_batch_jacobian = func.vmap(func.jacrev(predict, argnums=2),
                                           in_dims=(None, None, 0))
        batch_jacobian0 = compute_batch_jacobian(weight, bias, x)

        def predict_with_output_summed(weight, bias, x):
            return predict(weight, bias, x).sum(0)

        batch_jacobian1 = func.jacrev(predict_with_output_summed, argnums=2)(
            weight, bias, x).movedim(1, 0)
        compute_batch_hessian = func.vmap(func.hessian(predict, argnums=2),
                                          in_dims=(None, None, 0))
        batch_hess = compute_batch_hessian(weight, bias, x)
        return batch_jacobian0, batch_jacobian1, batch_hess

    same(fn, atol=1e-5, warnings_too=False)  # PyTorch's forward mode warns about its jit


def test_hvp_and_has_aux():
    def fn(T):
        func = _mods(T)[0]
        T.manual_seed(0)

        def hvp(f, primals, tangents):
            return func.jvp(func.grad(f), primals, tangents)[1]

        def f(x):
            return x.sin().sum()

        x = T.randn(64)
        tangent = T.randn(64)
        result = hvp(f, (x,), (tangent,))

        def g(x):
            y = x.sin()
            return y.sum(), {"mean": y.mean()}

        jac, aux = func.jacrev(lambda x: (x.sin(), x.cos().sum()), has_aux=True)(x[:4])
        jac_f, aux_f = func.jacfwd(lambda x: (x.sin(), x.cos().sum()), has_aux=True)(x[:4])
        gr, aux_g = func.grad(g, has_aux=True)(x[:4])
        out, vjp_fn, aux_v = func.vjp(lambda x: (x.exp(), x.sum()), x[:4], has_aux=True)
        return result, jac, aux, jac_f, aux_f, gr, aux_g, out, vjp_fn(T.ones(4)), aux_v

    same(fn, warnings_too=False)  # PyTorch's forward mode warns about its jit


def test_vjp_of_pytree_primals():
    """vjp's primals may be dicts/tuples of tensors (the NTK-by-vector-products recipe hands it
    the parameter dict); anything else is refused."""
    def fn(T):
        func = _mods(T)[0]
        T.manual_seed(0)
        x = T.randn(3)
        out, vjp_fn = func.vjp(lambda d: d["a"] * d["b"].sum(), {"a": x, "b": x.exp()})
        out2, vjp_fn2 = func.vjp(lambda t, y: t[0] * t[1] + y, (x, x.cos()), x.sin())
        res = [out, vjp_fn(T.ones(3)), out2, vjp_fn2(T.ones(3))]
        rows = func.vmap(vjp_fn)(T.eye(3))  # a batched cotangent for an unbatched graph
        res.append(rows)
        try:
            func.vjp(lambda a, b: a * b, x, 3.0)
        except ValueError as e:
            res.append(str(e))
        return res

    same(fn)


# ---- forward-mode AD --------------------------------------------------------------------------

def test_forward_ad_plain_ops():
    def fn(T):
        fwAD = _mods(T)[3]
        T.manual_seed(0)
        primal = T.randn(10, 10)
        tangent = T.randn(10, 10)

        def fn_(x, y):
            return x ** 2 + y ** 2

        with fwAD.dual_level():
            dual_input = fwAD.make_dual(primal, tangent)
            assert fwAD.unpack_dual(dual_input).tangent is tangent
            dual_input_alt = fwAD.make_dual(primal, tangent.T)
            alt_tangent = fwAD.unpack_dual(dual_input_alt).tangent
            plain_tensor = T.randn(10, 10)
            dual_output = fn_(dual_input, plain_tensor)
            jvp = fwAD.unpack_dual(dual_output).tangent
            primal_out = fwAD.unpack_dual(dual_output).primal
        after = fwAD.unpack_dual(dual_output).tangent
        return jvp, primal_out, alt_tangent, after

    same(fn)


def test_forward_ad_with_modules():
    def fn(T):
        _, nn, _, fwAD = _mods(T)
        func = _mods(T)[0]
        T.manual_seed(0)
        model = nn.Linear(5, 5)
        input = T.randn(16, 5)
        params = {name: p for name, p in model.named_parameters()}
        tangents = {name: T.rand_like(p) for name, p in params.items()}

        with fwAD.dual_level():
            for name, p in params.items():
                delattr(model, name)
                setattr(model, name, fwAD.make_dual(p, tangents[name]))
            out = model(input)
            jvp = fwAD.unpack_dual(out).tangent

        model = nn.Linear(5, 5)
        dual_params = {}
        with fwAD.dual_level():
            for name, p in params.items():
                # Using the same ``tangents`` from the above section
                dual_params[name] = fwAD.make_dual(p, tangents[name])
            out = func.functional_call(model, dual_params, input)
            jvp2 = fwAD.unpack_dual(out).tangent
        # (values only: PyTorch's tangents here record a graph through its formulas' zero
        # terms times the parameters, which ember's JVP rules leave out)
        return jvp.detach(), jvp2.detach(), T.allclose(jvp, jvp2)

    same(fn)


def _fn_ctx_style(T):
    class Fn(T.autograd.Function):
        @staticmethod
        def forward(ctx, foo):
            result = T.exp(foo)
            # Tensors stored in ``ctx`` can be used in the subsequent forward grad
            # computation.
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, gI):
            gO = gI * ctx.result
            # If the tensor stored in`` ctx`` will not also be used in the backward pass,
            # one can manually free it using ``del``
            del ctx.result
            return gO

    return Fn


def _exp_setup_context_style(T):
    class MyExp(T.autograd.Function):
        @staticmethod
        def forward(x):
            result = x.exp()
            return result

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, = inputs
            result = output
            ctx.save_for_forward(result)
            ctx.save_for_backward(result)

        @staticmethod
        def jvp(ctx, x_t):
            result, = ctx.saved_tensors
            return result * x_t

        @staticmethod
        def backward(ctx, grad_output):
            result, = ctx.saved_tensors
            return grad_output * result

    return MyExp


def test_forward_ad_custom_function():
    def fn(T):
        fwAD = _mods(T)[3]
        Fn = _fn_ctx_style(T)
        T.manual_seed(0)
        fn_ = Fn.apply
        primal = T.randn(10, 10, dtype=T.double, requires_grad=True)
        tangent = T.randn(10, 10)
        with fwAD.dual_level():
            dual_input = fwAD.make_dual(primal, tangent)
            dual_output = fn_(dual_input)
            jvp = fwAD.unpack_dual(dual_output).tangent
        ok = T.autograd.gradcheck(Fn.apply, (primal,), check_forward_ad=True,
                                  check_backward_ad=False, check_undefined_grad=False,
                                  check_batched_grad=False)
        return jvp, dual_output, ok

    same(fn, warnings_too=False)  # gradcheck's warnings name their own internals


def test_forward_ad_custom_function_uses_its_jvp():
    """Under forward AD a custom Function's tangents come from its ``jvp`` (forward runs on
    the primals): a tensor argument without a tangent gets zeros, a non-tensor None; a missing
    jvp and a wrong count of tangents are refused with PyTorch's errors."""
    def fn(T):
        fwAD = _mods(T)[3]
        seen = []

        class Mul(T.autograd.Function):
            @staticmethod
            def forward(ctx, x, y, k):
                seen.append(fwAD.unpack_dual(x).tangent)  # forward sees no tangent
                ctx.save_for_forward(x, y)
                ctx.k = k
                return x * y * k, (x > 0)

            @staticmethod
            def jvp(ctx, tx, ty, tk):
                x, y = ctx.saved_tensors
                seen.extend([ty, tk])
                return (tx * y + x * ty) * ctx.k * 10, None

        class NoJvp(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

        class TwoTangents(T.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def jvp(ctx, t):
                return t, t

        x = T.tensor([1.0, 2.0])
        y = T.tensor([3.0, -4.0], requires_grad=True)
        res = []
        with fwAD.dual_level():
            out, mask = Mul.apply(fwAD.make_dual(x, T.ones(2)), y, 2.0)
            res += [fwAD.unpack_dual(out).tangent, fwAD.unpack_dual(mask).tangent,
                    out.grad_fn.name()]
            for f in (NoJvp, TwoTangents):
                try:
                    f.apply(fwAD.make_dual(x, T.ones(2)))
                except (RuntimeError, NotImplementedError) as e:
                    res.append(f"{type(e).__name__}: {e}")
        return res, seen

    same(fn, warnings_too=False)  # PyTorch's forward mode warns about its jit internals


def test_func_jvp_with_setup_context_function():
    def fn(T):
        func, _, _, fwAD = _mods(T)
        MyExp = _exp_setup_context_style(T)
        T.manual_seed(0)
        x = T.randn(3)
        x_t = T.randn(3)
        y, y_t = func.jvp(MyExp.apply, (x,), (x_t,))
        with fwAD.dual_level():
            d = MyExp.apply(fwAD.make_dual(x, x_t))
            plain = fwAD.unpack_dual(d).tangent
        g = func.grad(lambda v: MyExp.apply(v).sum())(x)
        return y, y_t, plain, g

    same(fn, warnings_too=False)  # PyTorch's forward mode warns about its jit


def test_func_jvp_and_linearize_tutorial_forms():
    def fn(T):
        func, nn, _, _ = _mods(T)
        T.manual_seed(0)
        model = nn.Linear(5, 5)
        input = T.randn(16, 5)
        params = {name: p.detach() for name, p in model.named_parameters()}
        tangents = {name: T.rand_like(p) for name, p in params.items()}

        def f(params, input):
            return func.functional_call(model, params, input)

        out, jvp_out = func.jvp(f, (params, input), (tangents, T.zeros_like(input)))
        out2, jvp_fn = func.linearize(lambda p: f(p, input), params)
        return out, jvp_out, out2, jvp_fn(tangents)

    same(fn, warnings_too=False)  # PyTorch's forward mode warns about its jit


# ---- extending torch.func with autograd.Function ------------------------------------------------

def _numpy_sort(T):
    """The tutorial's NumpySort / NumpyTake, each with a ``vmap`` staticmethod."""
    import numpy as np

    def to_numpy(tensor):
        return tensor.cpu().numpy()

    class NumpyTake(T.autograd.Function):
        @staticmethod
        def forward(x, ind, ind_inv, dim):
            device = x.device
            x = to_numpy(x)
            ind = to_numpy(ind)
            return T.tensor(np.take_along_axis(x, ind, dim), device=device)

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, ind, ind_inv, dim = inputs
            ctx.save_for_backward(ind, ind_inv)
            ctx.dim = dim

        @staticmethod
        def backward(ctx, grad_output):
            ind, ind_inv = ctx.saved_tensors
            result = NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim)
            return result, None, None, None

        @staticmethod
        def vmap(info, in_dims, x, ind, ind_inv, dim):
            x_bdim, ind_bdim, ind_inv_bdim, _ = in_dims

            # The strategy is: expand {x, ind, ind_inv} to all have the dimension
            # being vmapped over.
            # Then, call back into NumpyTake(expanded_x, expanded_ind, expanded_ind_inv, new_dim).

            # Handle negative dims by wrapping them to be positive
            logical_dim = x.dim() if x_bdim is None else x_bdim - 1
            dim = dim if dim >= 0 else dim + logical_dim

            def maybe_expand_bdim_at_front(x, x_bdim):
                if x_bdim is None:
                    return x.expand(info.batch_size, *x.shape)
                return x.movedim(x_bdim, 0)

            # If the Tensor doesn't have the dimension being vmapped over,
            # expand it out. Otherwise, move it to the front of the Tensor
            x = maybe_expand_bdim_at_front(x, x_bdim)
            ind = maybe_expand_bdim_at_front(ind, ind_bdim)
            ind_inv = maybe_expand_bdim_at_front(ind_inv, ind_inv_bdim)

            # The return is a tuple (output, out_dims). Since output is a Tensor,
            # then out_dims is an Optional[int] (instead of being a Tuple).
            return NumpyTake.apply(x, ind, ind_inv, dim + 1), 0

    class NumpySort(T.autograd.Function):
        @staticmethod
        def forward(x, dim):
            device = x.device
            x = to_numpy(x)
            ind = np.argsort(x, axis=dim)
            ind_inv = np.argsort(ind, axis=dim)
            result = np.take_along_axis(x, ind, axis=dim)
            return (T.tensor(result, device=device), T.tensor(ind, device=device),
                    T.tensor(ind_inv, device=device))

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, dim = inputs
            _, ind, ind_inv = output
            ctx.mark_non_differentiable(ind, ind_inv)
            ctx.save_for_backward(ind, ind_inv)
            ctx.dim = dim

        @staticmethod
        def backward(ctx, grad_output, _0, _1):
            ind, ind_inv = ctx.saved_tensors
            return NumpyTake.apply(grad_output, ind_inv, ind, ctx.dim), None

        @staticmethod
        def vmap(info, in_dims, x, dim):
            x_bdim, _ = in_dims
            x = x.movedim(x_bdim, 0)
            # Handle negative dims correctly
            dim = dim if dim >= 0 else dim + x.dim() - 1
            result = NumpySort.apply(x, dim + 1)
            # The vmap rule must return a tuple of two things
            # 1. the output. Should be the same amount of things
            #    as returned by the forward().
            # 2. one out_dim for each of the output.
            return result, (0, 0, 0)

    return NumpySort, NumpyTake


def test_autograd_function_with_vmap_staticmethod():
    def fn(T):
        func = _mods(T)[0]
        NumpySort, NumpyTake = _numpy_sort(T)
        T.manual_seed(0)
        x = T.randn(2, 3, 4, requires_grad=True)
        # sort each sample (3, 4) along its dim 1
        result = func.vmap(NumpySort.apply, in_dims=(0, None))(x, 1)
        ref = T.sort(x, dim=2)
        (g,) = T.autograd.grad(result[0].sin().sum(), x)
        other = func.vmap(NumpySort.apply, in_dims=(1, None))(x, -1)
        nested = func.vmap(func.vmap(NumpySort.apply, in_dims=(0, None)),
                           in_dims=(0, None))(x, 0)
        gx = func.grad(lambda x: NumpySort.apply(x, 1)[0].sin().sum())(x[0].detach())
        ind = ref.indices
        take = func.vmap(NumpyTake.apply, in_dims=(0, 0, None, None))(
            x.detach(), ind, ind.argsort(2), 1)
        return result, ref.values, g, other, nested, gx, take

    same(fn)


def test_autograd_function_generate_vmap_rule_and_double_grad():
    def fn(T):
        func = _mods(T)[0]

        class MyMul(T.autograd.Function):
            generate_vmap_rule = True

            @staticmethod
            def forward(x, y):
                return x * y

            @staticmethod
            def setup_context(ctx, inputs, outputs):
                ctx.save_for_backward(*inputs)

            @staticmethod
            def backward(ctx, grad_output):
                x, y = ctx.saved_tensors
                return grad_output * y, grad_output * x

        class MyCube(T.autograd.Function):
            @staticmethod
            def forward(x):
                result = x ** 3
                # In regular PyTorch, if we had just run y = x ** 3, then the backward
                # pass computes dx = 3 * x ** 2. In this autograd.Function, we've done
                # that computation here in the forward pass instead.
                dx = 3 * x ** 2
                return result, dx

            @staticmethod
            def setup_context(ctx, inputs, output):
                x, = inputs
                result, dx = output
                ctx.save_for_backward(x, dx)

            @staticmethod
            def backward(ctx, grad_output, grad_dx):
                x, dx = ctx.saved_tensors
                # In order for the autograd.Function to work with higher-order
                # gradients, we must add the gradient contribution of `dx`.
                result = grad_output * dx + grad_dx * 6 * x
                return result

        def my_cube(x):
            result, _ = MyCube.apply(x)
            return result

        T.manual_seed(0)
        x = T.randn(3)
        y = T.randn(3)
        batched = func.vmap(MyMul.apply)(x, y)
        grads = func.vmap(func.grad(lambda a, b: MyMul.apply(a, b)), in_dims=(0, None))(x, y[0])
        ggx = func.grad(func.grad(my_cube))(T.tensor(0.7))
        ggx_batch = func.grad(lambda v: func.grad(lambda u: my_cube(u).sum())(v).sum())(x)
        try:  # MyCube has no vmap rule
            func.vmap(func.grad(func.grad(my_cube)))(x)
        except RuntimeError as e:
            refused = str(e)
        return batched, grads, ggx, ggx_batch, refused

    same(fn)


def test_autograd_function_under_vmap_needs_a_rule():
    def fn(T):
        func = _mods(T)[0]
        MyExp = _exp_setup_context_style(T)
        Fn = _fn_ctx_style(T)
        res = []
        for f in (MyExp.apply, Fn.apply):
            try:
                res.append(func.vmap(f)(T.ones(2, 3)))
            except RuntimeError as e:
                res.append(str(e))
        return res

    same(fn)


# ---- model ensembling -------------------------------------------------------------------------

def _ensemble(T):
    _, nn, F, _ = _mods(T)

    class SimpleMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(16, 12)
            self.fc2 = nn.Linear(12, 8)
            self.fc3 = nn.Linear(8, 10)

        def forward(self, x):
            x = x.flatten(1)
            x = self.fc1(x)
            x = F.relu(x)
            x = self.fc2(x)
            x = F.relu(x)
            x = self.fc3(x)
            return x

    T.manual_seed(0)
    num_models = 4
    data = T.randn(8, 1, 4, 4)
    minibatches = data[:num_models]
    models = [SimpleMLP() for _ in range(num_models)]
    return models, data, minibatches


def test_model_ensembling():
    def fn(T):
        func = _mods(T)[0]
        models, data, minibatches = _ensemble(T)
        minibatch = data
        predictions_diff_minibatch_loop = [model(minibatch) for model, minibatch
                                           in zip(models, minibatches)]
        predictions2 = [model(minibatch) for model in models]

        params, buffers = func.stack_module_state(models)
        # Construct a "stateless" version of one of the models. It is "stateless" in
        # the sense that the parameters are meta Tensors and do not have storage.
        base_model = copy.deepcopy(models[0])
        base_model = base_model.to("meta")

        def fmodel(params, buffers, x):
            return func.functional_call(base_model, (params, buffers), (x,))

        sizes = [p.size(0) for p in params.values()]  # the leading 'num_models' dimension
        assert minibatches.shape == (4, 1, 4, 4)  # verify minibatch has leading dimension

        predictions1_vmap = func.vmap(fmodel)(params, buffers, minibatches)
        same_minibatch = func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
        ok1 = T.allclose(predictions1_vmap, T.stack(predictions_diff_minibatch_loop),
                         atol=1e-3, rtol=1e-5)
        ok2 = T.allclose(same_minibatch, T.stack(predictions2), atol=1e-3, rtol=1e-5)
        meta = [p.is_meta for p in base_model.parameters()]
        return (predictions1_vmap, same_minibatch, ok1, ok2, meta, params, sizes,
                predictions_diff_minibatch_loop)

    same(fn, rtol=1e-5, atol=1e-6)


def test_vmap_outputs_keep_their_grad_fn():
    """An output whose batch dim is already where out_dims puts it is returned as the op made
    it (the ensembling tutorial's predictions show AddBackward0, not a permute)."""
    def fn(T):
        func = _mods(T)[0]
        w = T.ones(3, requires_grad=True)
        x = T.ones(2, 3)
        outs = [func.vmap(lambda a: a * w)(x), func.vmap(lambda a: a * w, out_dims=1)(x),
                func.vmap(lambda a: w * 2)(x), func.vmap(lambda a: (a * w).sum())(x),
                func.vmap(func.vmap(lambda a: a * w))(T.ones(2, 4, 3)),
                func.vmap(func.vmap(lambda a: a * w), in_dims=1)(T.ones(2, 4, 3))]
        return [o.grad_fn.name() for o in outs], outs

    same(fn)


def test_module_to_meta():
    """``Module.to('meta')`` (the ensembling tutorial's stateless base model) keeps shapes and
    dtypes without data; moving it back to a real device is refused as PyTorch refuses it."""
    def fn(T):
        T.manual_seed(0)
        m = T.nn.Sequential(T.nn.Linear(3, 2), T.nn.BatchNorm1d(2))
        m.to("meta")
        res = [[(t.is_meta, t.shape, t.dtype) for t in (*m.parameters(), *m.buffers())],
               m.to(T.float64)[0].weight.dtype]
        try:
            m.to("cpu")
        except NotImplementedError as e:
            res.append(str(e))
        return res

    same(fn)


def test_numpy_of_a_tensor_requiring_grad_under_no_grad():
    """The extending-torch.func tutorial's forward converts its inputs with ``.numpy()``: a
    tensor that requires grad converts while grad mode is off (as in a Function's forward)."""
    import numpy as np

    def fn(T):
        x = T.tensor([1.0, 2.0], requires_grad=True)
        res = []
        with T.no_grad():
            res += [x.numpy().tolist(), np.asarray(x).tolist()]
        for f in (x.numpy, lambda: np.asarray(x)):
            try:
                f()
            except RuntimeError as e:
                res.append(str(e))
        return res

    same(fn)
