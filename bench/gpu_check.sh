#!/usr/bin/env bash
# The CUDA checks, on a machine with an NVIDIA GPU, from a fresh checkout, in one go (<= 8 min):
#   1. install ember with CuPy and the test extra (PyTorch with CUDA: the oracle and the rival);
#   2. the device tests (tests/device: placement, every op record on the GPU against the CPU,
#      training steps) on the real GPU instead of the CPU device checker;
#   3. ember against PyTorch CUDA (values, gradients, training losses) and the GPU benchmarks
#      (bench/gpu.py), whose table lands in bench/gpu_results.md for the README.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv-gpu/bin/python ]; then
  "$PY" -m venv .venv-gpu
fi
.venv-gpu/bin/pip install -q -e '.[cuda,test]'
.venv-gpu/bin/python -c "import ember, sys; ok = ember.cuda.is_available(); \
print('CUDA:', ember.cuda.get_device_name(0) if ok else 'none'); sys.exit(0 if ok else 2)"
timeout 300 .venv-gpu/bin/python -m pytest -q -p no:cacheprovider -x tests/device
timeout 180 .venv-gpu/bin/python -m bench.gpu --write bench/gpu_results.md
