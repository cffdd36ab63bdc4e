# A part-of-speech tagger in the shape of the "Sequence Models and LSTM Networks" tutorial,
# then a batched version with padding, pack_padded_sequence and ignore_index.
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

torch.manual_seed(1)


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


training_data = [
    ("The dog ate the apple".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("Everybody read that book".split(), ["NN", "V", "DET", "NN"]),
    ("The cat saw a dog".split(), ["DET", "NN", "V", "DET", "NN"]),
    ("A man read the paper".split(), ["DET", "NN", "V", "DET", "NN"]),
]
word_to_ix = {}
for sent, tags in training_data:
    for word in sent:
        if word not in word_to_ix:
            word_to_ix[word] = len(word_to_ix)
print(word_to_ix)
tag_to_ix = {"DET": 0, "NN": 1, "V": 2}

EMBEDDING_DIM = 6
HIDDEN_DIM = 6


class LSTMTagger(nn.Module):
    def __init__(self, embedding_dim, hidden_dim, vocab_size, tagset_size):
        super(LSTMTagger, self).__init__()
        self.hidden_dim = hidden_dim
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def forward(self, sentence):
        embeds = self.word_embeddings(sentence)
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1))
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))
        tag_scores = F.log_softmax(tag_space, dim=1)
        return tag_scores


model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(word_to_ix), len(tag_to_ix))
loss_function = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)

with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)
    print(tag_scores)

for epoch in range(60):
    total = 0.0
    for sentence, tags in training_data:
        model.zero_grad()
        sentence_in = prepare_sequence(sentence, word_to_ix)
        targets = prepare_sequence(tags, tag_to_ix)
        tag_scores = model(sentence_in)
        loss = loss_function(tag_scores, targets)
        loss.backward()
        optimizer.step()
        total += loss.item()
    if epoch % 20 == 19:
        print(f"epoch {epoch + 1}: loss {total / len(training_data):.4f}")

with torch.no_grad():
    inputs = prepare_sequence(training_data[0][0], word_to_ix)
    tag_scores = model(inputs)
    print(tag_scores.argmax(dim=1))

# Batched: pad the sentences, pack them for a bidirectional LSTM, ignore the padding in the loss.
PAD_IDX = len(word_to_ix)
PAD_TAG = -100


class BatchedTagger(nn.Module):
    def __init__(self, vocab_size, tagset_size, emb=8, hidden=8):
        super().__init__()
        self.emb = nn.Embedding(vocab_size + 1, emb, padding_idx=PAD_IDX)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, tagset_size)

    def forward(self, x, lengths):
        e = self.emb(x)
        packed = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        out, (h, c) = self.lstm(packed)
        out, out_lengths = pad_packed_sequence(out, batch_first=True)
        return self.out(out), out_lengths


sents = [prepare_sequence(s, word_to_ix) for s, _ in training_data]
tags = [prepare_sequence(t, tag_to_ix) for _, t in training_data]
lengths = torch.tensor([len(s) for s in sents])
x = pad_sequence(sents, batch_first=True, padding_value=PAD_IDX)
y = pad_sequence(tags, batch_first=True, padding_value=PAD_TAG)
print(x)
print(y)
tagger = BatchedTagger(len(word_to_ix), len(tag_to_ix))
opt = optim.Adam(tagger.parameters(), lr=0.05)
for step in range(30):
    opt.zero_grad()
    logits, out_lengths = tagger(x, lengths)
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                           ignore_index=PAD_TAG)
    loss.backward()
    opt.step()
    if step % 10 == 0:
        print(f"step {step}: loss {loss.item():.4f}")
print(out_lengths, logits.shape)
pred = logits.argmax(-1)
mask = y != PAD_TAG
print(f"accuracy {(pred[mask] == y[mask]).float().mean().item():.3f}")
