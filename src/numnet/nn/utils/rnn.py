"""Batches of sequences of different lengths, like ``torch.nn.utils.rnn``.

A *padded* batch is one (L, N, *) tensor (``batch_first``: (N, L, *)), every sequence
filled up to the longest. A *packed* one (``PackedSequence``) keeps only the real steps:
the sequences sorted by decreasing length, ``data`` holds step 0 of every sequence, then
step 1 of those at least 2 long, ...; ``batch_sizes[t]`` says how many sequences have a
step t. ``RNN``, ``LSTM`` and ``GRU`` take a PackedSequence and give one back, each
sequence's final state taken at its own last step.

Example:
    >>> import numnet
    >>> a, b = numnet.tensor([1.0, 2.0, 3.0]), numnet.tensor([4.0])
    >>> packed = pack_sequence([a, b])
    >>> packed.data, packed.batch_sizes
    (tensor([1., 4., 2., 3.]), tensor([2, 1, 1]))
    >>> pad_packed_sequence(packed, batch_first=True)
    (tensor([[1., 2., 3.],
            [4., 0., 0.]]), tensor([3, 1]))
"""

from __future__ import annotations

from typing import NamedTuple

import numpy

from numnet.ops.indexing import index_select
from numnet.ops.recurrent import packed_to_padded, padded_to_packed
from numnet.ops.shape import cat, stack, transpose, unbind
from numnet.tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


def _int64(values) -> Tensor:
    return Tensor(numpy.asarray(values, dtype=numpy.int64), _raw=True)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (``out[permutation[i]] = i``)."""
    if permutation is None:
        return None
    indices = numpy.asarray(permutation.data)
    output = numpy.empty_like(indices)
    output[indices] = numpy.arange(len(indices))
    return _int64(output)


class _PackedSequence(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequence):
    """Data and batch sizes of a packed batch of sequences (see the module's docstring).

    Made by ``pack_padded_sequence`` or ``pack_sequence``, not by hand.

    Attributes:
        data: (sum of lengths, *) the steps, time-major.
        batch_sizes: int64 (L,): how many sequences are running at step t.
        sorted_indices: int64 (N,): ``sorted_indices[i]`` is the original index of the
            i-th longest sequence; None when the input was sorted.
        unsorted_indices: its inverse (None when sorted_indices is).
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            raise TypeError("PackedSequence: batch_sizes is required (build packed "
                            "sequences with pack_padded_sequence or pack_sequence)")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        """The same packing with ``data.to(*args, **kwargs)`` (dtype or device)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def float(self) -> "PackedSequence":
        return self.to(dtype=numpy.float32)

    def double(self) -> "PackedSequence":
        return self.to(dtype=numpy.float64)

    @property
    def is_cuda(self) -> bool:
        return False


def _lengths_array(lengths) -> numpy.ndarray:
    data = lengths.data if isinstance(lengths, Tensor) else numpy.asarray(lengths)
    data = numpy.asarray(data)
    if data.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{data.ndim}D")
    return data.astype(numpy.int64)


def pack_padded_sequence(input, lengths, batch_first: bool = False,  # noqa: A002
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch of sequences.

    Args:
        input: (L, N, *) padded sequences ((N, L, *) with ``batch_first``).
        lengths: N lengths (a list or an int64 tensor), each in 1..L.
        batch_first: the batch is dim 0 of ``input``.
        enforce_sorted: the lengths must be decreasing; with False the sequences are sorted
            here (a stable sort: ties keep their order, which torch's sort need not) and
            ``sorted_indices`` records the order.

    Returns:
        A PackedSequence (differentiable with respect to ``input``).

    Example:
        >>> import numnet
        >>> padded = numnet.tensor([[1.0, 2.0, 0.0], [3.0, 4.0, 5.0]])
        >>> packed = pack_padded_sequence(padded, [2, 3], batch_first=True,
        ...                               enforce_sorted=False)
        >>> packed.data, packed.batch_sizes, packed.sorted_indices
        (tensor([3., 1., 4., 2., 5.]), tensor([2, 2, 1]), tensor([1, 0]))
    """
    lengths = _lengths_array(lengths)
    if enforce_sorted:
        if numpy.any(lengths[1:] > lengths[:-1]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        sorted_indices = None
    else:
        order = numpy.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = _int64(order)
    x = transpose(input, 0, 1) if batch_first else input
    if len(lengths) != x.shape[1]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lengths)} (batch_size={x.shape[1]})")
    if len(lengths) and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if len(lengths) and lengths.max() > x.shape[0]:
        raise RuntimeError(f"Expected sequence length to be larger than or equal to "
                           f"{lengths.max()}, but got {x.shape[0]}")
    if sorted_indices is not None:
        x = index_select(x, 1, sorted_indices)
    steps = int(lengths[0]) if len(lengths) else 0
    batch_sizes = (lengths[None, :] > numpy.arange(steps)[:, None]).sum(axis=1)
    return PackedSequence(padded_to_packed(x, batch_sizes), _int64(batch_sizes),
                          sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None) -> tuple:
    """Undo ``pack_padded_sequence``: the padded batch and each sequence's length.

    Args:
        sequence: a PackedSequence.
        batch_first: return (N, L, *) instead of (L, N, *).
        padding_value: the value of the padded steps.
        total_length: pad to this length instead of the longest sequence's.

    Returns:
        ``(padded, lengths)``: the padded tensor and an int64 (N,) tensor, in the original
        order of the sequences.
    """
    batch_sizes = numpy.asarray(sequence.batch_sizes.data, dtype=numpy.int64)
    steps = len(batch_sizes)
    if total_length is not None and total_length < steps:
        raise ValueError(f"Expected total_length to be at least the length of the longest "
                         f"sequence in input, but got total_length={total_length} and max "
                         f"sequence length being {steps}")
    padded = packed_to_padded(sequence.data, batch_sizes, padding_value, total_length)
    batch = int(batch_sizes[0]) if steps else 0
    lengths = (batch_sizes[None, :] > numpy.arange(batch)[:, None]).sum(axis=1)
    if sequence.unsorted_indices is not None:
        padded = index_select(padded, 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.data]
    if batch_first:
        padded = transpose(padded, 0, 1)
    return padded, _int64(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences (L_i, *) of different lengths into one padded tensor.

    Args:
        sequences: tensors (L_i, *) with the same trailing dims (or one tensor: its rows).
        batch_first: return (N, L, *) instead of (L, N, *), L the longest L_i.
        padding_value: the value of the added steps.
        padding_side: 'right' (after each sequence) or 'left' (before it).

    Returns:
        The padded tensor (differentiable with respect to every sequence).

    Example:
        >>> import numnet
        >>> pad_sequence([numnet.tensor([1, 2, 3]), numnet.tensor([4])], batch_first=True)
        tensor([[1, 2, 3],
                [4, 0, 0]])
    """
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    sequences = list(unbind(sequences, 0)) if isinstance(sequences, Tensor) else list(
        sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            fill = Tensor(numpy.full((missing,) + tuple(s.shape[1:]), padding_value,
                                     s.dtype), _raw=True)
            s = cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """Undo ``pad_sequence``: the list of sequences (L_i, *), given their lengths."""
    lengths = _lengths_array(lengths)
    x = padded_sequences if batch_first else transpose(padded_sequences, 0, 1)
    return [x[i, :int(n)] for i, n in enumerate(lengths)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *): ``pack_padded_sequence(pad_sequence(...))``."""
    sequences = list(sequences)
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """Undo ``pack_sequence``: the list of sequences (L_i, *), in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
