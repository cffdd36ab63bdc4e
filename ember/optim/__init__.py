"""``ember.optim``: optimizers and learning-rate schedulers (PyTorch's ``torch.optim``).

Contract: the names, signatures, defaults, state layout (``state_dict`` format) and update
arithmetic of ``torch.optim``'s optimizers, and ``ember.optim.lr_scheduler`` for schedules.
"""

from __future__ import annotations

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "LBFGS", "NAdam", "Optimizer", "RAdam",
           "RMSprop", "SGD", "lr_scheduler"]
