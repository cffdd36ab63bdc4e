"""A variational autoencoder on 8x8 digits, with ``torch.distributions``.

Contract: plain PyTorch code with ``import ember as torch`` (``--torch`` runs the same code on
PyTorch). An MLP encoder maps each 64-pixel image to the mean and log-variance of a diagonal
Normal posterior q(z|x) over an 8-dimensional latent; a reparameterised sample
``q.rsample()`` goes through an MLP decoder giving Bernoulli logits for the pixels. The loss is
minus the ELBO: the reconstruction term (binary cross-entropy against the grey levels in
[0, 1]) plus ``kl_divergence(q, Normal(0, 1))`` summed over the latent. Each epoch prints the
average training ELBO per image (nats; higher is better), and the script ends with the test
set's ELBO and a few images decoded from prior samples. Data: ``ember.demo.load_digits_data``
(scikit-learn's digits, or generated digit-like images without scikit-learn). ``--fast`` runs
one short epoch. The last line printed is ``test ELBO: -xx.xxxx``.

    python examples/vae.py [--fast] [--torch]
"""

import argparse

import numpy as np

from ember.demo import load_digits_data  # NumPy arrays only: the same data on both backends

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
D = torch.distributions

print(f"backend: {torch.__name__}")
torch.manual_seed(0)

x_train, _, x_test, _, source = load_digits_data()
x_train = torch.tensor(x_train.reshape(len(x_train), 64))
x_test = torch.tensor(x_test.reshape(len(x_test), 64))
if args.fast:
    x_train, x_test = x_train[:256], x_test[:128]
print(f"data: {source}; {len(x_train)} training and {len(x_test)} test images")

LATENT = 8


class VAE(nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * LATENT))
        self.decoder = nn.Sequential(nn.Linear(LATENT, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 64))

    def posterior(self, x):
        mu, log_var = self.encoder(x).chunk(2, dim=-1)
        return D.Normal(mu, torch.exp(0.5 * log_var))

    def elbo(self, x):
        """The evidence lower bound of each image in ``x`` (a vector, nats)."""
        q = self.posterior(x)
        z = q.rsample()  # reparameterised: gradients reach the encoder through z
        logits = self.decoder(z)
        log_lik = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        prior = D.Normal(torch.zeros_like(z), torch.ones_like(z))
        kl = D.kl_divergence(q, prior).sum(-1)
        return log_lik - kl


model = VAE()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
epochs, batch_size = (1, 64) if args.fast else (12, 64)

for epoch in range(1, epochs + 1):
    model.train()
    order = torch.randperm(len(x_train))
    total = 0.0
    for i in range(0, len(x_train), batch_size):
        x = x_train[order[i:i + batch_size]]
        loss = -model.elbo(x).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += -loss.item() * len(x)
    print(f"epoch {epoch:2d}  train ELBO {total / len(x_train):9.4f}")

model.eval()
with torch.no_grad():
    test_elbo = model.elbo(x_test).mean().item()
    # decode a few draws from the prior and show them as ASCII art
    z = D.Normal(torch.zeros(3, LATENT), torch.ones(3, LATENT)).sample()
    images = torch.sigmoid(model.decoder(z)).reshape(3, 8, 8).numpy()
shades = " .:-=+*#"
for row in range(8):
    print("   ".join("".join(shades[min(int(v * len(shades)), len(shades) - 1)] * 2
                             for v in img[row]) for img in np.asarray(images)))
print(f"test ELBO: {test_elbo:.4f}")
