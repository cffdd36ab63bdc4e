"""``python -m ember demo``: train a small convolutional network on handwritten digits.

Contract: the code below is plain PyTorch code run with ``torch = ember`` (pass ``torch`` itself
as ``module`` to run the same training on PyTorch). It loads scikit-learn's 8x8 digits (the
``demo`` extra; without scikit-learn it generates digit-like data and says so), trains for a
few epochs with Adam, prints loss and accuracy per epoch (with a tqdm progress bar when tqdm
is installed), writes ``loss.png`` (matplotlib) and ``graph.svg`` (graphviz) into ``out_dir``
when those extras are installed, and ends with the line ``test accuracy: 0.9xx``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np


def load_digits_data(seed=0):
    """``(x_train, y_train, x_test, y_test, source)`` as NumPy arrays (images N x 1 x 8 x 8
    scaled to [0, 1])."""
    rng = np.random.default_rng(seed)
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        x, y = _generated_digits(rng)
        source = "generated digit-like data (install scikit-learn for the real digits: " \
                 "pip install 'ember[demo]')"
    else:
        digits = load_digits()
        x = digits.images.astype(np.float32) / 16.0
        y = digits.target.astype(np.int64)
        source = "scikit-learn's handwritten digits (1797 images, 8x8)"
    order = rng.permutation(len(x))
    x, y = x[order][:, None], y[order]
    n_test = len(x) // 5
    return x[n_test:], y[n_test:], x[:n_test], y[:n_test], source


def _generated_digits(rng, n=1800):
    """Ten fixed random 8x8 stroke patterns, shifted and blurred with noise."""
    protos = (rng.random((10, 8, 8)) > 0.6).astype(np.float32)
    y = rng.integers(0, 10, n)
    x = protos[y]
    shifts = rng.integers(-1, 2, (n, 2))
    x = np.stack([np.roll(img, tuple(s), axis=(0, 1)) for img, s in zip(x, shifts)])
    x = np.clip(x * 0.8 + rng.normal(0, 0.25, x.shape), 0, 1).astype(np.float32)
    return x, y.astype(np.int64)


def build_model(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, 10))


def _progress(iterable, total, desc):
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr)


def train(torch, epochs=12, batch_size=64, lr=5e-3, seed=0, out_dir=None, quiet=False,
          compile=False):  # noqa: A002 - torch.compile's name
    """Train and evaluate; returns ``(test_accuracy, losses_per_epoch)``. With ``compile``,
    the training step (forward, backward, Adam) runs through ``torch.compile``: the same
    numbers, bit for bit."""
    say = (lambda *a: None) if quiet else print
    x_tr, y_tr, x_te, y_te, source = load_digits_data(seed)
    say(f"data: {source}; {len(x_tr)} training and {len(x_te)} test images")
    torch.manual_seed(seed)
    model = build_model(torch)
    say(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    data = torch.utils.data.TensorDataset(torch.tensor(x_tr), torch.tensor(y_tr))
    gen = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True,
                                         generator=gen)
    x_test, y_test = torch.tensor(x_te), torch.tensor(y_te)
    losses = []
    last_loss = None

    def step(xb, yb):
        optimizer.zero_grad()
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        optimizer.step()
        return loss, logits
    if compile:
        step = torch.compile(step)
        say(f"training step: compiled with {torch.__name__}.compile")
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        total, correct, seen = 0.0, 0, 0
        for xb, yb in _progress(loader, len(loader), f"epoch {epoch}/{epochs}"):
            loss, logits = step(xb, yb)
            total += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
            last_loss = loss
        losses.append(total / seen)
        test_acc = evaluate(torch, model, x_test, y_test)
        say(f"epoch {epoch}/{epochs}  loss {total / seen:.4f}  train accuracy "
            f"{correct / seen:.3f}  test accuracy {test_acc:.3f}")
    say(f"trained in {time.perf_counter() - start:.1f} s")
    if compile and out_dir is not None:
        # (a compiled step's loss carries no graph to draw: draw an eager forward's)
        model.train()
        last_loss = loss_fn(model(xb), yb)
    if out_dir is not None:
        _write_pictures(torch, losses, last_loss, model, out_dir, say)
    test_acc = evaluate(torch, model, x_test, y_test)
    return test_acc, losses


def evaluate(torch, model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def _atomic(path, write):
    """``write(tmp_path)``, then the file replaces ``path`` (never a half-written picture)."""
    from ._io import atomic_path

    with atomic_path(path) as tmp:
        write(tmp)


def _write_pictures(torch, losses, last_loss, model, out_dir, say):
    os.makedirs(out_dir, exist_ok=True)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        say("loss curve: skipped (pip install 'ember[demo]' for matplotlib)")
    else:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(range(1, len(losses) + 1), losses, marker="o")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.set_title("ember: digits classifier")
        fig.tight_layout()
        path = os.path.join(out_dir, "loss.png")
        _atomic(path, lambda p: fig.savefig(p, format="png"))
        plt.close(fig)
        say(f"loss curve: {path}")
    graph = getattr(getattr(torch, "autograd", None), "graph", None)
    to_dot = getattr(graph, "to_dot", None)
    if to_dot is None or last_loss is None:
        return
    try:
        dot = to_dot(last_loss, params=dict(model.named_parameters()))
        path = os.path.join(out_dir, "graph.svg")
        _atomic(path, lambda p: dot.render(p, format="svg"))
        say(f"graph picture: {path}")
    except (ImportError, RuntimeError) as e:
        say(f"graph picture: skipped ({str(e).splitlines()[0]})")


def main(module=None, epochs=12, out_dir=".", quiet=False, compile=False):  # noqa: A002
    import ember

    torch = module or ember
    acc, _ = train(torch, epochs=epochs, out_dir=out_dir, quiet=quiet, compile=compile)
    print(f"test accuracy: {acc:.3f}")
    return acc
