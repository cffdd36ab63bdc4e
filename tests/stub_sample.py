"""A small training program that mypy type-checks against ember's stubs (tests/test_stubs.py).

Not a test module (no ``test_`` prefix): it exercises what the stubs must accept and infer —
factories, tensor ops as functions and methods, operators, ``backward``, ``no_grad``,
``nn.Linear``, ``optim.SGD``, ``nn.functional`` and ``linalg`` — and runs as a script.
"""

from __future__ import annotations

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember import linalg, optim


def make_data(n: int) -> tuple[ember.Tensor, ember.Tensor]:
    ember.manual_seed(0)
    x = ember.randn(n, 3, dtype=ember.float32)
    w = ember.tensor([[1.0], [-2.0], [0.5]])
    y = x @ w + 0.1 * ember.randn(n, 1)
    return x, y


def train(steps: int = 20) -> float:
    x, y = make_data(64)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_value = 0.0
    for _ in range(steps):
        opt.zero_grad()
        pred: ember.Tensor = model(x)
        loss = F.mse_loss(pred, y)
        loss = loss + 1e-4 * sum(p.pow(2).sum() for p in model.parameters())
        loss.backward()
        opt.step()
        loss_value = loss.item()
    return float(loss_value)


def tensor_ops() -> ember.Tensor:
    a = ember.ones(2, 3, requires_grad=True)
    b = ember.arange(6.0).reshape(2, 3)
    c = (a * b - b / 2) ** 2 + ember.exp(-a) - a.sin().abs()
    d = c.sum(dim=1, keepdim=True).mean()
    d.backward()
    grad = a.grad
    assert grad is not None
    with ember.no_grad():
        a -= 0.1 * grad
    e = ember.cat([a, b], dim=0).t() @ ember.eye(4)
    probs = F.softmax(e, dim=-1)
    h = F.relu(F.linear(probs, ember.randn(5, 4)))
    values, indices = ember.sort(h, dim=1)
    top = h.topk(2).values
    m = ember.rand(3, 3) + 3 * ember.eye(3)
    inv = linalg.inv(m)
    q, r = linalg.qr(m)
    n = linalg.vector_norm(inv @ q - r, ord=2)
    shape: tuple[int, ...] = tuple(h.shape)
    mask = (h > 0) & (h < 1)
    picked = ember.where(mask, h, ember.zeros_like(h))
    flat = picked.view(-1).to(ember.float64).unsqueeze(0)
    ok: bool = ember.allclose(flat, flat)
    assert ok and len(shape) == 2 and values.shape == indices.shape
    return flat.detach() + n + top.sum() + indices.float().mean()


if __name__ == "__main__":
    print(train(), tensor_ops().shape)
