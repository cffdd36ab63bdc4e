# Gradient accumulation: micro-batches of 8 summed into an effective batch of 32, with the loss
# divided by the number of accumulation steps; checked against one big batch.
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
X = torch.randn(256, 20)
w_true = torch.randn(20, 1)
y = X @ w_true + 0.1 * torch.randn(256, 1)
dataset = TensorDataset(X, y)

model = nn.Sequential(nn.Linear(20, 64), nn.Tanh(), nn.Linear(64, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.MSELoss()
accumulation_steps = 4
loader = DataLoader(dataset, batch_size=8, shuffle=True, drop_last=True)

for epoch in range(3):
    model.train()
    optimizer.zero_grad()
    running_loss = 0.0
    for i, (inputs, labels) in enumerate(loader):
        outputs = model(inputs)
        loss = criterion(outputs, labels) / accumulation_steps
        loss.backward()
        running_loss += loss.item()
        if (i + 1) % accumulation_steps == 0:
            optimizer.step()
            optimizer.zero_grad()
    print(f"Epoch {epoch + 1}: loss {running_loss / (len(loader) / accumulation_steps):.4f}")

# Accumulated micro-batch gradients equal the gradient of the big batch.
model.zero_grad()
xb, yb = X[:32], y[:32]
for k in range(4):
    (criterion(model(xb[8 * k:8 * k + 8]), yb[8 * k:8 * k + 8]) / 4).backward()
accumulated = [p.grad.clone() for p in model.parameters()]
model.zero_grad()
criterion(model(xb), yb).backward()
print(all(torch.allclose(a, p.grad, atol=1e-6) for a, p in zip(accumulated, model.parameters())))
print([tuple(g.shape) for g in accumulated])
