# Sequence classification with a GRU over variable-length inputs: a sum-of-sequence parity-like
# task on synthetic data, as in many "RNN from scratch" classifier scripts.
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

torch.manual_seed(0)


class SeqDataset(Dataset):
    def __init__(self, n, vocab=12, max_len=10):
        self.items = []
        for _ in range(n):
            length = int(torch.randint(3, max_len + 1, (1,)))
            seq = torch.randint(1, vocab, (length,))
            label = int(seq.sum() > length * vocab / 2)
            self.items.append((seq, label))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def collate(batch):
    seqs, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in seqs])
    padded = nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    return padded, lengths, torch.tensor(labels)


class GRUClassifier(nn.Module):
    def __init__(self, vocab=12, emb=16, hidden=24, num_layers=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb, padding_idx=0)
        self.gru = nn.GRU(emb, hidden, num_layers=num_layers, batch_first=True, dropout=0.1)
        self.fc = nn.Linear(hidden, 2)

    def forward(self, x, lengths):
        emb = self.embedding(x)
        packed = nn.utils.rnn.pack_padded_sequence(emb, lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, hidden = self.gru(packed)
        return self.fc(hidden[-1])


train_ds = SeqDataset(256)
val_ds = SeqDataset(64)
train_loader = DataLoader(train_ds, batch_size=32, shuffle=True, collate_fn=collate)
val_loader = DataLoader(val_ds, batch_size=64, collate_fn=collate)
model = GRUClassifier()
print(model)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.RMSprop(model.parameters(), lr=0.005)

for epoch in range(4):
    model.train()
    running = 0.0
    for x, lengths, y in train_loader:
        optimizer.zero_grad()
        out = model(x, lengths)
        loss = criterion(out, y)
        loss.backward()
        nn.utils.clip_grad_value_(model.parameters(), 1.0)
        optimizer.step()
        running += loss.item()
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, lengths, y in val_loader:
            correct += (model(x, lengths).argmax(1) == y).sum().item()
    print(f"Epoch [{epoch + 1}/4], Loss: {running / len(train_loader):.4f}, "
          f"Val Acc: {100 * correct / len(val_ds):.1f}%")
