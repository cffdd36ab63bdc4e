"""``ember.utils.tensorboard``: ``SummaryWriter``, PyTorch's TensorBoard logger, writing
TensorBoard's event files through the optional ``tensorboardX`` package
(``pip install 'ember[tensorboard]'``), which writes them without TensorFlow or PyTorch.

Contract: ``torch.utils.tensorboard.SummaryWriter``'s constructor and ``add_*`` methods
(``add_scalar``, ``add_scalars``, ``add_histogram``, ``add_image``, ``add_images``,
``add_hparams``, ``add_text``, ...), ``flush``, ``close`` and the context manager, taking ember
tensors wherever PyTorch's take tensors. Importing this module without ``tensorboardX``
raises ModuleNotFoundError naming the extra to install. ``add_graph`` needs a traced graph,
which comes with ``ember.compile``: it raises NotImplementedError.
"""

from __future__ import annotations

import functools
import sys
import time

from ...tensor import Tensor

_MISSING = ("ember.utils.tensorboard needs the tensorboardX package: "
            "pip install 'ember[tensorboard]'")


def _import_tensorboardx():
    # NOTE: tensorboardX tries ``import torch`` at import (to accept torch tensors): with real
    # PyTorch installed beside ember that costs seconds and loads a second tensor library.
    # A ``None`` entry makes the import fail fast inside its try/except; under
    # ``ember run`` (or install_as_torch) ``torch`` is ember already and is left alone.
    blocked = "torch" not in sys.modules
    if blocked:
        sys.modules["torch"] = None
    try:
        import tensorboardX
    except ModuleNotFoundError as e:
        if e.name != "tensorboardX":
            raise
        raise ModuleNotFoundError(_MISSING, name="tensorboardX") from None
    finally:
        if blocked and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return tensorboardX


_tbx = _import_tensorboardx()


def _to_numpy(value):
    """An ember tensor (or a dict/list holding them) as tensorboardX takes it: NumPy."""
    if isinstance(value, Tensor):
        data = value.detach()
        if data.dtype.name == "bfloat16":
            data = data.float()
        return data.numpy()
    if isinstance(value, dict):
        return {k: _to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
        return type(value)(_to_numpy(v) for v in value)
    return value


def _converting(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        args = [_to_numpy(a) for a in args]
        kwargs = {k: _to_numpy(v) for k, v in kwargs.items()}
        return method(self, *args, **kwargs)

    return wrapper


class SummaryWriter(_tbx.SummaryWriter):
    """Write TensorBoard event files to ``log_dir`` (default ``runs/DATETIME_HOSTNAME``)."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        super().__init__(logdir=log_dir, comment=comment, purge_step=purge_step,
                         max_queue=max_queue, flush_secs=flush_secs,
                         filename_suffix=filename_suffix)

    @property
    def log_dir(self):
        return self.logdir

    def get_logdir(self):
        return self.logdir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None,
                   new_style=False, double_precision=False):
        if isinstance(scalar_value, Tensor):
            scalar_value = scalar_value.item()
        return super().add_scalar(tag, scalar_value, global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several scalars in one chart: each in its own run directory, named as PyTorch names
        it (``LOG_DIR/MAIN_TAG_TAG``; tensorboardX alone would nest ``MAIN_TAG/TAG``)."""
        from tensorboardX.summary import scalar

        walltime = time.time() if walltime is None else walltime
        log_dir = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            if isinstance(value, Tensor):
                value = value.item()
            run = f"{log_dir}/{main_tag.replace('/', '_')}_{tag}"
            writer = self.all_writers.get(run)
            if writer is None:
                writer = _tbx.FileWriter(logdir=run, max_queue=self._max_queue,
                                         flush_secs=self._flush_secs,
                                         filename_suffix=self._filename_suffix)
                self.all_writers[run] = writer
            writer.add_summary(scalar(main_tag, value), global_step, walltime)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        raise NotImplementedError("SummaryWriter.add_graph needs a traced graph, which comes "
                                  "with ember.compile")


for _name in dir(_tbx.SummaryWriter):
    if _name.startswith("add_") and _name not in SummaryWriter.__dict__:
        setattr(SummaryWriter, _name, _converting(getattr(_tbx.SummaryWriter, _name)))

__all__ = ["SummaryWriter"]
