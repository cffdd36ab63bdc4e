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


def graph_jvp(outputs, inputs, tangents):
    """Tangents of ``outputs`` for the given tangents of the leaf ``inputs`` (a tuple)."""
    from ..ops._registry import edge
    from ..tensor import Tensor

    single = isinstance(outputs, Tensor)
    outputs = (outputs,) if single else tuple(outputs)
    leaf_tangent = {}
    for x, t in zip(inputs, tangents):
        fn, _ = edge(x)
        if not isinstance(fn, AccumulateGrad):
            raise RuntimeError("graph_jvp: inputs must be leaves that require grad")
        leaf_tangent[fn] = t

    # every node between the outputs and the leaves (iterative walk), then creation order
    nodes = {}
    stack = [edge(o)[0] for o in outputs if edge(o)[0] is not None]
    while stack:
        node = stack.pop()
        if node in nodes or isinstance(node, AccumulateGrad):
            continue
        nodes[node] = None
        stack.extend(fn for fn, _ in node.next_functions if fn is not None)

    computed = {}  # node -> tuple of output tangents
    for node in sorted(nodes, key=lambda n: n._seq):
        ins = []
        for fn, nr in node.next_functions:
            if fn is None:
                ins.append(None)
            elif isinstance(fn, AccumulateGrad):
                ins.append(leaf_tangent.get(fn))
            else:
                ins.append(computed[fn][nr])
        out = node._jvp(*ins)
        computed[node] = out if isinstance(out, tuple) else (out,)

    result = []
    for o in outputs:
        fn, nr = edge(o)
        if fn is None:
            result.append(None)
        elif isinstance(fn, AccumulateGrad):
            result.append(leaf_tangent.get(fn))
        else:
            result.append(computed[fn][nr])
    return result[0] if single else tuple(result)
