"""Data-parallel training of the demo's digit classifier with DistributedDataParallel.

Contract: plain PyTorch code with ``import ember as torch`` (``--torch`` runs it on PyTorch,
with its gloo backend). Every process joins the default process group, draws its share of
each shuffled epoch through a ``DistributedSampler``, and trains a ``DistributedDataParallel``
copy of the demo's small CNN (``ember.demo.build_model``) with Adam. The global batch of 64
images is split evenly over the processes, and DDP averages their gradients, so a run on N
processes follows the same training as one process (equal to rounding): the union of the
ranks' batches at each step is the one process's batch. Rank 0 prints the global mean loss of
each epoch and, last, ``test accuracy: 0.xxx``. ``--fast`` trains three epochs on a slice.

    mpiexec -n 2 python examples/ddp_digits.py      # two processes
    python examples/ddp_digits.py [--fast] [--torch]  # one process
"""

import argparse
import os
import tempfile

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="tiny run for tests (a few seconds)")
parser.add_argument("--torch", action="store_true", help="run the same code on PyTorch")
args = parser.parse_args()

if args.torch:
    import torch
else:
    import ember as torch
from ember.demo import build_model, load_digits_data  # noqa: E402 - data and model only

dist = torch.distributed
DDP = torch.nn.parallel.DistributedDataParallel
GLOBAL_BATCH, EPOCHS, LR, SEED = 64, 8, 5e-3, 0


def init():
    """Join the default group: MPI for ember (mpiexec says who is who); gloo for PyTorch,
    with the rank and size mpiexec sets (MPICH or Open MPI), or a group of one."""
    if not args.torch:
        dist.init_process_group("mpi")
        return
    env = os.environ
    rank = int(env.get("PMI_RANK", env.get("OMPI_COMM_WORLD_RANK", env.get("RANK", 0))))
    size = int(env.get("PMI_SIZE", env.get("OMPI_COMM_WORLD_SIZE", env.get("WORLD_SIZE", 1))))
    if size == 1:
        url = "file://" + os.path.join(tempfile.mkdtemp(), "rendezvous")
    else:
        url = f"tcp://127.0.0.1:{env.get('MASTER_PORT', '29511')}"
    dist.init_process_group("gloo", init_method=url, rank=rank, world_size=size)


init()
rank, world = dist.get_rank(), dist.get_world_size()
say = print if rank == 0 else (lambda *a, **k: None)
if GLOBAL_BATCH % world:
    raise SystemExit(f"the global batch of {GLOBAL_BATCH} does not split over {world} processes")
say(f"backend: {torch.__name__}")

x_tr, y_tr, x_te, y_te, source = load_digits_data(SEED)
epochs = EPOCHS
if args.fast:
    x_tr, y_tr, epochs = x_tr[:512], y_tr[:512], 3
say(f"data: {source}; {len(x_tr)} training and {len(x_te)} test images")
say(f"{world} process(es), {GLOBAL_BATCH // world} images each per step "
    f"(global batch {GLOBAL_BATCH})")

train_set = torch.utils.data.TensorDataset(torch.tensor(x_tr), torch.tensor(y_tr))
sampler = torch.utils.data.DistributedSampler(train_set, seed=SEED)
loader = torch.utils.data.DataLoader(train_set, batch_size=GLOBAL_BATCH // world,
                                     sampler=sampler)

torch.manual_seed(SEED)
model = DDP(build_model(torch))  # (rank 0's initial weights reach every process)
optimizer = torch.optim.Adam(model.parameters(), lr=LR)
loss_fn = torch.nn.CrossEntropyLoss()

for epoch in range(1, epochs + 1):
    sampler.set_epoch(epoch)  # a new order each epoch, the same on every process
    model.train()
    totals = torch.zeros(2, dtype=torch.float64)  # (sum of losses, images) on this process
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()  # gradients are averaged over the processes here
        optimizer.step()
        totals += torch.tensor([loss.item() * len(yb), len(yb)], dtype=torch.float64)
    dist.all_reduce(totals)  # the epoch's loss over every process's images
    say(f"epoch {epoch}/{epochs}  loss {(totals[0] / totals[1]).item():.4f}")

model.eval()
with torch.no_grad():
    accuracy = (model.module(torch.tensor(x_te)).argmax(1) == torch.tensor(y_te)).float()
say(f"test accuracy: {accuracy.mean().item():.3f}")
dist.destroy_process_group()
