"""Side-by-side benchmarks: ember vs PyTorch vs hand-written NumPy (see bench/run.py)."""
