"""Batch norm's piecewise passes (``ops/normalization_kernels.py``): the same bits for any
thread count, PyTorch's accuracy where the mean dwarfs the spread, and what forward keeps."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet.ops import normalization_kernels


@pytest.fixture
def threads():
    previous = numnet.get_num_threads()
    yield
    numnet.set_num_threads(previous)


def _batch_norm_step(x, gamma, beta, gy, training=True):
    """y, gx, ggamma, gbeta and the running statistics of one numnet batch norm."""
    xt = numnet.tensor(x, requires_grad=True)
    wt = numnet.tensor(gamma, requires_grad=True)
    bt = numnet.tensor(beta, requires_grad=True)
    running = (numnet.tensor(numpy.linspace(-1, 1, x.shape[1], dtype=x.dtype)),
               numnet.tensor(numpy.linspace(0.5, 2, x.shape[1], dtype=x.dtype)))
    y = F.batch_norm(xt, *running, wt, bt, training=training)
    y.backward(numnet.tensor(gy))
    return [y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy(),
            running[0].numpy(), running[1].numpy()]


@pytest.mark.parametrize("shape", [(7, 3, 5, 4), (9, 4), (6, 2, 11)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_same_bits_for_any_thread_count(shape, training, threads, monkeypatch):
    """Pieces of a few samples (``_PIECE_ELEMENTS``), 1, 2 and 3 threads: identical float32."""
    monkeypatch.setattr(normalization_kernels, "_PIECE_ELEMENTS", 10)
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=numpy.float32) * 3 + 1
    gamma, beta = (rng.standard_normal(shape[1], dtype=numpy.float32) for _ in range(2))
    gy = rng.standard_normal(shape, dtype=numpy.float32)
    assert len(normalization_kernels._pieces(x.reshape(shape[0], shape[1], -1))) > 2
    results = {}
    for count in (1, 2, 3):
        numnet.set_num_threads(count)
        results[count] = _batch_norm_step(x, gamma, beta, gy, training)
    for count in (2, 3):
        for one, many in zip(results[1], results[count]):
            numpy.testing.assert_array_equal(one, many)


@pytest.mark.parametrize("pieces", [30, 2 ** 18])
def test_batch_norm_float32_keeps_torchs_accuracy_when_the_mean_dwarfs_the_spread(
        pieces, monkeypatch):
    """x = 300 + N(0, 1) in float32: y and every gradient within a few times PyTorch's own
    float32 error of the float64 result (the regrouped formulas subtract the mean from x
    before anything is multiplied)."""
    monkeypatch.setattr(normalization_kernels, "_PIECE_ELEMENTS", pieces)
    rng = numpy.random.default_rng(1)
    shape = (16, 3, 6, 6)
    x = (300 + rng.standard_normal(shape)).astype(numpy.float32)
    gamma, beta = (rng.standard_normal(3).astype(numpy.float32) for _ in range(2))
    gy = rng.standard_normal(shape).astype(numpy.float32)

    def torch_step(dtype):
        tensors = [torch.tensor(a, dtype=dtype, requires_grad=True) for a in (x, gamma, beta)]
        y = TF.batch_norm(tensors[0], None, None, tensors[1], tensors[2], training=True)
        y.backward(torch.tensor(gy, dtype=dtype))
        return [y.detach().numpy()] + [t.grad.numpy() for t in tensors]

    exact = torch_step(torch.float64)
    theirs = torch_step(torch.float32)
    ours = _batch_norm_step(x, gamma, beta, gy)[:4]
    for name, e, t, o in zip(("y", "gx", "ggamma", "gbeta"), exact, theirs, ours):
        assert o.dtype == numpy.float32, name
        torch_error = numpy.abs(t - e).max()
        numpy.testing.assert_allclose(o, e, rtol=0, atol=4 * torch_error + 1e-5, err_msg=name)


def test_batch_norm_forward_keeps_its_input_and_no_copy_of_it():
    """Like PyTorch, backward works from the input itself: forward keeps a reference to it
    and writes only the output (no ``xhat`` or centered copy of the input's size)."""
    x = numnet.randn(4, 3, 5, 5, requires_grad=True)
    y = F.batch_norm(x, None, None, numnet.ones(3), numnet.zeros(3), training=True)
    function = y._creator
    big = [name for name, value in vars(function).items()
           if isinstance(value, numpy.ndarray) and value.size == x.numel()]
    assert big == ["x"]
    assert numpy.shares_memory(function.x, x.data)
