"""Pytrees: nested containers of leaves, flattened to a list and rebuilt from one (PyTorch's
``torch.utils._pytree``, published as ``ember.utils._pytree``).

Contract (PyTorch's Python pytree, the commonly used part):
- Nodes are the registered container types: tuple, list, dict, every namedtuple class (its
  spec's type is ``collections.namedtuple`` and its context the class), OrderedDict,
  defaultdict (context ``[default_factory, keys]``), deque (context ``maxlen``), ember.Size
  (rebuilt as a plain tuple, as PyTorch rebuilds torch.Size), the ``ember.return_types`` types
  (registered by ``return_types.make``), and whatever ``register_pytree_node`` adds. Anything
  else, None and subclasses of the containers included, is a leaf.
- Dicts flatten in insertion order; their spec's context is the key list, so specs of dicts
  with the same keys in another order differ, as in PyTorch.
- ``TreeSpec`` prints, compares and hashes as PyTorch's (vmap's and func's error messages show
  it); ``LeafSpec()`` warns PyTorch's FutureWarning, the leaves of a flattened tree share one
  ``LeafSpec`` made without warning.
- Errors (``unflatten`` with the wrong number of leaves, ``tree_map`` over trees whose
  structures differ, registering a type twice) are PyTorch's classes and messages.

This module is pure Python and imports nothing else from ember (the core and ``ember.func``
import it directly; ``ember.utils`` re-exports it). vmap and the function transforms flatten
their arguments on every call, so the builtin containers take a fast path in ``tree_flatten``
and ``TreeSpec.unflatten`` instead of a registry look-up.
"""

from __future__ import annotations

import functools
import types
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = [
    "PyTree", "Context", "TreeSpec", "LeafSpec", "NodeDef", "SUPPORTED_NODES",
    "register_pytree_node", "tree_flatten", "tree_unflatten", "tree_iter", "tree_leaves",
    "tree_structure", "tree_map", "tree_map_", "map_only", "tree_map_only", "tree_map_only_",
    "tree_all", "tree_any", "tree_all_only", "tree_any_only", "tree_is_leaf",
    "treespec_leaf", "treespec_tuple", "treespec_dict", "arg_tree_leaves",
    "is_namedtuple", "is_namedtuple_class", "is_namedtuple_instance",
]

PyTree = Any
Context = Any


class NodeDef(NamedTuple):
    """How one container type flattens (``flatten_fn(x) -> (children, context)``) and is
    rebuilt (``unflatten_fn(children, context) -> x``)."""

    type: Any
    flatten_fn: Callable
    unflatten_fn: Callable
    flatten_with_keys_fn: Callable | None = None


SUPPORTED_NODES: dict[Any, NodeDef] = {}

# type -> its registry key, or None for a leaf type: the answer of ``_node_type`` and the
# registry look-up, kept per type because flattening asks it for every value (tensors mostly);
# emptied whenever the registry changes
_KIND: dict[type, Any] = {}
_UNKNOWN = object()


# ---- registration ----------------------------------------------------------------------------

def _private_register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None,
                                  to_dumpable_context=None, from_dumpable_context=None,
                                  flatten_with_keys_fn=None):
    """Register ``cls``, replacing (with PyTorch's warning) an earlier registration."""
    if cls in SUPPORTED_NODES:
        warnings.warn(f"{cls} is already registered as pytree node. Overwriting the previous "
                      "registration.", stacklevel=2)
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)
    _KIND.clear()
    # (PyTorch checks the serialization pair only once the type is registered)
    if (to_dumpable_context is None) != (from_dumpable_context is None):
        raise ValueError(f"Both to_dumpable_context and from_dumpable_context for {cls} must be "
                         "None or registered.")


def register_pytree_node(cls, flatten_fn, unflatten_fn, *, serialized_type_name=None,
                         to_dumpable_context=None, from_dumpable_context=None,
                         flatten_with_keys_fn=None):
    """Make ``cls`` a container: ``flatten_fn(x) -> (children, context)`` and
    ``unflatten_fn(children, context) -> x``. Registering a type twice is a ValueError.
    (ember keeps no serialization registry: ``serialized_type_name`` is accepted and unused.)
    """
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    _private_register_pytree_node(cls, flatten_fn, unflatten_fn,
                                  serialized_type_name=serialized_type_name,
                                  to_dumpable_context=to_dumpable_context,
                                  from_dumpable_context=from_dumpable_context,
                                  flatten_with_keys_fn=flatten_with_keys_fn)


def _deregister_pytree_node(cls):
    """Forget ``cls`` (tests register temporary types)."""
    del SUPPORTED_NODES[cls]
    _KIND.clear()


# ---- node types ------------------------------------------------------------------------------

def is_namedtuple_class(cls) -> bool:
    """Whether ``cls`` is a namedtuple class: a tuple subclass with string ``_fields`` and the
    ``_make`` / ``_asdict`` methods (structseq-like types such as ember.return_types lack
    those, as torch.return_types do)."""
    if not (isinstance(cls, type) and issubclass(cls, tuple)):
        return False
    fields = getattr(cls, "_fields", None)
    return (isinstance(fields, tuple) and all(type(f) is str for f in fields)
            and callable(getattr(cls, "_make", None))
            and callable(getattr(cls, "_asdict", None)))


def is_namedtuple(obj) -> bool:
    """Whether ``obj`` (a class or an instance) is a namedtuple."""
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def is_namedtuple_instance(obj) -> bool:
    return is_namedtuple_class(type(obj))


def _node_type(x):
    """The registry key of ``x``: ``namedtuple`` for every namedtuple class (even one that was
    registered itself, as in PyTorch), else ``type(x)``."""
    cls = type(x)
    if cls is not tuple and issubclass(cls, tuple) and is_namedtuple_class(cls):
        return namedtuple
    return cls


def _kind_of(cls):
    """The registry key for values of type ``cls``, or None when they are leaves."""
    kind = _KIND.get(cls, _UNKNOWN)
    if kind is _UNKNOWN:
        kind = namedtuple if (cls is not tuple and is_namedtuple_class(cls)) else cls
        if kind not in SUPPORTED_NODES:
            kind = None
        _KIND[cls] = kind
    return kind


def tree_is_leaf(tree, is_leaf=None) -> bool:
    """Whether ``tree`` is a leaf: ``is_leaf(tree)`` says so, or its type is no container."""
    if is_leaf is not None and is_leaf(tree):
        return True
    return _kind_of(type(tree)) is None


# ---- specs -----------------------------------------------------------------------------------

class TreeSpec:
    """The structure of a pytree: the root's node ``type`` (None for a leaf), the ``context``
    its type needs to rebuild it (dict keys, the namedtuple class...) and one spec per child."""

    __slots__ = ("type", "_context", "_children", "num_nodes", "num_leaves", "num_children")

    def __init__(self, type, context, children_specs):
        if type is None:
            if context is not None:
                raise AssertionError("leaf node should not have a context")
            if len(children_specs) != 0:
                raise AssertionError("leaf node should not have children")
        self._set(type, context, list(children_specs))

    def _set(self, node_type, context, children):
        self.type = node_type
        self._context = context
        self._children = children
        if node_type is None:
            self.num_nodes = self.num_leaves = 1
            self.num_children = 0
            return
        nodes, leaves = 1, 0
        for c in children:
            nodes += c.num_nodes
            leaves += c.num_leaves
        self.num_nodes, self.num_leaves, self.num_children = nodes, leaves, len(children)

    @classmethod
    def _node(cls, node_type, context, children):
        """A node spec without the argument checks (flattening builds many)."""
        spec = object.__new__(cls)
        spec.type = node_type
        spec._context = context
        spec._children = children
        nodes, leaves = 1, 0
        for c in children:
            nodes += c.num_nodes
            leaves += c.num_leaves
        spec.num_nodes, spec.num_leaves, spec.num_children = nodes, leaves, len(children)
        return spec

    @property
    def context(self):
        return self._context

    @property
    def children_specs(self):
        warnings.warn("`treespec.children_specs` is deprecated. Use `treespec.child(index)` to "
                      "access a single child, or `treespec.children()` to get all children.",
                      FutureWarning, stacklevel=2)
        return self._children

    def is_leaf(self) -> bool:
        return self.num_nodes == 1 and self.num_leaves == 1

    def children(self):
        return list(self._children)

    def child(self, index):
        return self._children[index]

    def __repr__(self, indent=0):
        head = f"TreeSpec({self.type.__name__}, {self._context}, ["
        if not self._children:
            return head + "])"
        indent += 2
        parts = [c.__repr__(indent) for c in self._children]
        # the first child follows the bracket; the others start lines indented by depth
        return head + (",\n" + " " * indent).join(parts) + "])"

    def __eq__(self, other):
        if self is other:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        # (PyTorch compares the types by their str)
        return (str(self.type) == str(other.type) and self._context == other._context
                and self._children == other._children)

    def __hash__(self):
        kind, context = self.type, self._context
        if kind is defaultdict:
            context = (context[0], tuple(context[1]))
        elif kind is dict or kind is OrderedDict:
            context = tuple(context)
        elif kind is not None and kind not in _BUILTIN_TYPES:
            context = None  # a custom type's context need not be hashable
        return hash((kind, context, tuple(self._children)))

    def unflatten(self, leaves):
        """The pytree of this structure holding ``leaves`` (in flattening order)."""
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} "
                             f"but the spec refers to a pytree that holds {self.num_leaves} "
                             f"items ({self}).")
        if self.type is None:
            return leaves[0]
        return self._build(iter(leaves))

    def _build(self, it):
        kind = self.type
        if kind is None:
            return next(it)
        values = [next(it) if c.type is None else c._build(it) for c in self._children]
        if kind is tuple:
            return tuple(values)
        if kind is list:
            return values
        if kind is dict:
            return dict(zip(self._context, values))
        return SUPPORTED_NODES[kind].unflatten_fn(values, self._context)

    def flatten_up_to(self, tree):
        """The subtrees of ``tree`` where this spec has its leaves (``tree`` must have this
        structure down to them); ValueError, with PyTorch's message, where it does not."""
        out = []
        self._up_to(tree, out)
        return out

    def _up_to(self, node, out):
        if self.type is None:
            out.append(node)
            return
        kind = _node_type(node)
        expected = self.type
        if expected not in _BUILTIN_TYPES:
            if kind != expected:
                raise ValueError(f"Type mismatch; expected {expected!r}, but got {kind!r}.")
            children, context = SUPPORTED_NODES[kind].flatten_fn(node)
            if len(children) != self.num_children:
                raise ValueError(f"Node arity mismatch; expected {self.num_children}, but got "
                                 f"{len(children)}.")
            if context != self._context:
                raise ValueError(f"Node context mismatch for custom node type {expected!r}.")
        else:
            # dict, OrderedDict and defaultdict stand in for each other (matched by keys)
            dicts = expected in _DICT_TYPES and kind in _DICT_TYPES
            if not dicts and kind != expected:
                raise ValueError(f"Node type mismatch; expected {expected!r}, but got "
                                 f"{kind!r}.")
            if len(node) != self.num_children:
                raise ValueError(f"Node arity mismatch; expected {self.num_children}, but got "
                                 f"{len(node)}.")
            if dicts:
                keys = self._context[1] if expected is defaultdict else self._context
                if set(node) != set(keys):
                    missing, extra = set(keys) - set(node), set(node) - set(keys)
                    detail = (f"; missing key(s): {missing}" if missing else "") + (
                        f"; extra key(s): {extra}" if extra else "")
                    raise ValueError(f"Node keys mismatch{detail}.")
                children = [node[k] for k in keys]
            else:
                children, context = SUPPORTED_NODES[kind].flatten_fn(node)
                if kind is not deque and context != self._context:  # (a deque's maxlen may differ)
                    raise ValueError(f"Node context mismatch for node type {expected!r}; "
                                     f"expected {self._context!r}, but got {context!r}.")
        for child, spec in zip(children, self._children):
            spec._up_to(child, out)


class LeafSpec(TreeSpec):
    """The spec of a leaf (prints ``*``). PyTorch deprecates making one and testing
    ``isinstance(spec, LeafSpec)``; ``spec.is_leaf()`` is the test."""

    __slots__ = ()

    def __init__(self):
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use "
                      "`isinstance(treespec, TreeSpec) and treespec.is_leaf()` instead.",
                      FutureWarning, stacklevel=2)
        self._set(None, None, [])

    def __repr__(self, indent=0):
        return "*"


_LEAF_SPEC = object.__new__(LeafSpec)
_LEAF_SPEC._set(None, None, [])


def treespec_leaf():
    return _LEAF_SPEC


def treespec_tuple(iterable=(), /):
    children = list(iterable)
    if any(not isinstance(c, TreeSpec) for c in children):
        raise ValueError(f"Expected a tuple of TreeSpec values, got: {children!r}.")
    return TreeSpec(tuple, None, children)


def treespec_dict(mapping=(), /, **kwargs):
    d = dict(mapping, **kwargs)
    if any(not isinstance(c, TreeSpec) for c in d.values()):
        raise ValueError(f"Expected a dictionary of TreeSpec values, got: {d!r}.")
    return TreeSpec(dict, list(d), list(d.values()))


# ---- flatten / unflatten ---------------------------------------------------------------------

def _flatten(node, leaves, is_leaf):
    if is_leaf is not None and is_leaf(node):
        leaves.append(node)
        return _LEAF_SPEC
    cls = type(node)
    # the builtin containers without a registry look-up (vmap and func flatten on every call)
    if cls is tuple or cls is list:
        kind, context, children = cls, None, node
    elif cls is dict:
        kind, context, children = dict, list(node), node.values()
    else:
        kind = _kind_of(cls)
        if kind is None:
            leaves.append(node)
            return _LEAF_SPEC
        children, context = SUPPORTED_NODES[kind].flatten_fn(node)
    specs = []
    for c in children:
        if is_leaf is None and _KIND.get(type(c), _UNKNOWN) is None:
            leaves.append(c)  # a leaf of a type seen before: no call
            specs.append(_LEAF_SPEC)
        else:
            specs.append(_flatten(c, leaves, is_leaf))
    return TreeSpec._node(kind, context, specs)


def _leaves_into(node, out):
    """``tree_leaves`` without building the spec."""
    cls = type(node)
    if cls is tuple or cls is list:
        children = node
    elif cls is dict:
        children = node.values()
    else:
        kind = _kind_of(cls)
        if kind is None:
            out.append(node)
            return
        children = SUPPORTED_NODES[kind].flatten_fn(node)[0]
    for c in children:
        if _KIND.get(type(c), _UNKNOWN) is None:
            out.append(c)
        else:
            _leaves_into(c, out)


def _map_into(func, node):
    """``tree_map(func, node)`` rebuilt node by node (no spec): the same calls of ``func`` in
    the same order, each container rebuilt once its children are."""
    cls = type(node)
    if cls is tuple:
        return tuple([_map_into(func, c) for c in node])
    if cls is list:
        return [_map_into(func, c) for c in node]
    if cls is dict:
        return {k: _map_into(func, v) for k, v in node.items()}
    kind = _kind_of(cls)
    if kind is None:
        return func(node)
    entry = SUPPORTED_NODES[kind]
    children, context = entry.flatten_fn(node)
    return entry.unflatten_fn([_map_into(func, c) for c in children], context)


def tree_flatten(tree, is_leaf=None):
    """``(leaves, spec)``: the leaves of ``tree`` in order, and its structure."""
    leaves = []
    spec = _flatten(tree, leaves, is_leaf)
    return leaves, spec


def tree_unflatten(leaves, treespec):
    """The pytree of structure ``treespec`` holding ``leaves`` (the arguments may come in
    either order, as PyTorch allows)."""
    if not isinstance(treespec, TreeSpec):
        if not isinstance(leaves, TreeSpec):
            raise TypeError("Expected `treespec` to be an instance of PyTreeSpec but got item "
                            f"of type {type(treespec)}.")
        leaves, treespec = treespec, leaves
    return treespec.unflatten(leaves)


def tree_iter(tree, is_leaf=None):
    """The leaves of ``tree``, one at a time."""
    if tree_is_leaf(tree, is_leaf):
        yield tree
        return
    children, _ = SUPPORTED_NODES[_node_type(tree)].flatten_fn(tree)
    for child in children:
        yield from tree_iter(child, is_leaf)


def tree_leaves(tree, is_leaf=None):
    leaves = []
    if is_leaf is None:
        _leaves_into(tree, leaves)
    else:
        _flatten(tree, leaves, is_leaf)
    return leaves


def tree_structure(tree, is_leaf=None):
    return _flatten(tree, [], is_leaf)


def arg_tree_leaves(*args, **kwargs):
    """The leaves of ``args`` then of ``kwargs``' values."""
    leaves = []
    for a in args:
        _flatten(a, leaves, None)
    for v in kwargs.values():
        _flatten(v, leaves, None)
    return leaves


# ---- maps ------------------------------------------------------------------------------------

def tree_map(func, tree, *rests, is_leaf=None):
    """``tree`` with each leaf ``x`` replaced by ``func(x, *xs)``, ``xs`` the subtrees of
    ``rests`` at the same place (each of ``rests`` has ``tree``'s structure as a prefix)."""
    if not rests and is_leaf is None:
        return _map_into(func, tree)
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(list(map(func, leaves, *others)))


def tree_map_(func, tree, *rests, is_leaf=None):
    """``func`` called on the leaves as ``tree_map`` would, for its effect; returns ``tree``."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [spec.flatten_up_to(r) for r in rests]
    for args in zip(leaves, *others):
        func(*args)
    return tree


def map_only(type_or_types_or_pred, /):
    """A decorator: the function applies to values of the given type(s) (or passing the given
    predicate) and returns anything else unchanged."""
    if isinstance(type_or_types_or_pred, (type, tuple, types.UnionType)):
        def pred(x):
            return isinstance(x, type_or_types_or_pred)
    elif callable(type_or_types_or_pred):
        pred = type_or_types_or_pred
    else:
        raise TypeError("Argument must be a type, a tuple of types, or a callable.")

    def wrapper(func):
        @functools.wraps(func)
        def wrapped(x):
            return func(x) if pred(x) else x

        return wrapped

    return wrapper


def tree_map_only(type_or_types_or_pred, /, func, tree, is_leaf=None):
    return tree_map(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred, /, func, tree, is_leaf=None):
    return tree_map_(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_all(pred, tree, is_leaf=None):
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(pred, tree, is_leaf=None):
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(type_or_types, /, pred, tree, is_leaf=None):
    return all(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def tree_any_only(type_or_types, /, pred, tree, is_leaf=None):
    return any(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def _broadcast_to_and_flatten(tree, treespec, is_leaf=None):
    """``tree`` (a prefix of ``treespec``'s structure, e.g. vmap's ``in_dims``) with each of its
    leaves repeated once per leaf of ``treespec`` below it; None when ``tree`` is no prefix.

    The result runs in ``tree``'s order, so where a dict of ``tree`` lists its keys in another
    order than ``treespec``'s, the values go to the leaves in that order (as in PyTorch)."""
    prefix, prefix_spec = tree_flatten(tree, is_leaf)
    if is_leaf is None:
        if prefix_spec.type is None:  # one value for every leaf (vmap's in_dims=0)
            return prefix * treespec.num_leaves
        out = []
        try:
            if _broadcast_builtin(prefix_spec, treespec, iter(prefix), out):
                return out
            return None
        except _NotBuiltin:
            pass
    try:
        subtrees = prefix_spec.flatten_up_to(treespec.unflatten([0] * treespec.num_leaves))
    except ValueError:
        return None
    out = []
    for value, sub in zip(prefix, subtrees):
        out.extend([value] * _flatten(sub, [], is_leaf).num_leaves)
    return out


class _NotBuiltin(Exception):
    pass


def _broadcast_builtin(prefix, spec, values, out):
    """``_broadcast_to_and_flatten`` walking ``spec`` itself instead of a tree rebuilt from it
    (the same answer where both hold builtin containers only, which rebuild to the same
    structure; _NotBuiltin otherwise): False where ``prefix`` is no prefix of ``spec``."""
    if prefix.type is None:
        out.extend([next(values)] * spec.num_leaves)
        return True
    kind, expected = spec.type, prefix.type
    if (kind is not None and kind not in _BUILTIN_TYPES) or expected not in _BUILTIN_TYPES:
        raise _NotBuiltin
    children = spec._children
    if expected in _DICT_TYPES and kind in _DICT_TYPES:
        keys = prefix._context[1] if expected is defaultdict else prefix._context
        have = spec._context[1] if kind is defaultdict else spec._context
        if len(have) != len(keys) or set(have) != set(keys):
            return False
        where = {k: i for i, k in enumerate(have)}
        children = [children[where[k]] for k in keys]
    elif kind is not expected or spec.num_children != prefix.num_children or (
            kind is not deque and spec._context != prefix._context):
        return False
    return all(_broadcast_builtin(p, c, values, out) for p, c in zip(prefix._children, children))


# ---- the builtin containers ------------------------------------------------------------------

def _seq_flatten(x):
    return list(x), None


def _dict_flatten(d):
    return list(d.values()), list(d)


def _namedtuple_flatten(x):
    return list(x), type(x)


def _defaultdict_flatten(d):
    return list(d.values()), [d.default_factory, list(d)]


def _defaultdict_unflatten(values, context):
    factory, keys = context
    return defaultdict(factory, zip(keys, values))


_private_register_pytree_node(tuple, _seq_flatten, lambda values, _: tuple(values))
_private_register_pytree_node(list, _seq_flatten, lambda values, _: list(values))
_private_register_pytree_node(dict, _dict_flatten, lambda values, keys: dict(zip(keys, values)))
_private_register_pytree_node(namedtuple, _namedtuple_flatten,
                              lambda values, cls: cls(*values))
_private_register_pytree_node(OrderedDict, _dict_flatten,
                              lambda values, keys: OrderedDict(zip(keys, values)))
_private_register_pytree_node(defaultdict, _defaultdict_flatten, _defaultdict_unflatten)
_private_register_pytree_node(deque, lambda d: (list(d), d.maxlen),
                              lambda values, maxlen: deque(values, maxlen=maxlen))

_BUILTIN_TYPES = frozenset({tuple, list, dict, namedtuple, OrderedDict, defaultdict, deque})
_DICT_TYPES = frozenset({dict, OrderedDict, defaultdict})


def _register_size():
    # PyTorch registers torch.Size when torch is imported, rebuilding it as a plain tuple
    from ._size import Size

    _private_register_pytree_node(Size, _seq_flatten, lambda values, _: tuple(values))


_register_size()
