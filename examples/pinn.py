"""A physics-informed neural network: solve u''(x) = -pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0.

Contract: plain PyTorch code with ``import ember as torch`` (``--torch`` runs the same code on
PyTorch). A small tanh MLP u(x) is trained so that the equation's residual vanishes at
collocation points and the boundary values are zero. The second derivative u'' comes from two
calls of ``torch.autograd.grad(..., create_graph=True)``, so the loss itself is differentiable
and ``loss.backward()`` reaches the weights through both derivatives (third-order terms in
all). The exact solution is u(x) = sin(pi x); the script compares the network with it on a
grid. ``--fast`` trains for a few steps only. The last line printed is
``max error: x.xxxxxx`` (the largest |u_net(x) - sin(pi x)| on 101 points of [0, 1]).

    python examples/pinn.py [--fast] [--torch]
"""

import argparse
import math

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="tiny run for tests (a few seconds)")
parser.add_argument("--torch", action="store_true", help="run the same code on PyTorch")
args = parser.parse_args()

if args.torch:
    import torch
else:
    import ember as torch
nn = torch.nn  # attribute access: `from torch import nn` would find the real torch by name

print(f"backend: {torch.__name__}")
torch.manual_seed(0)
pi = math.pi

model = nn.Sequential(
    nn.Linear(1, 32), nn.Tanh(),
    nn.Linear(32, 32), nn.Tanh(),
    nn.Linear(32, 1),
)
print(model)


def second_derivative(u, x):
    """u''(x) for a batch of independent points: each u[i] depends only on x[i], so the
    gradient of u.sum() is the pointwise derivative."""
    du = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
    return torch.autograd.grad(du.sum(), x, create_graph=True)[0]


def forcing(x):
    return -pi ** 2 * torch.sin(pi * x)


x_boundary = torch.tensor([[0.0], [1.0]])
steps = 30 if args.fast else 1500
n_points = 32 if args.fast else 64
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=500, gamma=0.3)

print(f"training on {n_points} random collocation points per step for {steps} steps")
for step in range(1, steps + 1):
    # Fresh random points every step, so the residual is small everywhere, not only at a grid.
    x = torch.rand(n_points, 1, requires_grad=True)
    u = model(x)
    residual = second_derivative(u, x) - forcing(x)
    loss_pde = residual.pow(2).mean()
    loss_bc = model(x_boundary).pow(2).mean()
    loss = loss_pde + 10.0 * loss_bc

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    if step % (10 if args.fast else 250) == 0 or step == 1:
        print(f"step {step:5d}  pde residual {loss_pde.item():.3e}  boundary {loss_bc.item():.3e}")

x_test = torch.linspace(0, 1, 101).unsqueeze(1)
with torch.no_grad():
    u_net = model(x_test)
exact = torch.sin(pi * x_test)
error = (u_net - exact).abs()
for i in range(0, 101, 25):
    print(f"u({x_test[i, 0].item():.2f}) = {u_net[i, 0].item():+.5f}   "
          f"exact {exact[i, 0].item():+.5f}")
print(f"max error: {error.max().item():.6f}")
