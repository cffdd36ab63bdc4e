"""PyTorch's "Learn the Basics" quickstart, run on ember: classify handwritten digits.

Contract: plain PyTorch code with ``import ember as torch`` (``--torch`` runs the same code on
PyTorch). It wraps scikit-learn's 8x8 digits in a ``Dataset`` (generated digit-like data when
scikit-learn is missing, and it says so), batches them with a ``DataLoader``, defines an
``nn.Module`` subclass, trains it with a loss and an optimizer in a train loop, measures it in
a test loop, saves the ``state_dict`` with ``torch.save``, loads it into a fresh model with
``torch.load`` and predicts one image. ``--fast`` trains on a slice for three epochs (seconds).
The last line printed is ``test accuracy: 0.xxx`` (of the reloaded model).

    python examples/quickstart.py [--fast] [--torch]
"""

import argparse
import os
import tempfile

import numpy as np

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
DataLoader, Dataset = torch.utils.data.DataLoader, torch.utils.data.Dataset

print(f"backend: {torch.__name__}")
torch.manual_seed(0)


# ---- data ----

def load_digits_arrays():
    """Images (N x 8 x 8 in [0, 1]), labels and a sentence saying where they came from."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        # Ten fixed random stroke patterns with noise: learnable, and honest about it.
        rng = np.random.default_rng(0)
        protos = (rng.random((10, 8, 8)) > 0.6).astype(np.float32)
        labels = rng.integers(0, 10, 1800)
        images = np.clip(protos[labels] * 0.8 + rng.normal(0, 0.25, (1800, 8, 8)), 0, 1)
        return (images.astype(np.float32), labels.astype(np.int64),
                "generated digit-like data (scikit-learn is not installed)")
    digits = load_digits()
    return (digits.images.astype(np.float32) / 16.0, digits.target.astype(np.int64),
            "scikit-learn's handwritten digits")


class DigitsDataset(Dataset):
    """One (image, label) pair per index, as a torchvision dataset would give them."""

    def __init__(self, images, labels):
        self.images = images
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return torch.tensor(self.images[idx]), int(self.labels[idx])


images, labels, source = load_digits_arrays()
order = np.random.default_rng(0).permutation(len(labels))
images, labels = images[order], labels[order]
n_test = len(labels) // 5
if args.fast:
    images, labels, n_test = images[:600], labels[:600], 150
training_data = DigitsDataset(images[n_test:], labels[n_test:])
test_data = DigitsDataset(images[:n_test], labels[:n_test])
print(f"data: {source}; {len(training_data)} training and {len(test_data)} test images")

batch_size = 64
train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=batch_size)
for X, y in test_dataloader:
    print(f"Shape of X [N, H, W]: {tuple(X.shape)}")
    print(f"Shape of y: {tuple(y.shape)} {y.dtype}")
    break


# ---- model ----

class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 128),
            nn.ReLU(),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork()
print(model)


# ---- training ----

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)

        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 10 == 0:
            current = (batch + 1) * len(X)
            print(f"loss: {loss.item():>7f}  [{current:>4d}/{size:>4d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0.0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct


epochs = 3 if args.fast else 10
for t in range(epochs):
    print(f"Epoch {t + 1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    test(test_dataloader, model, loss_fn)
print("Done!")


# ---- saving, loading and predicting ----

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "model.pth")
    torch.save(model.state_dict(), path)
    print(f"Saved PyTorch Model State to {os.path.basename(path)}")

    model = NeuralNetwork()
    model.load_state_dict(torch.load(path, weights_only=True))

classes = [str(d) for d in range(10)]
model.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    pred = model(x.unsqueeze(0))
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')

accuracy = test(test_dataloader, model, loss_fn)
print(f"test accuracy: {accuracy:.3f}")
