"""numnet.nn.utils.rnn against torch.nn.utils.rnn: pad_sequence, pack_padded_sequence,
pad_packed_sequence, pack_sequence, unpack_sequence, unpad_sequence, with gradients."""

from __future__ import annotations

import numpy
import pytest
import torch

import numnet
from numnet.nn.utils import rnn as n_rnn

t_rnn = torch.nn.utils.rnn
LENGTHS = [3, 5, 1, 4]


def _sequences(lib, dtype=numpy.float64, feature=(2,)):
    rng = numpy.random.default_rng(0)
    arrays = [rng.standard_normal((n,) + feature).astype(dtype) for n in LENGTHS]
    return [lib.tensor(a, requires_grad=True) for a in arrays]


def _backward_both(n_out, t_out):
    upstream = numpy.random.default_rng(1).standard_normal(t_out.shape)
    (n_out * numnet.tensor(upstream.astype(n_out.dtype))).sum().backward()
    (t_out * torch.tensor(upstream.astype(n_out.dtype))).sum().backward()


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("dtype", [numpy.float64, numpy.float32])
def test_pad_sequence(batch_first, padding_side, dtype):
    n_seqs, t_seqs = _sequences(numnet, dtype, (2, 3)), _sequences(torch, dtype, (2, 3))
    n_out = n_rnn.pad_sequence(n_seqs, batch_first, -1.5, padding_side)
    t_out = t_rnn.pad_sequence(t_seqs, batch_first, -1.5, padding_side)
    assert n_out.dtype == dtype
    numpy.testing.assert_array_equal(n_out.data, t_out.detach().numpy())
    _backward_both(n_out, t_out)
    for n, t in zip(n_seqs, t_seqs):
        numpy.testing.assert_array_equal(n.grad.data, t.grad.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_and_pad_round_trip(batch_first, enforce_sorted):
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    rng = numpy.random.default_rng(2)
    x = rng.standard_normal((4, 5, 2) if batch_first else (5, 4, 2))
    n_x, t_x = numnet.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    n_packed = n_rnn.pack_padded_sequence(n_x, lengths, batch_first, enforce_sorted)
    t_packed = t_rnn.pack_padded_sequence(t_x, torch.tensor(lengths), batch_first,
                                          enforce_sorted)
    numpy.testing.assert_array_equal(n_packed.data.data, t_packed.data.detach().numpy())
    for key in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        n_value, t_value = getattr(n_packed, key), getattr(t_packed, key)
        if t_value is None:
            assert n_value is None, key
        else:
            assert n_value.dtype == numpy.int64, key
            numpy.testing.assert_array_equal(n_value.data, t_value.numpy(), err_msg=key)
    n_out, n_lengths = n_rnn.pad_packed_sequence(n_packed, batch_first, 0.5, total_length=6)
    t_out, t_lengths = t_rnn.pad_packed_sequence(t_packed, batch_first, 0.5, total_length=6)
    numpy.testing.assert_array_equal(n_out.data, t_out.detach().numpy())
    numpy.testing.assert_array_equal(n_lengths.data, t_lengths.numpy())
    _backward_both(n_out, t_out)
    numpy.testing.assert_array_equal(n_x.grad.data, t_x.grad.numpy())


def test_pack_and_unpack_sequence():
    n_seqs, t_seqs = _sequences(numnet), _sequences(torch)
    n_packed = n_rnn.pack_sequence(n_seqs, enforce_sorted=False)
    t_packed = t_rnn.pack_sequence(t_seqs, enforce_sorted=False)
    numpy.testing.assert_array_equal(n_packed.data.data, t_packed.data.detach().numpy())
    n_back, t_back = n_rnn.unpack_sequence(n_packed), t_rnn.unpack_sequence(t_packed)
    assert [tuple(s.shape) for s in n_back] == [tuple(s.shape) for s in t_back]
    for n, t in zip(n_back, n_seqs):
        numpy.testing.assert_array_equal(n.data, t.data)
    padded = n_rnn.pad_sequence(n_seqs, batch_first=True)
    for n, t in zip(n_rnn.unpad_sequence(padded, LENGTHS, batch_first=True), n_seqs):
        numpy.testing.assert_array_equal(n.data, t.data)
    assert isinstance(n_packed, tuple) and n_packed.double().data.dtype == numpy.float64


def test_errors_as_torch():
    for lib, rnn_utils in ((torch, t_rnn), (numnet, n_rnn)):
        x = lib.zeros(5, 3, 2)
        with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
            rnn_utils.pack_padded_sequence(x, lib.tensor([2, 5, 1]))
        with pytest.raises(RuntimeError, match="Length of all samples has to be greater"):
            rnn_utils.pack_padded_sequence(x, lib.tensor([5, 2, 0]))
        packed = rnn_utils.pack_padded_sequence(x, lib.tensor([5, 2, 1]))
        with pytest.raises(ValueError, match="Expected total_length to be at least"):
            rnn_utils.pad_packed_sequence(packed, total_length=4)
        with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right"):
            rnn_utils.pad_sequence([lib.zeros(2)], padding_side="middle")
