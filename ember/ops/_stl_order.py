"""The order in which PyTorch's CPU ``topk`` and ``sort`` return tied values.

Contract: ``topk_row(values, k, largest)`` gives the ``k`` indices that ``torch.topk`` returns
for one row, ties included; ``sort_row(values, descending)`` the order ``torch.sort`` gives
(its CPU kernel is ``std::sort``, the same introsort, unless ``stable=True``).

PyTorch's CPU ``topk`` is not stable: it selects with the C++ standard library's
``partial_sort`` (when ``64 * k <= n``) or ``nth_element`` followed by ``sort`` of the first
``k - 1`` entries, on (value, index) pairs compared by value only, so the order of equal
values (and of ``-0.0``/``0.0``, and of several NaNs) is whatever those algorithms leave.
The build PyTorch ships uses libstdc++; this module replays its introsort, heap selection and
insertion sort step for step. Only rows with ties come here (``sort.py`` takes the order of a
row without ties from NumPy, where every algorithm agrees, and bounds how much it replays), so
plain Python is fast enough.
"""

from __future__ import annotations

import math


def sort_row(values, descending):
    """The order PyTorch's CPU ``sort`` (without ``stable=True``) gives ``values`` (a list of
    Python numbers): ``std::sort`` on (value, index) pairs compared by value only, NaN
    largest."""
    return topk_row(values, len(values), descending, _whole=True)


def topk_row(values, k, largest, _whole=False):
    """Indices of the ``k`` first values of ``values`` (a list of Python numbers) in the
    order PyTorch's CPU ``topk`` gives them (``_whole``: ``std::sort`` of the whole row, for
    ``sort_row``)."""
    n = len(values)
    A = [(v, i) for i, v in enumerate(values)]
    isnan = math.isnan

    if largest:  # NaN first, then larger first; the index never breaks a tie
        def before(a, b):
            x, y = a[0], b[0]
            return (isnan(x) and not isnan(y)) or x > y
    else:  # smaller first, NaN last
        def before(a, b):
            x, y = a[0], b[0]
            return (isnan(y) and not isnan(x)) or x < y

    def median_to_front(f, a, b, c):
        if before(A[a], A[b]):
            if before(A[b], A[c]):
                m = b
            elif before(A[a], A[c]):
                m = c
            else:
                m = a
        elif before(A[a], A[c]):
            m = a
        elif before(A[b], A[c]):
            m = c
        else:
            m = b
        A[f], A[m] = A[m], A[f]

    def partition(f, l):  # noqa: E741 - the half-open range [f, l), as the algorithm names it
        median_to_front(f, f + 1, f + (l - f) // 2, l - 1)
        i, j = f + 1, l
        while True:
            while before(A[i], A[f]):
                i += 1
            j -= 1
            while before(A[f], A[j]):
                j -= 1
            if i >= j:
                return i
            A[i], A[j] = A[j], A[i]
            i += 1

    def insertion_sort(f, l, guarded=True):  # noqa: E741
        for i in range(f + 1 if guarded else f, l):
            v = A[i]
            if guarded and before(v, A[f]):
                A[f + 1:i + 1] = A[f:i]
                A[f] = v
            else:
                j = i
                while before(v, A[j - 1]):
                    A[j] = A[j - 1]
                    j -= 1
                A[j] = v

    def sift(base, hole, length, v):
        top = c = hole
        while c < (length - 1) // 2:
            c = 2 * c + 2
            if before(A[base + c], A[base + c - 1]):
                c -= 1
            A[base + hole] = A[base + c]
            hole = c
        if length % 2 == 0 and c == (length - 2) // 2:
            c = 2 * c + 2
            A[base + hole] = A[base + c - 1]
            hole = c - 1
        while hole > top and before(A[base + (hole - 1) // 2], v):
            A[base + hole] = A[base + (hole - 1) // 2]
            hole = (hole - 1) // 2
        A[base + hole] = v

    def heap_select(f, m, l):  # noqa: E741
        length = m - f
        if length >= 2:
            for p in range((length - 2) // 2, -1, -1):
                sift(f, p, length, A[f + p])
        for i in range(m, l):
            if before(A[i], A[f]):
                v = A[i]
                A[i] = A[f]
                sift(f, 0, length, v)

    def partial_sort(f, m, l):  # noqa: E741
        heap_select(f, m, l)
        while m - f > 1:
            m -= 1
            v = A[m]
            A[m] = A[f]
            sift(f, 0, m - f, v)

    def nth_element(f, nth, l):  # noqa: E741
        if f == l or nth == l:
            return
        depth = 2 * ((l - f).bit_length() - 1)
        while l - f > 3:
            if depth == 0:
                heap_select(f, nth + 1, l)
                A[f], A[nth] = A[nth], A[f]
                return
            depth -= 1
            cut = partition(f, l)
            if cut <= nth:
                f = cut
            else:
                l = cut  # noqa: E741
        insertion_sort(f, l)

    def intro_loop(f, l, depth):  # noqa: E741
        while l - f > 16:
            if depth == 0:
                partial_sort(f, l, l)
                return
            depth -= 1
            cut = partition(f, l)
            intro_loop(cut, l, depth)
            l = cut  # noqa: E741

    def sort(f, l):  # noqa: E741
        if l - f < 2:
            return
        intro_loop(f, l, 2 * ((l - f).bit_length() - 1))
        if l - f > 16:
            insertion_sort(f, f + 16)
            insertion_sort(f + 16, l, guarded=False)
        else:
            insertion_sort(f, l)

    if _whole:
        sort(0, n)
        return [i for _, i in A]
    if k <= 0:
        return []
    if 64 * k <= n:
        partial_sort(0, k, n)
    else:
        nth_element(0, k - 1, n)
        sort(0, k - 1)
    return [i for _, i in A[:k]]


def kth_row(values, k):
    """The index PyTorch's CPU ``kthvalue`` returns for the ``k``-th smallest (1-based) of one
    row (a list of Python numbers), ties and NaNs (largest) included: its own quickselect
    (median-of-three pivot, Hoare partition) on (value, index) pairs, replayed."""
    A = [(v, i) for i, v in enumerate(values)]
    isnan = math.isnan

    def gt(a, b):  # "a after b": NaN last, then larger
        x, y = a[0], b[0]
        return (isnan(x) and not isnan(y)) or x > y

    k -= 1
    lo, hi = 0, len(A) - 1
    while True:
        if hi <= lo:
            break
        if hi == lo + 1:
            if gt(A[lo], A[hi]):
                A[lo], A[hi] = A[hi], A[lo]
            break
        p = lo + (hi - lo) // 2
        A[p], A[lo + 1] = A[lo + 1], A[p]
        if gt(A[lo + 1], A[hi]):
            A[lo + 1], A[hi] = A[hi], A[lo + 1]
        if gt(A[lo], A[hi]):
            A[lo], A[hi] = A[hi], A[lo]
        if gt(A[lo + 1], A[lo]):
            A[lo + 1], A[lo] = A[lo], A[lo + 1]
        i, j = lo + 1, hi
        piv = A[lo]
        while True:
            i += 1
            while gt(piv, A[i]):
                i += 1
            j -= 1
            while gt(A[j], piv):
                j -= 1
            if j < i:
                break
            A[i], A[j] = A[j], A[i]
        A[lo], A[j] = A[j], A[lo]
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1
    return A[k][1]
