"""Tests of ``ember.optim`` against PyTorch."""
