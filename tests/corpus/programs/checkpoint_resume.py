# Save a checkpoint mid-training (model, optimizer, scheduler, epoch, loss), resume it in a
# fresh model and optimizer, and check the resumed run prints the losses the uninterrupted run
# printed.
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
X = torch.randn(256, 10)
true_w = torch.randn(10, 3)
Y = (X @ true_w).argmax(dim=1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 32)
        self.bn = nn.BatchNorm1d(32)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x))))


def build():
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    return model, optimizer, scheduler


def run_epoch(model, optimizer, scheduler, epoch):
    model.train()
    g = torch.Generator().manual_seed(epoch)
    perm = torch.randperm(len(X), generator=g)
    total = 0.0
    for i in range(0, len(X), 32):
        idx = perm[i:i + 32]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X[idx]), Y[idx])
        loss.backward()
        optimizer.step()
        total += loss.item()
    scheduler.step()
    return total / (len(X) // 32)


torch.manual_seed(1)
model, optimizer, scheduler = build()
uninterrupted = []
for epoch in range(8):
    uninterrupted.append(run_epoch(model, optimizer, scheduler, epoch))
    print(f"epoch {epoch}: loss {uninterrupted[-1]:.5f} lr {scheduler.get_last_lr()[0]:.4f}")

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "checkpoint.pt")
    torch.manual_seed(1)
    model, optimizer, scheduler = build()
    for epoch in range(4):
        loss = run_epoch(model, optimizer, scheduler, epoch)
    torch.save({
        'epoch': epoch,
        'model_state_dict': model.state_dict(),
        'optimizer_state_dict': optimizer.state_dict(),
        'scheduler_state_dict': scheduler.state_dict(),
        'loss': loss,
    }, path)
    print("saved", sorted(torch.load(path).keys()))
    del model, optimizer, scheduler

    model, optimizer, scheduler = build()
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint['model_state_dict'])
    optimizer.load_state_dict(checkpoint['optimizer_state_dict'])
    scheduler.load_state_dict(checkpoint['scheduler_state_dict'])
    start = checkpoint['epoch'] + 1
    print(f"resuming from epoch {start}, loss {checkpoint['loss']:.5f}")
    print(model.bn.num_batches_tracked, optimizer.state_dict()['param_groups'][0]['lr'])
    resumed = []
    for epoch in range(start, 8):
        resumed.append(run_epoch(model, optimizer, scheduler, epoch))
        print(f"epoch {epoch}: loss {resumed[-1]:.5f} lr {scheduler.get_last_lr()[0]:.4f}")
print("same as uninterrupted:", resumed == uninterrupted[4:])
