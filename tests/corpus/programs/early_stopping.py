# Early stopping on a validation loss with patience, keeping the best weights (deep-copied
# state_dict), and dropout that is active in train() and off in eval().
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(42)
n_features = 12
X = torch.randn(400, n_features)
y = ((X[:, 0] * X[:, 1] + X[:, 2].sin() - 0.3 * X[:, 3]) > 0).long()
X_train, y_train = X[:300], y[:300]
X_val, y_val = X[300:], y[300:]


class Classifier(nn.Module):
    def __init__(self, p=0.3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_features, 64), nn.ReLU(), nn.Dropout(p),
            nn.Linear(64, 64), nn.ReLU(), nn.Dropout(p),
            nn.Linear(64, 2))

    def forward(self, x):
        return self.net(x)


class EarlyStopping:
    def __init__(self, patience=3, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.counter = 0
        self.best_loss = float("inf")
        self.best_state = None
        self.early_stop = False

    def __call__(self, val_loss, model):
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = val_loss
            self.best_state = copy.deepcopy(model.state_dict())
            self.counter = 0
        else:
            self.counter += 1
            print(f"EarlyStopping counter: {self.counter} out of {self.patience}")
            if self.counter >= self.patience:
                self.early_stop = True


model = Classifier()
x0 = X_val[:4]
model.train()
a, b = model(x0), model(x0)
print("dropout active in train():", not torch.equal(a, b))
model.eval()
print("deterministic in eval():", torch.equal(model(x0), model(x0)))

optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
stopper = EarlyStopping(patience=3, min_delta=1e-3)
for epoch in range(1, 60):
    model.train()
    perm = torch.randperm(300)
    for i in range(0, 300, 50):
        idx = perm[i:i + 50]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_logits = model(X_val)
        val_loss = F.cross_entropy(val_logits, y_val).item()
        val_acc = (val_logits.argmax(1) == y_val).float().mean().item()
    print(f"epoch {epoch:02d} train_loss={loss.item():.4f} val_loss={val_loss:.4f} "
          f"val_acc={val_acc:.3f}")
    stopper(val_loss, model)
    if stopper.early_stop:
        print(f"Early stopping at epoch {epoch}")
        break

model.load_state_dict(stopper.best_state)
model.eval()
with torch.no_grad():
    print(f"best val loss {F.cross_entropy(model(X_val), y_val).item():.4f} "
          f"(recorded {stopper.best_loss:.4f})")
