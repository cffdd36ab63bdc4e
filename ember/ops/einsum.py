"""einsum: PyTorch's algorithm (aten Linear.cpp) composed of ember ops (NOTE [einsum]), with
equation strings (explicit ``->`` or implicit output, ``...`` broadcasting) and the sublist
form. The matrix products it is built from live in ``linalg``.

Contract: PyTorch's signature, results and error messages; as in PyTorch the op is a
composition (permute, reshape, bmm, diagonal, sum...), so its graph, grad_fn names and every
derivative come from those ops.
"""

from __future__ import annotations

from ..tensor import Tensor
from ._registry import register
from .linalg import bmm

# ---- einsum ----
# NOTE [einsum]: PyTorch's algorithm (aten Linear.cpp) composed of ember ops, so the graph,
# its grad_fn names and every derivative come from those ops: operands are aligned to one
# dim order (output labels, then contracted ones; a repeated label takes a diagonal, a missing
# one is unsqueezed), contracted pairwise left to right by ``_sumproduct_pair`` (permute,
# reshape, bmm, view, permute), and the contracted dims are finally viewed or summed away.
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # PyTorch's label order
_ELLIPSIS = 52


def _einsum_labels(equation, num_ops):
    """Each operand's labels (0..51, _ELLIPSIS) and the output part (None when implicit)."""
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    labels = [[] for _ in range(num_ops)]
    cur, ell, i = 0, False, 0
    while i < len(lhs):
        c = lhs[i]
        if c == " ":
            pass
        elif c == ".":
            if ell:
                raise RuntimeError(f"einsum(): found '.' for operand {cur} for which an ellipsis "
                                   "was already found")
            if not (i + 2 < len(lhs) and lhs[i + 1] == "." and lhs[i + 2] == "."):
                raise RuntimeError(f"einsum(): found '.' for operand {cur} that is not part of "
                                   "any ellipsis")
            i += 2
            labels[cur].append(_ELLIPSIS)
            ell = True
        elif c == ",":
            cur += 1
            if cur >= num_ops:
                raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                                   "equation")
            ell = False
        elif c.isascii() and c.isalpha():
            labels[cur].append(_LETTERS.index(c))
        else:
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation "
                               "string, subscripts must be in [a-zA-Z]")
        i += 1
    if cur != num_ops - 1:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    return labels, (None if arrow < 0 else equation[arrow + 2:]), len(lhs)


def _sumproduct_pair(left, right, sum_dims):
    """``(left * right).sum(sum_dims, keepdim=True)`` through one bmm (PyTorch's
    ``sumproduct_pair``)."""
    if not sum_dims:
        return left * right
    lro, lo, ro = [], [], []
    lro_size = lo_size = ro_size = sum_size = 1
    for i in range(left._data.ndim):
        sl, sr = left._data.shape[i] != 1, right._data.shape[i] != 1
        if i in sum_dims:
            if sl and sr:
                sum_size *= left._data.shape[i]
            elif sl:
                left = left.sum(i, keepdim=True)
            elif sr:
                right = right.sum(i, keepdim=True)
        elif sl and sr:
            lro.append(i)
            lro_size *= left._data.shape[i]
        elif sl:
            lo.append(i)
            lo_size *= left._data.shape[i]
        else:
            ro.append(i)
            ro_size *= right._data.shape[i]
    if lo and ro and ro[-1] < lo[0]:
        left, right, lo, ro, lo_size, ro_size = right, left, ro, lo, ro_size, lo_size
    out_size = ([left._data.shape[d] for d in lro] + [left._data.shape[d] for d in lo]
                + [1] * len(sum_dims) + [right._data.shape[d] for d in ro])
    lperm = lro + lo + list(sum_dims) + ro
    rperm = lro + list(sum_dims) + ro + lo
    operm = [0] * len(out_size)
    for i, d in enumerate(lro + lo + list(sum_dims) + ro):
        operm[d] = i
    left = left.permute(*lperm).reshape(lro_size, lo_size, sum_size)
    right = right.permute(*rperm).reshape(lro_size, sum_size, ro_size)
    return bmm(left, right).view(out_size).permute(operm)


_NO_OPERANDS = ("einsum(): must specify the equation string and at least one operand, or at least "
                "one operand and its subscripts list")


def einsum(equation, *operands):
    """Einstein summation over ``operands`` (a list of tensors or several arguments; or the
    sublist form ``einsum(x, [0, 1], y, [1, 2], [0, 2])``)."""
    if not isinstance(equation, str):
        if not operands:
            raise ValueError(_NO_OPERANDS)
        if not isinstance(equation, Tensor):  # (only a tensor starts a sublist)
            from ._checks import type_name

            raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not "
                            f"{type_name(equation)}")
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError(_NO_OPERANDS)
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            from ._checks import type_name

            raise TypeError(f"expected Tensor as element {i} in argument 1, but got "
                            f"{type_name(t)}")
    num_ops = len(operands)
    op_labels, rhs, lhs_len = _einsum_labels(equation, num_ops)
    count = [0] * 52
    ell_num_dim = 0
    for i, (t, labels) in enumerate(zip(operands, op_labels)):
        ndims = t._data.ndim
        has_ell = _ELLIPSIS in labels
        nlabels = len(labels) - has_ell
        for s in labels:
            if s != _ELLIPSIS:
                count[s] += 1
        if has_ell:
            ell_num_dim = max(ell_num_dim, ndims - nlabels)
        if (nlabels > ndims) if has_ell else (nlabels != ndims):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({nlabels}) "
                + ("is more than the number of dimensions (" if has_ell else
                   "does not match the number of dimensions (")
                + f"{ndims}) for operand {i}" + ("" if has_ell else " and no ellipsis was given"))
    perm_index_of = [-1] * 52
    perm = 0
    ell_index = 0
    ell_in_output = False
    if rhs is None:
        perm = ell_num_dim
        ell_in_output = True
        for s in range(52):
            if count[s] == 1:
                perm_index_of[s] = perm
                perm += 1
    else:
        i = 0
        while i < len(rhs):
            c = rhs[i]
            if c == " ":
                pass
            elif c == ".":
                if ell_in_output:
                    raise RuntimeError("einsum(): found '.' for output but an ellipsis (...) was "
                                       "already found")
                if not (i + 2 < len(rhs) and rhs[i + 1] == "." and rhs[i + 2] == "."):
                    raise RuntimeError("einsum(): found '.' for output that is not part of any "
                                       "ellipsis (...)")
                i += 2
                ell_index = perm
                perm += ell_num_dim
                ell_in_output = True
            elif c.isascii() and c.isalpha():
                s = _LETTERS.index(c)
                if not (count[s] > 0 and perm_index_of[s] == -1):
                    raise RuntimeError(
                        f"einsum(): output subscript {c}" + (
                            " appears more than once in the output" if perm_index_of[s] > -1
                            else " does not appear in the equation for any input operand"))
                perm_index_of[s] = perm
                perm += 1
            else:
                raise RuntimeError(f"einsum(): invalid subscript given at index {lhs_len + 2 + i} "
                                   "in the equation string, subscripts must be in [a-zA-Z]")
            i += 1
    out_num_dim = perm
    if not ell_in_output:
        ell_index = perm
        perm += ell_num_dim
    for s in range(52):
        if count[s] > 0 and perm_index_of[s] == -1:
            perm_index_of[s] = perm
            perm += 1
    label_size = [1] * 52
    ell_sizes = [1] * ell_num_dim
    dim_counts = [0] * perm
    ops = []
    for i, (op, labels) in enumerate(zip(operands, op_labels)):
        permutation = [-1] * perm
        dim = 0
        for s in labels:
            if s == _ELLIPSIS:
                ndim = op._data.ndim - (len(labels) - 1)
                for j in range(ell_num_dim - ndim, ell_num_dim):
                    size = op._data.shape[dim]
                    if size != 1:
                        if ell_sizes[j] != 1 and ell_sizes[j] != size:
                            raise RuntimeError(
                                f"einsum(): dimension {dim} covered by ellipsis in operand {i}has "
                                f"size {size} which does not broadcast with previously seen "
                                f"ellipsis with size {ell_sizes[j]} for the respective dimension")
                        ell_sizes[j] = size
                        dim_counts[ell_index + j] += 1
                    permutation[ell_index + j] = dim
                    dim += 1
            elif permutation[perm_index_of[s]] == -1:
                size = op._data.shape[dim]
                if size != 1:
                    if label_size[s] != 1 and label_size[s] != size:
                        raise RuntimeError(
                            f"einsum(): subscript {_LETTERS[s]} has size {size} for operand {i} "
                            f"which does not broadcast with previously seen size {label_size[s]}")
                    label_size[s] = size
                    dim_counts[perm_index_of[s]] += 1
                permutation[perm_index_of[s]] = dim
                dim += 1
            else:
                prev = permutation[perm_index_of[s]]
                if op._data.shape[dim] != op._data.shape[prev]:
                    raise RuntimeError(
                        f"einsum(): subscript {_LETTERS[s]} is repeated for operand {i} but the "
                        f"sizes don't match, {op._data.shape[dim]} != {op._data.shape[prev]}")
                op = op.diagonal(0, prev, dim).movedim(-1, prev)
        for k, val in enumerate(permutation):
            if val == -1:
                op = op.unsqueeze(dim)
                permutation[k] = dim
                dim += 1
        ops.append(op.permute(permutation))
    while len(ops) > 1:
        a, b = ops[0], ops[1]
        del ops[:2]
        sum_dims, a_sum, b_sum = [], [], []
        for dim in range(out_num_dim, perm):
            sa, sb = a._data.shape[dim] != 1, b._data.shape[dim] != 1
            if sa and sb:
                dim_counts[dim] -= 1
                if dim_counts[dim] == 1:
                    sum_dims.append(dim)
                    dim_counts[dim] = 0
            elif dim_counts[dim] == 1:
                if sa:
                    a_sum.append(dim)
                    dim_counts[dim] = 0
                elif sb:
                    b_sum.append(dim)
                    dim_counts[dim] = 0
        if a_sum:
            a = a.sum(a_sum, keepdim=True)
        if b_sum:
            b = b.sum(b_sum, keepdim=True)
        ops.insert(0, _sumproduct_pair(a, b, sum_dims))
    if perm - out_num_dim > 0:
        if num_ops > 1:
            return ops[0].view(list(ops[0]._data.shape[:out_num_dim]))
        return ops[0].sum(list(range(out_num_dim, perm)))
    return ops[0]


def _sublist_equation(args):
    """The sublist form ``einsum(x, [0, 1], y, [1, 2], [0, 2])`` as an equation string."""
    def letters(sub):
        return "".join("..." if d is Ellipsis else _LETTERS[d] for d in sub)

    operands = args[0:len(args) - len(args) % 2:2]
    terms = [letters(sub) for sub in args[1::2]]
    eq = ",".join(terms)
    if len(args) % 2:
        eq += "->" + letters(args[-1])
    return eq, operands


register(einsum, "einsum", method=False)
