"""A character-level LSTM language model trained on a few paragraphs embedded below.

Contract: plain PyTorch code with ``import ember as torch`` (``--torch`` runs the same code on
PyTorch). It turns the text into character indices, trains ``nn.Embedding -> nn.LSTM ->
nn.Linear`` to predict the next character on random windows with Adam, clipping the gradient
norm with ``nn.utils.clip_grad_norm_`` before each step, then samples characters from the
model one at a time, carrying the LSTM state. ``--fast`` trains a smaller model for a few
steps. The last line printed is ``final loss: x.xxxx`` (mean cross-entropy over the text, in
nats per character; a uniform guess over the alphabet scores about ln(alphabet size)).

    python examples/char_rnn.py [--fast] [--torch]
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

TEXT = """\
The quick brown fox jumps over the lazy dog. The lazy dog sleeps in the sun, and the fox
runs into the woods. In the woods the fox finds a stream, and it drinks from the stream
before it runs on. The sun goes down over the hills, and the dog wakes up and looks for
the fox, but the fox is gone.

A gradient tells us which way is up. To go down the hill we step against the gradient,
a little at a time, and we check where we are after every step. If the steps are too big
we jump over the valley; if they are too small we never get there. So we pick a learning
rate, and we watch the loss go down.

The model reads one character at a time and guesses the next one. At first its guesses
are random, but after a while it learns that a space comes after a word, that the word
the comes often, and that a sentence ends with a full stop. It does not know what a fox
is, but it knows how the word fox is spelled.
"""

# ---- data ----

chars = sorted(set(TEXT))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in TEXT], dtype=torch.long)
vocab_size = len(chars)
print(f"text: {len(TEXT)} characters, alphabet of {vocab_size} "
      f"(uniform guessing scores {math.log(vocab_size):.3f} nats per character)")

seq_len, batch_size = (16, 16) if args.fast else (32, 32)
hidden_size = 32 if args.fast else 96
steps = 30 if args.fast else 250


def get_batch():
    """Random windows of the text and the same windows shifted by one character."""
    starts = torch.randint(0, len(data) - seq_len - 1, (batch_size,))
    x = torch.stack([data[s:s + seq_len] for s in starts.tolist()])
    y = torch.stack([data[s + 1:s + seq_len + 1] for s in starts.tolist()])
    return x, y


# ---- model ----

class CharLSTM(nn.Module):
    def __init__(self, vocab_size, hidden_size):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 32)
        self.lstm = nn.LSTM(32, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


model = CharLSTM(vocab_size, hidden_size)
print(model)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2 if args.fast else 5e-3)

# ---- training ----

max_norm = 0.25
clipped = 0
for step in range(1, steps + 1):
    x, y = get_batch()
    logits, _ = model(x)
    loss = F.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    # LSTMs can produce a rare huge gradient; clipping its norm keeps one step from undoing
    # the rest. The returned norm is the one before clipping.
    grad_norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
    clipped += int(grad_norm.item() > max_norm)
    optimizer.step()
    if step % (10 if args.fast else 50) == 0 or step == 1:
        print(f"step {step:4d}  loss {loss.item():.4f}  grad norm {grad_norm.item():.3f}")

print(f"gradient norm clipped to {max_norm} on {clipped} of {steps} steps")

# ---- sampling ----

model.eval()
generator = torch.Generator().manual_seed(0)
prompt = "The "
with torch.no_grad():
    logits, state = model(torch.tensor([[stoi[c] for c in prompt]]))
    out = prompt
    for _ in range(40 if args.fast else 160):
        probs = F.softmax(logits[0, -1] / 0.8, dim=-1)
        nxt = torch.multinomial(probs, 1, generator=generator)
        out += chars[nxt.item()]
        logits, state = model(nxt.view(1, 1), state)
    print("sample:")
    print(out)

    logits, _ = model(data[:-1].unsqueeze(0))
    final = F.cross_entropy(logits[0], data[1:]).item()
print(f"final loss: {final:.4f}")
