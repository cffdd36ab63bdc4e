"""``vmap`` itself: its arguments, the levels it opens and the outputs it gives back.

Contract: ``vmap(func, in_dims, out_dims, randomness, *, chunk_size)`` checks ``in_dims``
against the inputs as pytrees with PyTorch's messages (``_check_inputs``), runs ``func`` once
per call on a fresh level with the mapped dims moved to the front and marked (``_vmap_once``;
the thread's outermost vmap installs the mode and the swaps, and its exit removes them), moves
each output's batch dim to its ``out_dims`` (``_unbatch``) and, with ``chunk_size``, joins the
pieces.
"""

from __future__ import annotations

import functools

from .. import _pytree
from ._state import _L, _align, _dim_error, _levels, _mark, _next_level, _physical, _tensor_type
from .wrappers import _install, _uninstall


def _name(func):
    return getattr(func, "__name__", repr(func))


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorize ``func`` over dimension ``in_dims`` of its inputs; the mapped dimension of the
    outputs is ``out_dims``.

    >>> ember.func.vmap(ember.dot)(ember.ones(3, 2), ember.ones(3, 2))
    tensor([2., 2., 2.])
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        flat, spec, dims, size = _check_inputs(func, in_dims, args)
        if chunk_size is None or chunk_size >= size:
            return _vmap_once(func, flat, spec, dims, size, kwargs, out_dims, randomness)
        pieces = []
        for start in range(0, size, chunk_size):
            n = min(chunk_size, size - start)
            part = [a if d is None else a.narrow(d, start, n) for a, d in zip(flat, dims)]
            pieces.append(_vmap_once(func, part, spec, dims, n, kwargs, out_dims, randomness))
        return _join_chunks(pieces, out_dims)

    return wrapped


def _check_inputs(func, in_dims, args):
    Tensor = _tensor_type()
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): expected "
                         "`in_dims` to be int or a (potentially nested) tuple matching the "
                         f"structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to "
                         "add inputs, or you are trying to vmap over a function with no inputs. "
                         "The latter is unsupported.")
    # the inputs, in_dims and out_dims are pytrees (ember/_pytree.py), as in PyTorch: which
    # containers count, the key order of dicts, how in_dims broadcast to the inputs (a dict of
    # in_dims hands its values out in its own key order) and the TreeSpec the errors print
    flat, spec = _pytree.tree_flatten(args)
    dims = _pytree._broadcast_to_and_flatten(in_dims, spec)
    if dims is None:
        raise ValueError(
            f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): in_dims is not "
            "compatible with the structure of `inputs`. in_dims has structure "
            f"{_pytree.tree_structure(in_dims)} but inputs has structure {spec}.")
    dims = list(dims)
    for i, (a, d) in enumerate(zip(flat, dims)):
        if not isinstance(d, int) and d is not None:
            raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): Got "
                             f"in_dim={d} for an input but in_dim must be either an integer "
                             "dimension or None.")
        if isinstance(d, int) and not isinstance(a, Tensor):
            raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): Got "
                             f"in_dim={d} for an input but the input is of type {type(a)}. We "
                             "cannot vmap over non-Tensor arguments, please use None as the "
                             "respective in_dim")
        if d is not None:
            n = a.dim()
            if not -n <= d < n:
                raise ValueError(f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): Got "
                                 f"in_dim={d} for some input, but that input is a Tensor of "
                                 f"dimensionality {n} so expected in_dim to satisfy -{n} <= "
                                 f"in_dim < {n}.")
            dims[i] = d % n
    sizes = [a.size(d) for a, d in zip(flat, dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return flat, spec, dims, sizes[0]


def _vmap_once(func, flat, spec, dims, size, kwargs, out_dims, randomness):
    level = next(_next_level)
    if not _L.stack:
        _install()
    _L.stack.append((level, size, randomness))
    _L.sizes[level] = size
    try:
        inputs = []
        for a, d in zip(flat, dims):
            if d is None:
                inputs.append(a)
                continue
            own = _levels(a)
            k = len(own)
            with _physical():
                moved = a.movedim(k + d, k)
            inputs.append(_mark(moved, (*own, level)))
        out = func(*spec.unflatten(inputs), **kwargs)
        return _unbatch(func, out, out_dims, level, size)
    finally:
        _L.stack.pop()
        _L.sizes.pop(level, None)
        for key in [key for key, (_, lv) in _L.table.items() if level in lv]:
            del _L.table[key]
        if not _L.stack:
            _uninstall()


def _unbatch(func, out, out_dims, level, size):
    Tensor = _tensor_type()
    flat, spec = _pytree.tree_flatten(out)
    if isinstance(out, Tensor):
        if isinstance(out_dims, int) or out_dims is None:
            odims = [out_dims]
        elif isinstance(out_dims, tuple) and len(out_dims) == 1:
            odims = list(out_dims)
        else:
            odims = None
    else:
        odims = _pytree._broadcast_to_and_flatten(out_dims, spec)
    if odims is None:
        raise ValueError(
            f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is not "
            "compatible with the structure of `outputs`. out_dims has structure "
            f"{_pytree.tree_structure(out_dims)} but outputs has structure {spec}.")
    results = []
    for o, d in zip(flat, odims):
        if not isinstance(d, int) and d is not None:
            raise ValueError(
                f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must be an int, "
                "None or a python collection of ints representing where in the outputs the "
                "vmapped dimension should appear.")
        if d is None:
            if isinstance(o, Tensor) and level in _levels(o):
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` can not return a "
                                 "BatchedTensor when out_dim is None")
            results.append(o)
            continue
        if not isinstance(o, Tensor):
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return "
                             f"Tensors, got type {type(o)}. Did you mean to set out_dims= to "
                             "None for output?")
        own = _levels(o)
        rest = tuple(lv for lv in own if lv != level)
        with _physical():
            if level in own:
                pos = own.index(level)
                x = o
            else:  # not batched here: every sample has the same value
                x = _align(o, (*own, level), expand=True)
                pos = len(own)
            n = x._data.ndim - len(rest)  # logical rank with this level's dim
            if not -(n) <= d < n:
                raise _dim_error(d, n)
            if pos != len(rest) + d % n:  # in place already: the op's own output, as PyTorch
                x = x.movedim(pos, len(rest) + d % n)
        results.append(_mark(x, rest) if rest else x)
    return spec.unflatten(results)


def _join_chunks(pieces, out_dims):
    from ..ops.join import cat

    Tensor = _tensor_type()
    flats = [_pytree.tree_flatten(p) for p in pieces]
    spec = flats[0][1]
    if isinstance(pieces[0], Tensor):
        odims = [out_dims if not isinstance(out_dims, tuple) else out_dims[0]]
    else:
        odims = _pytree._broadcast_to_and_flatten(out_dims, spec)
    joined = []
    for i, d in enumerate(odims):
        parts = [f[0][i] for f in flats]
        joined.append(parts[0] if d is None else cat(parts, d))
    return spec.unflatten(joined)
