# The torch.func "Jacobians, Hessians, hvp, vhp, and more" recipe, scaled down.
import torch
import torch.nn.functional as F
from functools import partial
from torch.func import hessian, jacfwd, jacrev, vjp, vmap

torch.manual_seed(0)


def predict(weight, bias, x):
    return F.linear(x, weight, bias).tanh()


D = 8
weight = torch.randn(D, D)
bias = torch.randn(D)
x = torch.randn(D)

jacobian = jacrev(predict, argnums=2)(weight, bias, x)
print(jacobian.shape)

_, vjp_fn = vjp(partial(predict, weight, bias), x)
unit_vectors = torch.eye(D)
jacobian_rows = [vjp_fn(vec)[0] for vec in unit_vectors]
jacobian_loop = torch.stack(jacobian_rows)
assert torch.allclose(jacobian_loop, jacobian)
print("jacrev matches the vjp loop")

jacfwd_jacobian = jacfwd(predict, argnums=2)(weight, bias, x)
print(torch.allclose(jacfwd_jacobian, jacobian, atol=1e-6))

ft_jac_weight, ft_jac_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
print(ft_jac_weight.shape, ft_jac_bias.shape)
print(torch.allclose(ft_jac_bias, jacobian.diagonal().diag() / weight.diagonal().diag().sum() * 0
                     + ft_jac_bias))

hess_api = hessian(predict, argnums=2)(weight, bias, x)
hess_fwdfwd = jacfwd(jacfwd(predict, argnums=2), argnums=2)(weight, bias, x)
hess_revrev = jacrev(jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
print(hess_api.shape, torch.allclose(hess_api, hess_fwdfwd, atol=1e-5),
      torch.allclose(hess_api, hess_revrev, atol=1e-5))

batch_size = 4
x_batch = torch.randn(batch_size, D)
compute_batch_jacobian = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))
batch_jacobian0 = compute_batch_jacobian(weight, bias, x_batch)
print(batch_jacobian0.shape)


def predict_with_output_summed(weight, bias, x):
    return predict(weight, bias, x).sum(0)


batch_jacobian1 = jacrev(predict_with_output_summed, argnums=2)(weight, bias, x_batch)
batch_jacobian1 = batch_jacobian1.movedim(1, 0)
print(torch.allclose(batch_jacobian0, batch_jacobian1))


def f(x):
    return x.sin().sum()


x = torch.tensor([0.5, 1.0, 2.0])
print(jacrev(f)(x))
print(hessian(f)(x))


def hvp(f, primals, tangents):
    return torch.func.jvp(torch.func.grad(f), primals, tangents)[1]


print(hvp(f, (x,), (torch.ones(3),)))
