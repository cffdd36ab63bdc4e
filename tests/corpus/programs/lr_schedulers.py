# The learning-rate schedules a training script prints: StepLR, CosineAnnealingLR, OneCycleLR
# (per batch), ReduceLROnPlateau, and a warmup chain with SequentialLR.
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import (CosineAnnealingLR, LinearLR, OneCycleLR,
                                      ReduceLROnPlateau, SequentialLR, StepLR)

torch.manual_seed(0)
model = nn.Linear(4, 1)
x, y = torch.randn(64, 4), torch.randn(64, 1)


def train_step(optimizer):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


opt = torch.optim.SGD(model.parameters(), lr=0.1)
sched = StepLR(opt, step_size=3, gamma=0.1)
for epoch in range(7):
    loss = train_step(opt)
    sched.step()
    print(f"StepLR epoch {epoch} loss {loss:.5f} next lr {sched.get_last_lr()[0]:.6g}")

opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
sched = CosineAnnealingLR(opt, T_max=6, eta_min=1e-4)
lrs = []
for epoch in range(8):
    train_step(opt)
    lrs.append(round(opt.param_groups[0]["lr"], 6))
    sched.step()
print("Cosine", lrs)

opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
sched = OneCycleLR(opt, max_lr=0.01, steps_per_epoch=5, epochs=3)
for epoch in range(3):
    for batch in range(5):
        train_step(opt)
        sched.step()
    group = opt.param_groups[0]
    print(f"OneCycle epoch {epoch}: lr {group['lr']:.6e} betas {group['betas'][0]:.4f}")

opt = torch.optim.SGD(model.parameters(), lr=0.1)
sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
for epoch, val_loss in enumerate([1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7]):
    sched.step(val_loss)
    print(f"Plateau epoch {epoch}: lr {opt.param_groups[0]['lr']}")

opt = torch.optim.SGD(model.parameters(), lr=0.1)
warmup = LinearLR(opt, start_factor=0.1, total_iters=3)
decay = CosineAnnealingLR(opt, T_max=5)
sched = SequentialLR(opt, schedulers=[warmup, decay], milestones=[3])
print("Sequential", [f"{sched.get_last_lr()[0]:.5f}" for _ in range(1)
                     ], end=" ")
for epoch in range(8):
    train_step(opt)
    sched.step()
    print(f"{sched.get_last_lr()[0]:.5f}", end=" ")
print()
print(sched.state_dict()["_milestones"], type(sched).__name__)
