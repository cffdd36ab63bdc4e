"""``ember.backends``: PyTorch's backend switches (``torch.backends``), with PyTorch's defaults
on a CPU-only machine.

Contract: the names PyTorch programs read and set (``cudnn.benchmark``, ``cudnn.deterministic``,
``cuda.matmul.allow_tf32``, ``mps.is_available()``, ``cpu.get_cpu_capability()``...) exist with
PyTorch's values. ember has no GPU backend: the GPU switches are recorded and change nothing,
and every backend that needs a GPU says it is not available.
"""

from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp, opt_einsum

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]
