# Mixed-precision boilerplate written for GPUs, run on a machine without one: the script picks
# its device, and autocast/GradScaler are created with enabled=use_amp (False on CPU).
import torch
import torch.nn as nn

device = "cuda" if torch.cuda.is_available() else "cpu"
use_amp = device == "cuda"
print(f"device={device} use_amp={use_amp} cudnn={torch.backends.cudnn.enabled}")
torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = True
torch.set_float32_matmul_precision("high")

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 4)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
scaler = torch.amp.GradScaler(device, enabled=use_amp)
print("scaler enabled:", scaler.is_enabled())
data = [(torch.randn(8, 16, device=device), torch.randint(0, 4, (8,), device=device))
        for _ in range(12)]
loss_fn = nn.CrossEntropyLoss()
for epoch in range(3):
    for step, (inp, target) in enumerate(data):
        with torch.autocast(device_type=device, dtype=torch.float16, enabled=use_amp):
            output = model(inp)
            loss = loss_fn(output, target)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    print(f"epoch {epoch}: loss {loss.item():.5f} output dtype {output.dtype}")

checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
              "scaler": scaler.state_dict()}
print(sorted(checkpoint), checkpoint["scaler"])

# Autocast on CPU with bfloat16 is a real thing, but this script only checks the context works
# when disabled, as a CPU-only run of a GPU script does.
with torch.autocast(device_type="cpu", enabled=False):
    print(model(data[0][0]).dtype)
print("max memory allocated:", torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0)
