# The setup block of many 2.x training scripts: reproducibility flags, thread counts, device
# selection, cudnn switches, a seed_everything helper, torch.testing.assert_close in a unit
# check, compile guarded by hasattr/availability.
import os
import random

import numpy as np
import torch
import torch.nn as nn


def seed_everything(seed: int = 42):
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


seed_everything(42)
torch.set_num_threads(1)
print("threads:", torch.get_num_threads())
torch.use_deterministic_algorithms(True)
print("deterministic:", torch.are_deterministic_algorithms_enabled())
print("matmul precision:", torch.get_float32_matmul_precision())
if torch.cuda.is_available():
    device = torch.device("cuda")
elif torch.backends.mps.is_available():
    device = torch.device("mps")
else:
    device = torch.device("cpu")
print("device:", device, "| cuda devices:", torch.cuda.device_count())
print("default dtype:", torch.get_default_dtype())

model = nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8), nn.SiLU(), nn.Linear(8, 2)).to(device)
n_params = sum(p.numel() for p in model.parameters())
print(f"params: {n_params:,}")
x = torch.randn(4, 8, device=device)
with torch.inference_mode():
    y = model(x)
print(y.shape, y.device, y.dtype)

expected = model[0](x) @ torch.eye(8)
torch.testing.assert_close(model[0](x), expected)
try:
    torch.testing.assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.1]))
except AssertionError as e:
    print(str(e).splitlines()[0])
print(torch.rand(3), random.random(), np.random.rand())
state = torch.get_rng_state()
a = torch.randn(2)
torch.set_rng_state(state)
print(torch.equal(a, torch.randn(2)), state.dtype, state.shape)
g = torch.Generator().manual_seed(123)
print(torch.randint(0, 10, (5,), generator=g), torch.randperm(6, generator=g))
print(torch.__version__.split("+")[0] >= "2", torch.cuda.is_available(),
      torch.backends.cudnn.is_available() if torch.cuda.is_available() else "no cudnn")
