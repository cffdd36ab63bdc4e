"""Variable-length sequences: padding and packing (``torch.nn.utils.rnn``).

Contract: PyTorch's ``PackedSequence`` (data, batch_sizes, sorted_indices, unsorted_indices),
``pad_sequence``, ``unpad_sequence``, ``pack_padded_sequence``, ``pad_packed_sequence``,
``pack_sequence``, ``unpack_sequence`` and ``invert_permutation``: same layouts (packed data is
time-major, longest sequences first), dtypes (int64 lengths and batch sizes), errors and
gradients (everything is built from differentiable ember ops: slicing, cat and stack). On CUDA,
as PyTorch: packed data and sorted/unsorted indices live on the data's device, ``batch_sizes``
and the lengths on the CPU (a device ``lengths`` tensor is refused).
Recurrent layers consuming a PackedSequence are the RNN module's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import ember
from ember.tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(PackedSequence_):
    """Sequences of different lengths packed time step by time step.

    ``data`` holds, for each time step, the elements of the sequences still running (longest
    first); ``batch_sizes[t]`` says how many. Made by :func:`pack_padded_sequence` or
    :func:`pack_sequence`, not by hand.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        # the indices follow the data's device; batch_sizes stays on the CPU (PyTorch's)
        def move(t):
            return None if t is None else t.to(data.device)

        return type(self)(data, self.batch_sizes, move(self.sorted_indices),
                          move(self.unsorted_indices))

    def _on(self, kind, args, kwargs):
        probe = ember.empty(0, dtype=self.data.dtype, device=self.data.device)
        if probe.to(*args, **kwargs).device.type == kind:
            return self.to(*args, **kwargs)
        return self.to(*args, device=kind, **kwargs)

    def cuda(self, *args, **kwargs):
        return self._on("cuda", args, kwargs)

    def cpu(self, *args, **kwargs):
        return self._on("cpu", args, kwargs)

    def double(self):
        return self.to(dtype=ember.double)

    def float(self):
        return self.to(dtype=ember.float)

    def half(self):
        return self.to(dtype=ember.half)

    def long(self):
        return self.to(dtype=ember.long)

    def int(self):
        return self.to(dtype=ember.int)

    @property
    def is_cuda(self):
        return self.data.is_cuda


def invert_permutation(permutation):
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    out = ember.empty_like(permutation)
    out.scatter_(0, permutation, ember.arange(permutation.numel(), device=permutation.device))
    return out


def _check_lengths(lengths, batch_size):
    if lengths.dim() != 1 or lengths.device.type != "cpu":
        raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lengths.dim()}D {lengths.device} Long tensor")
    if lengths.size(0) != batch_size:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.size(0)} (batch_size={batch_size})")
    values = [int(v) for v in lengths.tolist()]
    if values[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if any(b > a for a, b in zip(values, values[1:])):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
            "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
            "pack_sequence to sidestep this requirement if you do not need ONNX "
            "exportability.")
    return values


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) — or (B, T, *) with ``batch_first`` — of sequences with
    the given ``lengths``; unless ``enforce_sorted``, the batch is sorted by length first.

    >>> p = pack_padded_sequence(ember.tensor([[1, 4], [2, 5], [3, 0]]), [3, 2])
    >>> p.data, p.batch_sizes
    (tensor([1, 4, 2, 5, 3]), tensor([2, 2, 1]))
    """
    if not isinstance(lengths, Tensor):
        lengths = ember.as_tensor(lengths, dtype=ember.int64, device="cpu")
    else:
        lengths = lengths.to(dtype=ember.int64)
    sorted_indices = None
    if not enforce_sorted:
        lengths, sorted_indices = ember.sort(lengths, descending=True)
        # (the lengths stay where they are: on a device they are refused below, as PyTorch's)
        sorted_indices = sorted_indices.to(input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if batch_first:
        input = input.transpose(0, 1)
    values = _check_lengths(lengths, input.size(1))
    steps, batch_sizes = [], []
    for t in range(values[0]):
        running = sum(1 for n in values if n > t)
        steps.append(input[t, :running])
        batch_sizes.append(running)
    data = ember.cat(steps)
    return PackedSequence(data, ember.tensor(batch_sizes, dtype=ember.int64), sorted_indices,
                          None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo :func:`pack_padded_sequence`: the padded batch and the int64 lengths."""
    batch_sizes = [int(b) for b in sequence.batch_sizes.tolist()]
    max_len = len(batch_sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{max_len}")
        max_len = total_length
    data = sequence.data
    batch = batch_sizes[0]
    trailing = tuple(data.shape[1:])
    steps, offset = [], 0
    for t in range(max_len):
        running = batch_sizes[t] if t < len(batch_sizes) else 0
        chunk = data[offset:offset + running]
        offset += running
        if running < batch:
            pad = ember.full((batch - running, *trailing), padding_value, dtype=data.dtype,
                             device=data.device)
            chunk = ember.cat([chunk, pad])
        steps.append(chunk)
    padded = ember.stack(steps)
    # (the lengths are a CPU tensor whatever the data's device, as PyTorch's)
    lengths = ember.tensor([sum(1 for b in batch_sizes if b > i) for i in range(batch)],
                           dtype=ember.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.cpu()]
    return padded, lengths


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of different lengths into (T_max, B, *) (or (B, T_max, *)), padding
    with ``padding_value`` on ``padding_side``.

    >>> pad_sequence([ember.tensor([1, 2]), ember.tensor([3])], batch_first=True)
    tensor([[1, 2],
            [3, 0]])
    """
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError("Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    trailing = tuple(sequences[0].shape[1:])
    max_len = max(s.size(0) for s in sequences)
    padded = []
    for seq in sequences:
        for k, (want, got) in enumerate(zip(trailing, seq.shape[1:]), start=1):
            if want != got and got != 1:
                raise RuntimeError(f"The size of tensor a ({want}) must match the size of "
                                   f"tensor b ({got}) at non-singleton dimension {k}")
        seq = seq.expand(seq.size(0), *trailing)
        pad = ember.full((max_len - seq.size(0), *trailing), padding_value,
                         dtype=sequences[0].dtype, device=sequences[0].device)
        parts = [seq, pad] if padding_side == "right" else [pad, seq]
        padded.append(ember.cat(parts))
    return ember.stack(padded, dim=0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into its sequences (a list)."""
    if not batch_first:
        # NOTE: PyTorch transposes the argument in place; so do we
        padded_sequences.transpose_(0, 1)
    return [seq[:int(n)] for seq, n in zip(padded_sequences, lengths)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (longest first unless ``enforce_sorted=False``)."""
    lengths = ember.as_tensor([v.size(0) for v in sequences])
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences a PackedSequence holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
