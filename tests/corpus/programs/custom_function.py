# Custom autograd Functions as in the "Defining new autograd Functions" tutorial
# (LegendrePolynomial3 fitting sin), plus a clamp with a straight-through gradient, checked
# with gradcheck.
import math

import torch


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


dtype = torch.float
device = torch.device("cpu")
torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)
a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
for t in range(400):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, f"{loss.item():.3f}")
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
# The tutorial prints all four coefficients; a and c are zero by symmetry (sin is odd, x is
# symmetric) and end as float noise around 0, whose sign ("-0.0000") differs with rounding, so
# they are printed without it.
print(f'Result: y = {abs(a.item()):.4f} + {b.item():.4f} * P3({abs(c.item()):.4f} + '
      f'{d.item():.4f} x)')
print(type(y_pred.grad_fn).__name__)


class StraightThroughClamp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lo, hi):
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None


class ScaledExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        out = x.exp() * scale
        ctx.save_for_backward(out)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad):
        out, = ctx.saved_tensors
        return grad * out, None


w = torch.tensor([-2.0, 0.5, 3.0], requires_grad=True)
z = StraightThroughClamp.apply(w, -1.0, 1.0)
z.sum().backward()
print(z, w.grad)
inp = torch.randn(5, dtype=torch.double, requires_grad=True)
print("gradcheck:", torch.autograd.gradcheck(lambda t: ScaledExp.apply(t, 2.0), (inp,)))
print("gradgradcheck:", torch.autograd.gradgradcheck(LegendrePolynomial3.apply, (inp,)))
