# Hooks as scripts use them: a forward hook collecting intermediate activations (feature
# extraction), a full backward hook logging gradient norms, a tensor hook clipping a gradient,
# and removing the handles.
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(3, 6, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(6, 8, 3, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    nn.Flatten(),
    nn.Linear(8, 4),
)

activation = {}


def get_activation(name):
    def hook(model, input, output):
        activation[name] = output.detach()
    return hook


grad_norms = []


def log_grad(module, grad_input, grad_output):
    grad_norms.append((type(module).__name__, f"{grad_output[0].norm().item():.5f}",
                       None if grad_input[0] is None else tuple(grad_input[0].shape)))


handles = [model[1].register_forward_hook(get_activation("relu1")),
           model[6].register_forward_hook(get_activation("flat"))]
for layer in model:
    if isinstance(layer, (nn.Conv2d, nn.Linear)):
        handles.append(layer.register_full_backward_hook(log_grad))


def pre_hook(module, args):
    print("pre-hook on", type(module).__name__, "input", tuple(args[0].shape))


handles.append(model[0].register_forward_pre_hook(pre_hook))
x = torch.randn(2, 3, 8, 8, requires_grad=True)
out = model(x)
for name, act in activation.items():
    print(name, tuple(act.shape), f"{act.mean().item():.5f}")
out.pow(2).sum().backward()
for entry in grad_norms:
    print(entry)
print(f"input grad {x.grad.abs().sum().item():.5f}")

w = model[7].weight
h = w.register_hook(lambda g: g.clamp(-0.01, 0.01))
model.zero_grad()
model(x).sum().backward()
print(f"clamped grad max {w.grad.abs().max().item():.4f}")
h.remove()
for handle in handles:
    handle.remove()
activation.clear()
grad_norms.clear()
model(x).sum().backward()
print(len(activation), len(grad_norms), model[0]._forward_hooks, model[0]._forward_pre_hooks)
