# A script in the PyTorch 0.3/0.4-era style still found in repositories: Variable,
# FloatTensor/LongTensor constructors, .data, .cuda() guarded by a flag, manual SGD on .data,
# size_average-era losses replaced by reduction, volatile-free eval with no_grad.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import Variable

use_cuda = torch.cuda.is_available()
FloatTensor = torch.cuda.FloatTensor if use_cuda else torch.FloatTensor
LongTensor = torch.cuda.LongTensor if use_cuda else torch.LongTensor

np.random.seed(0)
torch.manual_seed(0)
X_np = np.random.randn(120, 4).astype(np.float32)
y_np = (X_np[:, 0] + X_np[:, 1] > 0).astype(np.int64)
X = Variable(torch.from_numpy(X_np))
y = Variable(torch.from_numpy(y_np))
print(type(X).__name__, X.requires_grad, isinstance(X, torch.FloatTensor))


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(4, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


net = Net()
if use_cuda:
    net.cuda()
lr = 0.1
for epoch in range(30):
    out = net(X)
    loss = F.nll_loss(out, y)
    net.zero_grad()
    loss.backward()
    for p in net.parameters():
        p.data.add_(p.grad.data, alpha=-lr)
    if epoch % 10 == 0:
        print("epoch %d loss %.4f" % (epoch, loss.data.item()))

with torch.no_grad():
    pred = net(Variable(FloatTensor(X_np[:8]))).data.max(1)[1]
print(pred, pred.type(), LongTensor(y_np[:8]).eq(pred).sum().item())
t = torch.FloatTensor(2, 3).zero_()
print(t, torch.LongTensor([1, 2, 3]), torch.Tensor([1.5]).type())
v = Variable(torch.ones(2), requires_grad=True)
(v * 3).sum().backward()
print(v.grad, v.data, torch.DoubleTensor([1, 2]).dtype, torch.ByteTensor([1, 0]))
print(np.asarray(net.fc1.weight.data.numpy()).shape, net.fc1.weight.data.cpu().numpy().dtype)
