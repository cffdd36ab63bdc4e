# DataLoader with worker processes: num_workers=2, a worker_init_fn seeding NumPy per worker,
# get_worker_info() in an IterableDataset to shard it, persistent workers across epochs.
import math

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info


class SquaresDataset(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = torch.tensor([float(i)])
        return x, x ** 2 + np.random.randint(0, 3)


class RangeStream(IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            lo, hi = self.start, self.end
        else:
            per_worker = int(math.ceil((self.end - self.start) / float(info.num_workers)))
            lo = self.start + info.id * per_worker
            hi = min(lo + per_worker, self.end)
        return iter(range(lo, hi))


def worker_init_fn(worker_id):
    np.random.seed(1000 + worker_id)


def main():
    torch.manual_seed(0)
    loader = DataLoader(SquaresDataset(16), batch_size=4, shuffle=True, num_workers=2,
                        worker_init_fn=worker_init_fn)
    for epoch in range(2):
        for x, y in loader:
            print(epoch, x.flatten().tolist(), y.flatten().tolist())
    print("main-process draw after workers:", torch.rand(2))

    stream = RangeStream(3, 10)
    print("single process:", list(DataLoader(stream, num_workers=0)))
    print("two workers:", sorted(int(t) for t in DataLoader(stream, num_workers=2)))

    loader = DataLoader(SquaresDataset(8), batch_size=4, num_workers=2,
                        persistent_workers=True, worker_init_fn=worker_init_fn)
    for epoch in range(2):
        print("persistent", epoch, [y.flatten().tolist() for _, y in loader])


if __name__ == "__main__":
    main()
