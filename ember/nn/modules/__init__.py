"""The layer classes of ``ember.nn``, one module per family (each lists its ``__all__``)."""

from __future__ import annotations

# PyTorch's module paths for classes defined in the families above (whole-model pickles name
# ``torch.nn.modules.batchnorm.BatchNorm2d``...): importing them sets those classes' __module__
from . import (  # noqa: E402, F401
    activation,
    adaptive,
    batchnorm,
    channelshuffle,
    container,
    conv,
    distance,
    dropout,
    flatten,
    fold,
    instancenorm,
    linear,
    loss,
    module,
    normalization,
    padding,
    pixelshuffle,
    pooling,
    rnn,
    sparse,
    transformer,
    upsampling,
)

__all__: list[str] = []
for _m in (module, container, linear, activation, loss, conv, pooling, normalization, dropout,
           sparse, flatten, rnn, transformer):
    for _name in _m.__all__:
        globals()[_name] = getattr(_m, _name)
        __all__.append(_name)
