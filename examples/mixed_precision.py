"""Mixed-precision training on the CPU: the same MLP trained in float32 and under bfloat16
autocast with a GradScaler, loss curves side by side.

Contract: plain PyTorch code with ``import ember as torch`` (``--torch`` runs the same code on
PyTorch). A classifier of three interleaved spirals (synthetic, drawn from the seeded
generator) is trained twice from the same initial weights on the same batches: once in
float32, once with its forward pass under ``torch.autocast("cpu", dtype=torch.bfloat16)``
(the linear layers run in bfloat16, the loss in float32, the weights and their gradients stay
float32) and its backward through ``torch.amp.GradScaler("cpu")`` (scale the loss, unscale
and check the gradients, skip a step whose gradients overflowed, grow the scale after a run of
clean steps). Every few steps the script prints both losses and the scaler's scale; then the
accuracy of both models. ``--fast`` trains for a few steps only. The last line printed is
``final loss: float32 x.xxxx, mixed precision x.xxxx`` (the full training set's loss).

    python examples/mixed_precision.py [--fast] [--torch]
"""

import argparse
import copy
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
F = torch.nn.functional

print(f"backend: {torch.__name__}")
torch.manual_seed(0)


def spirals(n_per_class, classes=3, noise=0.15):
    """Points on `classes` interleaved spiral arms in the plane, and their arm labels."""
    t = torch.linspace(0.0, 1.0, n_per_class)
    xs, ys = [], []
    for k in range(classes):
        angle = 4.0 * t + 2.0 * math.pi * k / classes + noise * torch.randn(n_per_class)
        xs.append(torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1))
        ys.append(torch.full((n_per_class,), k, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


X, y = spirals(200)
model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                      nn.Linear(64, 3))
models = {"float32": model, "mixed": copy.deepcopy(model)}  # the same initial weights
optimizers = {name: torch.optim.Adam(m.parameters(), lr=1e-2) for name, m in models.items()}
# bfloat16 has float32's exponent range, so its gradients rarely overflow: the scaler matters
# for float16; here it shows the protocol (and a short growth interval shows the scale grow)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_interval=25)

steps = 30 if args.fast else 400
batch = 64
every = 10 if args.fast else 50
print(f"{len(X)} points, 3 classes; {steps} steps of Adam on batches of {batch}")
print(f"{'step':>5}  {'float32 loss':>12}  {'mixed loss':>10}  {'scale':>9}")
for step in range(1, steps + 1):
    idx = torch.randint(0, len(X), (batch,))
    xb, yb = X[idx], y[idx]

    # float32: the usual step
    opt = optimizers["float32"]
    opt.zero_grad()
    loss32 = F.cross_entropy(models["float32"](xb), yb)
    loss32.backward()
    opt.step()

    # mixed precision: forward under autocast, backward and step through the scaler
    opt = optimizers["mixed"]
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = models["mixed"](xb)  # bfloat16: the linear layers ran in bfloat16
        loss_mixed = F.cross_entropy(logits, yb)  # float32: cross_entropy is on the fp32 list
    scaler.scale(loss_mixed).backward()
    scaler.step(opt)
    scaler.update()

    if step == 1:
        weight = models["mixed"][0].weight
        print(f"  (under autocast: logits {logits.dtype}, loss {loss_mixed.dtype}, "
              f"weight {weight.dtype}, its gradient {weight.grad.dtype})")
    if step % every == 0 or step == 1:
        print(f"{step:5d}  {loss32.item():12.4f}  {loss_mixed.item():10.4f}  "
              f"{scaler.get_scale():9.0f}")

with torch.no_grad():
    final = {}
    for name, m in models.items():
        if name == "mixed":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = m(X)
        else:
            logits = m(X)
        final[name] = F.cross_entropy(logits.float(), y).item()
        accuracy = (logits.argmax(1) == y).float().mean().item()
        print(f"{name:>8}: training accuracy {accuracy:.3f}")
print(f"final loss: float32 {final['float32']:.4f}, mixed precision {final['mixed']:.4f}")
