# A Transformer-encoder text classifier: token + sinusoidal positional encoding,
# nn.TransformerEncoder with a key-padding mask, mean pooling over real tokens, AdamW with a
# linear warmup (LambdaLR) and gradient clipping.
import math

import torch
import torch.nn as nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=64):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer('pe', pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0)]
        return self.dropout(x)


class TransformerClassifier(nn.Module):
    def __init__(self, ntoken, d_model=32, nhead=4, d_hid=64, nlayers=2, nclass=3, dropout=0.1):
        super().__init__()
        self.model_type = 'Transformer'
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        encoder_layers = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
        self.transformer_encoder = nn.TransformerEncoder(encoder_layers, nlayers,
                                                         enable_nested_tensor=False)
        self.embedding = nn.Embedding(ntoken, d_model, padding_idx=0)
        self.d_model = d_model
        self.classifier = nn.Linear(d_model, nclass)

    def forward(self, src, padding_mask):
        src = self.embedding(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        output = self.transformer_encoder(src, src_key_padding_mask=padding_mask)
        keep = (~padding_mask).T.unsqueeze(-1).float()
        pooled = (output * keep).sum(0) / keep.sum(0)
        return self.classifier(pooled)


torch.manual_seed(0)
ntokens, seq_len, n = 20, 12, 96
lengths = torch.randint(4, seq_len + 1, (n,))
tokens = torch.randint(1, ntokens, (seq_len, n))
padding_mask = torch.arange(seq_len).unsqueeze(1) >= lengths.unsqueeze(0)
tokens = tokens.masked_fill(padding_mask, 0)
labels = (tokens == 1).sum(0).clamp(max=2)
padding_mask = padding_mask.T
print(tokens.shape, padding_mask.shape, labels.bincount().tolist())

model = TransformerClassifier(ntokens)
print(sum(p.numel() for p in model.parameters()))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
warmup = 4
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
for epoch in range(3):
    model.train()
    total = 0.0
    for i in range(0, n, 32):
        optimizer.zero_grad()
        out = model(tokens[:, i:i + 32], padding_mask[i:i + 32])
        loss = criterion(out, labels[i:i + 32])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        scheduler.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        acc = (model(tokens, padding_mask).argmax(1) == labels).float().mean()
    print(f"| epoch {epoch + 1:3d} | lr {scheduler.get_last_lr()[0]:02.4f} | "
          f"loss {total / 3:5.3f} | acc {acc:.3f}")
