"""conv2d, max_pool2d, avg_pool2d against PyTorch and finite differences (ops/conv.py,
ops/pool.py), and conv2d against the reference convolution (ops/reference.py)."""

from __future__ import annotations

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet.ops import conv, conv_kernels, reference
from numnet.ops import pool as pool_ops

# (x shape, weight shape, stride, padding, with bias); gradcheck-sized
CONV_CASES = [
    ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0, False),
    ((3, 2, 7, 6), (4, 2, 3, 3), 1, 1, True),
    ((3, 3, 7, 7), (4, 3, 5, 5), 2, 2, True),
    ((1, 2, 6, 7), (4, 2, 1, 1), 1, 0, True),
    ((3, 1, 7, 8), (4, 1, 2, 3), (1, 2), (1, 0), True),
    ((1, 3, 9, 9), (1, 3, 3, 3), 3, 1, False),
    ((3, 2, 5, 7), (4, 2, 3, 3), (2, 1), 0, True),
    ((3, 2, 8, 9), (1, 2, 3, 3), 3, 2, False),
    ((1, 2, 4, 5), (4, 2, 5, 5), 1, 2, True),
    ((2, 1, 4, 3), (2, 1, 2, 2), 1, 2, True),
    ((2, 3, 5, 5), (1, 3, 5, 5), 1, 0, False),
    ((3, 2, 6, 5), (4, 2, 3, 2), 1, (0, 1), True),
]


def _conv_fns(stride, padding, bias):
    def numnet_fn(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=padding)

    def torch_fn(x, w, b=None):
        return TF.conv2d(x, w, b, stride=stride, padding=padding)
    return numnet_fn, torch_fn


@pytest.fixture(params=["col2im", "full", "auto"])
def input_grad_method(request, monkeypatch):
    """Run a test with each way of computing conv2d's input gradient."""
    monkeypatch.setattr(conv_kernels, "_INPUT_GRAD", request.param)
    return request.param


@pytest.fixture(params=[0, 10 ** 9], ids=["one-gemm", "per-sample-gemm"])
def gemm_split(request, monkeypatch):
    """Run a test with both ways of multiplying the columns: one GEMM, or one per sample."""
    monkeypatch.setattr(conv_kernels, "_PER_SAMPLE_MAX", request.param)
    return request.param


@pytest.fixture(params=["channel", "sample"])
def layout(request, monkeypatch):
    """Run a test with both column layouts: channel-major (one GEMM per chunk, wide rows)
    and sample-major (one GEMM per sample, written where the output lies), in forward and
    backward alike."""
    monkeypatch.setattr(conv_kernels, "_LAYOUT", request.param)
    return request.param


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, bias", CONV_CASES)
def test_conv2d_matches_torch(x_shape, w_shape, stride, padding, bias, input_grad_method,
                              gemm_split, layout, check_op):
    numnet_fn, torch_fn = _conv_fns(stride, padding, bias)
    specs = (x_shape, w_shape) + (((w_shape[0],),) if bias else ())
    check_op(numnet_fn, torch_fn, *specs)


# (x shape, weight shape, stride, padding, with bias): the reference convolution's cases
REFERENCE_CASES = [
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 1, True),
    ((3, 2, 9, 7), (5, 2, 5, 5), 1, 2, True),
    ((2, 3, 11, 10), (4, 3, 3, 2), 2, (1, 0), True),
    ((2, 2, 9, 9), (3, 2, 3, 3), 3, 0, False),
    ((3, 4, 7, 8), (2, 4, 2, 3), (2, 1), (0, 2), True),
    ((2, 16, 6, 6), (4, 16, 3, 3), 1, 1, False),  # K < C: the full convolution's case
]


def _reference_inputs(x_shape, w_shape, bias, seed=0):
    rng = numpy.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    return x, w, (rng.standard_normal(w_shape[:1]) if bias else None)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, bias", REFERENCE_CASES)
def test_conv2d_matches_the_reference_convolution(x_shape, w_shape, stride, padding, bias,
                                                  input_grad_method, gemm_split, layout):
    x, w, b = _reference_inputs(x_shape, w_shape, bias)
    y_ref, backward = reference.conv2d(x, w, b, stride, padding)
    gy = numpy.random.default_rng(1).standard_normal(y_ref.shape)
    expected = (y_ref,) + backward(gy)
    inputs = [numnet.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    y = F.conv2d(*inputs, stride=stride, padding=padding)
    y.backward(numnet.tensor(gy))
    got = [y.detach().numpy()] + [t.grad.numpy() for t in inputs]
    for name, g, e in zip(("y", "gx", "gW", "gb"), got, expected):
        assert g.dtype == numpy.float64 and g.shape == e.shape, name
        numpy.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12, err_msg=name)


def test_reference_convolution_matches_torch():
    x, w, b = _reference_inputs((2, 3, 9, 8), (4, 3, 3, 2), True)
    y, backward = reference.conv2d(x, w, b, stride=(2, 1), padding=(1, 2))
    gy = numpy.random.default_rng(1).standard_normal(y.shape)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = TF.conv2d(tx, tw, tb, stride=(2, 1), padding=(1, 2))
    yt.backward(torch.tensor(gy))
    for name, g, t in zip(("y", "gx", "gW", "gb"), (y,) + backward(gy),
                          (yt.detach(), tx.grad, tw.grad, tb.grad)):
        numpy.testing.assert_allclose(g, t.numpy(), rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("x_shape, w_shape, padding", [
    ((8, 6, 14, 14), (16, 6, 5, 5), 0),      # LeNet-5's second layer
    ((4, 16, 9, 9), (4, 16, 3, 3), 1),       # K < C: the full convolution's case
    ((4, 3, 12, 12), (8, 3, 3, 3), 1),
])
def test_conv2d_larger_shapes(x_shape, w_shape, padding, input_grad_method, gemm_split, layout,
                              check_op):
    numnet_fn, torch_fn = _conv_fns(1, padding, True)
    check_op(numnet_fn, torch_fn, x_shape, w_shape, (w_shape[0],), gradcheck=False)


def test_conv2d_only_some_inputs_need_grad(layout, check_op):
    numnet_fn, torch_fn = _conv_fns(1, 1, False)
    check_op(numnet_fn, torch_fn, (2, 3, 5, 6), (2, 3, 3, 3), grad=[True, False])
    check_op(numnet_fn, torch_fn, (2, 3, 5, 6), (2, 3, 3, 3), grad=[False, True])


def test_conv2d_unbatched_and_non_contiguous_input(layout, check_op):
    check_op(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
             (2, 5, 4), (3, 2, 3, 3))
    check_op(lambda x, w: F.conv2d(x.permute(0, 1, 3, 2), w, stride=2),
             lambda x, w: TF.conv2d(x.permute(0, 1, 3, 2), w, stride=2),
             (2, 3, 7, 6), (2, 3, 3, 3))


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 0)])
def test_conv2d_sum_backward_gets_a_broadcast_gradient(stride, padding, input_grad_method):
    rng = numpy.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3, 3, 3)), \
        rng.standard_normal(4)
    nx, nw, nb = (numnet.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    F.conv2d(nx, nw, nb, stride, padding).sum().backward()
    TF.conv2d(tx, tw, tb, stride, padding).sum().backward()
    for n, t in ((nx, tx), (nw, tw), (nb, tb)):
        numpy.testing.assert_allclose(n.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv2d_skips_the_input_gradient_nobody_needs(monkeypatch):
    def fail(*args):
        raise AssertionError("the input gradient was computed")
    monkeypatch.setattr(conv.Conv2d, "_input_grad_col2im", fail)
    monkeypatch.setattr(conv.Conv2d, "_input_grad_full", fail)
    x = numnet.randn(2, 1, 8, 8)
    w = numnet.randn(3, 1, 3, 3, requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 1, 3, 3)


def test_conv2d_graphs_alive_together_keep_their_own_buffers(input_grad_method, gemm_split):
    # conv2d reuses its large scratch matrices (>= 1 MiB, as here) between calls: a graph
    # still waiting for backward must keep its own, whatever runs in between
    rng = numpy.random.default_rng(5)
    xs = [rng.standard_normal((16, 8, 12, 12)) for _ in range(3)]
    w = rng.standard_normal((6, 8, 3, 3))
    gy = rng.standard_normal((16, 6, 12, 12))
    inputs = [(numnet.tensor(x, requires_grad=True), numnet.tensor(w, requires_grad=True))
              for x in xs]
    ys = [F.conv2d(*inputs[0], padding=1), F.conv2d(*inputs[1], padding=1)]
    ys[0].backward(gy)
    ys.append(F.conv2d(*inputs[2], padding=1))
    ys[1].backward(gy, retain_graph=True)
    ys[2].backward(gy)
    ys[1].backward(gy)
    for index, (x, (nx, nw)) in enumerate(zip(xs, inputs)):
        tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        TF.conv2d(tx, tw, padding=1).backward(torch.tensor(gy))
        times = 2 if index == 1 else 1  # ys[1] went backward twice
        numpy.testing.assert_allclose(nx.grad.data, times * tx.grad.numpy(), rtol=1e-10,
                                      atol=1e-10)
        numpy.testing.assert_allclose(nw.grad.data, times * tw.grad.numpy(), rtol=1e-10,
                                      atol=1e-10)


def test_conv2d_and_pools_take_an_empty_batch():
    x = numnet.zeros(0, 3, 8, 8, requires_grad=True)
    w = numnet.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (0, 4, 8, 8)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 8, 8) and not w.grad.data.any()
    assert F.max_pool2d(x, 2).shape == F.avg_pool2d(x, 2).shape == (0, 3, 4, 4)


def test_conv2d_float32_stays_float32(input_grad_method, gemm_split):
    # checked on the arrays backward returns: a leaf's .grad is cast to the leaf's dtype,
    # which would hide a float64 gradient
    rng = numpy.random.default_rng(6)
    x, w, b = (rng.standard_normal(s, dtype=numpy.float32) for s in ((2, 3, 8, 8),
                                                                      (4, 3, 3, 3), (4,)))
    for stride, padding in ((1, 1), (2, 0), (1, 0)):
        function = conv.Conv2d(stride, padding)
        function.needs_input_grad = (True, True, True)
        y = function.forward(x, w, b)
        assert y.dtype == numpy.float32
        grads = function.backward(numpy.ones_like(y))
        assert [g.dtype for g in grads] == [numpy.float32] * 3


def test_conv2d_output_size_follows_the_lecture_formula():
    # (N - F + 2P) / S + 1 with N = 32, F = 5, P = 2, S = 3: floor(31 / 3) + 1 = 11
    y = F.conv2d(numnet.zeros(1, 3, 32, 32), numnet.zeros(7, 3, 5, 5), stride=3, padding=2)
    assert y.shape == (1, 7, 11, 11)


def _message(error_type, fn, *args, **kwargs) -> str:
    with pytest.raises(error_type) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_conv2d_errors_name_the_shapes():
    x, w = numnet.zeros(2, 3, 8, 8), numnet.zeros(4, 2, 3, 3)
    message = _message(RuntimeError, F.conv2d, x, w)
    assert "(2, 3, 8, 8)" in message and "(4, 2, 3, 3)" in message and "channels" in message
    message = _message(RuntimeError, F.conv2d, numnet.zeros(8, 8), w)
    assert "(8, 8)" in message and "(4, 2, 3, 3)" in message
    message = _message(RuntimeError, F.conv2d, x, numnet.zeros(4, 3, 3))
    assert "(4, 3, 3)" in message and "(2, 3, 8, 8)" in message
    message = _message(RuntimeError, F.conv2d, numnet.zeros(1, 1, 2, 2), numnet.zeros(1, 1, 3, 3))
    assert "output size" in message and "(1, 1, 2, 2)" in message and "(3, 3)" in message
    message = _message(RuntimeError, F.conv2d, x, numnet.zeros(4, 3, 3, 3), numnet.zeros(3))
    assert "(3,)" in message and "(4, 3, 3, 3)" in message
    message = _message(RuntimeError, F.conv2d, x, numnet.zeros(4, 3, 3, 3, dtype="float64"))
    assert "float32" in message and "float64" in message
    # torch raises RuntimeError for a zero stride or negative padding too
    assert "stride" in _message(RuntimeError, F.conv2d, x, numnet.zeros(4, 3, 3, 3), stride=0)
    assert "padding" in _message(RuntimeError, F.conv2d, x, numnet.zeros(4, 3, 3, 3),
                                 padding=-1)
    assert "padding" in _message(TypeError, F.conv2d, x, numnet.zeros(4, 3, 3, 3),
                                 padding=(1, 2, 3))


# (x shape, kernel_size, stride, padding); gradcheck-sized
POOL_CASES = [
    ((2, 3, 6, 6), 2, None, 0),
    ((2, 2, 7, 7), 3, 2, 1),
    ((1, 2, 5, 7), 2, 1, 0),
    ((2, 1, 7, 5), 3, None, 1),
    ((1, 2, 6, 9), (2, 3), (1, 2), (1, 0)),
    ((2, 2, 9, 8), 3, 3, 0),
    ((2, 2, 7, 7), 3, 1, 1),
    ((3, 6, 6), 2, None, 0),
    ((1, 1, 5, 5), 2, 2, 1),
]

POOLS = [(F.max_pool2d, TF.max_pool2d), (F.avg_pool2d, TF.avg_pool2d)]


@pytest.mark.parametrize("numnet_pool, torch_pool", POOLS, ids=["max", "avg"])
@pytest.mark.parametrize("x_shape, kernel_size, stride, padding", POOL_CASES)
def test_pool_matches_torch(numnet_pool, torch_pool, x_shape, kernel_size, stride, padding,
                            check_op):
    check_op(lambda x: numnet_pool(x, kernel_size, stride, padding),
             lambda x: torch_pool(x, kernel_size, stride, padding), x_shape)


@pytest.mark.parametrize("kernel_size, stride, padding", [(2, None, 0), (3, 1, 1), (3, 2, 0)])
def test_max_pool2d_ties_go_to_the_first_maximum(kernel_size, stride, padding, check_op):
    # small integers (and the zeros ReLU makes) tie often; finite differences are undefined
    # at ties, so only the comparison with torch applies
    values = numpy.random.default_rng(2).integers(0, 2, (2, 3, 7, 7)).astype(numpy.float64)
    check_op(lambda x: F.max_pool2d(x, kernel_size, stride, padding),
             lambda x: TF.max_pool2d(x, kernel_size, stride, padding), values,
             gradcheck=False)
    zeros = numpy.zeros((1, 2, 6, 6))
    check_op(lambda x: F.max_pool2d(x, kernel_size, stride, padding),
             lambda x: TF.max_pool2d(x, kernel_size, stride, padding), zeros,
             gradcheck=False)


def test_max_pool2d_propagates_nan(check_op):
    x = numpy.random.default_rng(3).standard_normal((1, 1, 4, 4))
    x[0, 0, 1, 2] = numpy.nan
    check_op(lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), x, gradcheck=False)


@pytest.mark.parametrize("pool", [pool_ops.MaxPool2d, pool_ops.AvgPool2d])
def test_pool_float32_stays_float32(pool):
    x = numpy.random.default_rng(7).standard_normal((2, 3, 7, 7), dtype=numpy.float32)
    for kernel_size, stride, padding in ((2, None, 0), (3, 1, 1)):
        function = pool(kernel_size, stride, padding)
        function.needs_input_grad = (True,)
        y = function.forward(x)
        assert y.dtype == numpy.float32
        assert function.backward(numpy.ones_like(y)).dtype == numpy.float32


@pytest.mark.parametrize("numnet_pool, torch_pool", POOLS, ids=["max", "avg"])
def test_pool_sum_backward_gets_a_broadcast_gradient(numnet_pool, torch_pool):
    x = numpy.random.default_rng(4).standard_normal((2, 2, 7, 7))
    nx, tx = numnet.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    numnet_pool(nx, 3, 2, 1).sum().backward()
    torch_pool(tx, 3, 2, 1).sum().backward()
    numpy.testing.assert_allclose(nx.grad.data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_pool_errors_name_the_shapes(pool):
    message = _message(RuntimeError, pool, numnet.zeros(2, 3, 8, 8), 3, 1, 2)
    assert "padding" in message and "(2, 3, 8, 8)" in message
    message = _message(RuntimeError, pool, numnet.zeros(1, 1, 2, 2), 3)
    assert "output size" in message and "(1, 1, 2, 2)" in message
    assert "(8, 8)" in _message(RuntimeError, pool, numnet.zeros(8, 8), 2)
    assert "kernel_size" in _message(RuntimeError, pool, numnet.zeros(1, 1, 4, 4), 0)


def test_functional_conv_and_pooling_take_arrays_like_tensors():
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    tensors = [numnet.tensor(a) for a in (x, w, b)]
    for fn in (F.conv2d, F.conv2d_relu):
        numpy.testing.assert_array_equal(fn(x, w, b).data, fn(*tensors).data)
    for fn in (F.max_pool2d, F.avg_pool2d):
        numpy.testing.assert_array_equal(fn(x, 2).data, fn(tensors[0], 2).data)
