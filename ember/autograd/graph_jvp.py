"""Forward-mode derivatives over a recorded graph: ``graph_jvp(outputs, inputs, tangents)``.

Contract: given outputs computed (with grad mode on) from leaf ``inputs`` that require grad, and
one tangent per input, return the directional derivative of each output (J @ tangent). Nodes
are visited once each in creation order (sequence number), each applying its op's JVP rule
(``Node._jvp``) to the tangents of its inputs: the same rules ``ember.autograd.forward_ad``
uses, checked here against finite differences for every op. Saved tensors are only read, so the
graph stays usable for backward.
"""

from __future__ import annotations

from .graph import AccumulateGrad

__all__ = ["graph_jvp"]


def graph_jvp(outputs, inputs, tangents, since=None):
    """Tangents of ``outputs`` for the given tangents of ``inputs`` (a tuple). Inputs are
    tensors that require grad: leaves, or non-leaves (the walk stops at their edge, so only the
    part of the graph between them and the outputs is visited). With ``since``, nodes created
    before that sequence number are constants (forward AD walks one op call's nodes only)."""
    from ..tensor import Tensor
    from .graph import edge

    single = isinstance(outputs, Tensor)
    outputs = (outputs,) if single else tuple(outputs)
    given = {}  # input edge -> tangent
    for x, t in zip(inputs, tangents):
        e = edge(x)
        if e[0] is None:
            raise RuntimeError("graph_jvp: inputs must require grad")
        given[e] = t
    stops = {fn for fn, _ in given}

    # every node between the outputs and the inputs (iterative walk), then creation order
    nodes = {}
    stack = [edge(o)[0] for o in outputs if edge(o)[0] is not None]
    while stack:
        node = stack.pop()
        if node in nodes or node in stops or isinstance(node, AccumulateGrad):
            continue
        if since is not None and node._seq < since:
            continue
        nodes[node] = None
        stack.extend(fn for fn, _ in node.next_functions if fn is not None)

    computed = {}  # node -> tuple of output tangents

    def tangent_at(fn, nr):
        if (fn, nr) in given:
            return given[(fn, nr)]
        if fn in computed:
            return computed[fn][nr]
        return None  # a leaf or a node outside the inputs' reach: constant here

    for node in sorted(nodes, key=lambda n: n._seq):
        ins = [None if fn is None else tangent_at(fn, nr) for fn, nr in node.next_functions]
        out = node._jvp(*ins)
        computed[node] = out if isinstance(out, tuple) else (out,)

    result = []
    for o in outputs:
        fn, nr = edge(o)
        result.append(None if fn is None else tangent_at(fn, nr))
    return result[0] if single else tuple(result)
