"""MAML (model-agnostic meta-learning) on sine-wave regression.

Contract: plain PyTorch code with ``import ember as torch`` (``--torch`` runs the same code on
PyTorch). Each task is a sine wave A sin(x - phase) with random amplitude and phase, seen
through K points. The inner loop adapts the network's weights to one task with a few plain
gradient steps taken with ``torch.autograd.grad(..., create_graph=True)``; the adapted weights
are ordinary tensors computed from the meta-parameters, so the outer loss (on fresh points of
the same task) backpropagates through the inner steps into the initialisation, which Adam
updates. The network is run functionally on an explicit list of weight tensors
(``F.linear``), which is what lets the same forward use either the meta-parameters or the
adapted weights. ``--fast`` runs a few meta-iterations. The script prints the meta-test loss
on unseen tasks before and after adaptation; the last line is
``meta-test loss: before adaptation x.xxxx, after y.yyyy``.

    python examples/maml.py [--fast] [--torch]
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
# Attribute access, not `from torch import nn`: that statement would look up the real
# `torch` package by name even when `torch` is ember here.
nn = torch.nn
F = torch.nn.functional

print(f"backend: {torch.__name__}")
torch.manual_seed(0)

K = 10                 # points per task, for adapting and for evaluating the adaptation
inner_lr = 0.01
inner_steps = 1 if args.fast else 2
meta_batch = 4 if args.fast else 8
meta_iterations = 10 if args.fast else 1500
test_steps = 5         # adaptation steps at meta-test time


def sample_task():
    """A function x -> A sin(x - phase), A in [0.1, 5], phase in [0, pi]."""
    amplitude = 0.1 + 4.9 * torch.rand(()).item()
    phase = math.pi * torch.rand(()).item()
    return lambda x: amplitude * torch.sin(x - phase)


def sample_points(task, n):
    x = -5.0 + 10.0 * torch.rand(n, 1)
    return x, task(x)


# The meta-parameters: built by nn.Linear for its initialisation, then used as a flat list.
net = nn.Sequential(nn.Linear(1, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 1))
meta_params = list(net.parameters())


def forward(x, params):
    """The same network as `net`, on whichever weights are passed in."""
    w1, b1, w2, b2, w3, b3 = params
    h = F.relu(F.linear(x, w1, b1))
    h = F.relu(F.linear(h, w2, b2))
    return F.linear(h, w3, b3)


def adapt(params, x, y, steps, create_graph):
    """Plain SGD on one task. With create_graph=True each step stays differentiable with respect
    to the starting weights, which is what the outer loop needs (second-order MAML)."""
    for _ in range(steps):
        loss = F.mse_loss(forward(x, params), y)
        grads = torch.autograd.grad(loss, params, create_graph=create_graph)
        params = [p - inner_lr * g for p, g in zip(params, grads)]
    return params


meta_optimizer = torch.optim.Adam(meta_params, lr=1e-3)
print(f"meta-training: {meta_iterations} iterations of {meta_batch} tasks, "
      f"{inner_steps} inner step(s) each, K={K}")
for iteration in range(1, meta_iterations + 1):
    meta_optimizer.zero_grad()
    outer_total = 0.0
    for _ in range(meta_batch):
        task = sample_task()
        x_support, y_support = sample_points(task, K)
        x_query, y_query = sample_points(task, K)
        adapted = adapt(meta_params, x_support, y_support, inner_steps, create_graph=True)
        outer_loss = F.mse_loss(forward(x_query, adapted), y_query) / meta_batch
        outer_loss.backward()  # through the inner steps into meta_params
        outer_total += outer_loss.item()
    meta_optimizer.step()
    if iteration % (5 if args.fast else 250) == 0 or iteration == 1:
        print(f"iteration {iteration:5d}  query loss after adaptation {outer_total:.4f}")


def meta_test(n_tasks):
    """Mean query loss over unseen tasks, before and after `test_steps` adaptation steps."""
    before = after = 0.0
    for _ in range(n_tasks):
        task = sample_task()
        x_support, y_support = sample_points(task, K)
        x_query, y_query = sample_points(task, 100)
        adapted = adapt(meta_params, x_support, y_support, test_steps, create_graph=False)
        with torch.no_grad():
            before += F.mse_loss(forward(x_query, meta_params), y_query).item() / n_tasks
            after += F.mse_loss(forward(x_query, adapted), y_query).item() / n_tasks
    return before, after


before, after = meta_test(5 if args.fast else 50)
print(f"meta-test loss: before adaptation {before:.4f}, after {after:.4f}")
