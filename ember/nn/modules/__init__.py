"""The layer classes of ``ember.nn``, one module per family (each lists its ``__all__``)."""

from __future__ import annotations

from . import (
    activation,
    container,
    conv,
    dropout,
    flatten,
    linear,
    loss,
    module,
    normalization,
    pooling,
    rnn,
    sparse,
    transformer,
)

__all__: list[str] = []
for _m in (module, container, linear, activation, loss, conv, pooling, normalization, dropout,
           sparse, flatten, rnn, transformer):
    for _name in _m.__all__:
        globals()[_name] = getattr(_m, _name)
        __all__.append(_name)
