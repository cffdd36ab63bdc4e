# Whole-model save and load (the pickled module), which PyTorch 2.6+ only loads with an
# explicit weights_only=False; plus the state_dict route into a fresh module.
import os
import pickle
import tempfile

import torch
import torch.nn as nn


class TinyConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.head(torch.flatten(x, 1))


torch.manual_seed(0)
model = TinyConvNet()
x = torch.randn(2, 1, 8, 8)
expected = model(x)
print(expected)

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "model.pt")
    torch.save(model, path)
    try:
        loaded = torch.load(path)
    except pickle.UnpicklingError:
        print("weights_only load refused the pickled module; loading it as trusted")
        loaded = torch.load(path, weights_only=False)
    loaded.eval()
    print(type(loaded).__name__, isinstance(loaded, nn.Module))
    print(loaded)
    with torch.no_grad():
        out = loaded(x)
    print(torch.equal(out, expected.detach()), out.requires_grad)

    sd_path = os.path.join(tmp, "weights.pth")
    torch.save(model.state_dict(), sd_path)
    fresh = TinyConvNet()
    result = fresh.load_state_dict(torch.load(sd_path, map_location="cpu", weights_only=True))
    print(result)
    print(torch.allclose(fresh(x), expected))
    sd = torch.load(sd_path)
    for k, v in sd.items():
        print(k, tuple(v.shape), v.dtype)
    missing = fresh.load_state_dict({k: v for k, v in sd.items() if k != "head.bias"},
                                    strict=False)
    print(missing.missing_keys, missing.unexpected_keys)
