"""Fused ``Conv2d -> ReLU (-> MaxPool2d)`` and ``ReLU -> MaxPool2d``: ``F.conv2d_relu`` and
``F.relu_max_pool2d`` against PyTorch, and ``nn.Sequential``'s fusion against the same
layers run one by one (bit for bit)."""

import numpy
import pytest
import torch
import torch.nn.functional as TF

import numnet
import numnet.nn.functional as F
from numnet import nn
from numnet.nn import fusion
from numnet.ops import conv_kernels

CASES = [  # x shape, w shape, stride, padding, pool
    ((3, 2, 8, 8), (4, 2, 3, 3), 1, 1, None),
    ((3, 2, 8, 8), (4, 2, 3, 3), 1, 1, 2),
    ((2, 3, 9, 7), (5, 3, 3, 3), 1, 1, 2),  # 9x7 output: the last row and column unpooled
    ((2, 1, 12, 12), (6, 1, 5, 5), 1, 2, (2, 3)),
    ((2, 3, 11, 11), (4, 3, 3, 3), 2, 0, 2),  # stride 2: the im2col path without wide rows
    ((2, 6, 8, 8), (16, 6, 5, 5), 1, 2, 2),  # col2im input gradient
]


def _torch_conv_relu(stride, padding, pool):
    def fn(x, w, b):
        y = TF.relu(TF.conv2d(x, w, b, stride=stride, padding=padding))
        return y if pool is None else TF.max_pool2d(y, pool)
    return fn


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,pool", CASES)
def test_conv2d_relu_matches_torch(x_shape, w_shape, stride, padding, pool, check_op):
    check_op(lambda x, w, b: F.conv2d_relu(x, w, b, stride, padding, pool),
             _torch_conv_relu(stride, padding, pool), x_shape, w_shape, w_shape[:1])


@pytest.mark.parametrize("method", ["col2im", "full"])
def test_conv2d_relu_pool_ties_and_zeros_match_torch(method, monkeypatch, check_op):
    """A bias of -10 makes most outputs 0 after the ReLU: windows full of ties, whose
    gradient goes to the first element (and then stops at the ReLU)."""
    monkeypatch.setattr(conv_kernels, "_INPUT_GRAD", method)
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((2, 3, 8, 8))
    w = rng.standard_normal((4, 3, 3, 3))
    b = numpy.full(4, -3.0)
    check_op(lambda x, w, b: F.conv2d_relu(x, w, b, 1, 1, 2), _torch_conv_relu(1, 1, 2),
             x, w, b, gradcheck=False)


def _layers(pool_kernel=2, pool_stride=None):
    numnet.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(pool_kernel, pool_stride), nn.Conv2d(4, 5, 3),
                         nn.ReLU(), nn.Flatten(), nn.Linear(5 * 2 * 2, 3))


def _run(net, x):
    xt = numnet.tensor(x, requires_grad=True)
    y = net(xt)
    y.backward(numnet.ones_like(y))
    grads = [p.grad.numpy().copy() for p in net.parameters()]
    for p in net.parameters():
        p.grad = None
    return y.detach().numpy(), xt.grad.numpy(), grads


@pytest.mark.parametrize("threads", [1, 2])
def test_sequential_fusion_is_bit_identical_to_separate_layers(threads, monkeypatch):
    """Chunks of one sample, on 1 or 2 threads: fused and separate agree to the bit."""
    monkeypatch.setattr(conv_kernels, "_CHUNK_ELEMENTS", 1)
    monkeypatch.setattr(conv_kernels, "_PARALLEL_MIN_MACS", 0)
    previous = numnet.get_num_threads()
    numnet.set_num_threads(threads)
    try:
        net = _layers()
        x = numpy.random.default_rng(0).standard_normal((3, 3, 8, 8)).astype(numpy.float32)
        fused = _run(net, x)
        monkeypatch.setattr(fusion, "_fusable", lambda modules: 0)
        separate = _run(net, x)
    finally:
        numnet.set_num_threads(previous)
    numpy.testing.assert_array_equal(fused[0], separate[0])
    numpy.testing.assert_array_equal(fused[1], separate[1])
    for a, b in zip(fused[2], separate[2]):
        numpy.testing.assert_array_equal(a, b)


def test_sequential_fuses_only_what_nobody_can_see():
    net = _layers()
    modules = list(net)
    assert fusion._fusable(modules[0:3]) == 3  # conv, relu, pool 2 (stride 2)
    assert fusion._fusable(modules[3:6]) == 2  # conv, relu, flatten
    assert fusion._fusable(modules[1:4]) == 2  # relu, pool: relu_max_pool2d
    assert fusion._fusable(modules[2:5]) == 0
    assert fusion._fusable(list(_layers(3, 2))[0:3]) == 2  # overlapping windows
    seen = []
    handle = modules[1].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    assert fusion._fusable(modules[0:3]) == 0
    net(numnet.zeros(1, 3, 8, 8))
    assert seen == [(1, 4, 8, 8)]  # the hook saw the ReLU's own output
    handle.remove()
    handle = modules[2].register_forward_pre_hook(lambda m, args: None)
    assert fusion._fusable(modules[0:3]) == 2
    handle.remove()


class _MyReLU(nn.ReLU):
    def forward(self, x):
        return F.relu(x) * 2


def test_subclasses_are_not_fused():
    numnet.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), _MyReLU())
    net[0].weight.data[...] = 1.0
    out = net(numnet.ones(1, 1, 2, 2))
    assert float(out.sum()) == 16.0


def test_fused_layers_give_the_same_errors():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2))
    assert net(numnet.zeros(1, 1, 4, 4)).shape == (1, 2, 1, 1)  # conv output 2x2: fine
    with pytest.raises(RuntimeError) as fused:
        net(numnet.zeros(1, 1, 3, 3))  # conv output 1x1: smaller than the window
    separate = nn.MaxPool2d(2)
    with pytest.raises(RuntimeError) as alone:
        separate(numnet.zeros(1, 2, 1, 1))
    assert str(fused.value) == str(alone.value)
    with pytest.raises(RuntimeError, match="channels"):
        net(numnet.zeros(1, 3, 8, 8))


def test_fused_layers_take_unbatched_and_empty_inputs():
    numnet.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    x = numnet.randn(2, 6, 6)
    single = net(x)
    assert single.shape == (3, 3, 3)
    numpy.testing.assert_array_equal(single.detach().numpy(),
                                  net(x.unsqueeze(0))[0].detach().numpy())
    empty = numnet.zeros(0, 2, 6, 6, requires_grad=True)
    y = net(empty)
    assert y.shape == (0, 3, 3, 3)
    y.sum().backward()
    assert empty.grad.shape == (0, 2, 6, 6)


def test_fused_op_without_gradients_records_nothing():
    x, w = numnet.randn(2, 2, 6, 6), numnet.randn(3, 2, 3, 3)
    with numnet.no_grad():
        y = F.conv2d_relu(x, w, padding=1, pool=2)
    assert y.grad_fn is None
    expected = _torch_conv_relu(1, 1, 2)(torch.tensor(x.numpy()), torch.tensor(w.numpy()),
                                         None)
    numpy.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,kernel", [((3, 2, 8, 8), 2), ((2, 3, 9, 7), 2),
                                          ((2, 2, 6, 9), (2, 3)), ((3, 6, 6), 3)])
def test_relu_max_pool2d_matches_torch(shape, kernel, check_op):
    """Against torch's max_pool2d(relu(x)), unbatched and with rows and columns left over."""
    check_op(lambda x: F.relu_max_pool2d(x, kernel),
             lambda x: TF.max_pool2d(TF.relu(x), kernel), shape)


def test_relu_max_pool2d_second_derivatives_match_torch():
    """Double backward through the fused op: ``y * y`` makes the second derivative with
    respect to the input non-zero; torch's separate ops give the same."""
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 6))
    v = rng.standard_normal((2, 3, 3, 3))
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad((TF.max_pool2d(TF.relu(xt), 2) ** 2).sum(), xt,
                                create_graph=True)
    (ht,) = torch.autograd.grad((gt * gt).sum(), xt)
    xn = numnet.tensor(x, requires_grad=True)
    (gn,) = numnet.autograd.grad((F.relu_max_pool2d(xn, 2) ** 2).sum(), xn, create_graph=True)
    (hn,) = numnet.autograd.grad((gn * gn).sum(), xn)
    numpy.testing.assert_allclose(gn.detach().numpy(), gt.detach().numpy(), atol=1e-12)
    numpy.testing.assert_allclose(hn.numpy(), ht.numpy(), atol=1e-12)
    assert numnet.gradgradcheck(lambda t: F.relu_max_pool2d(t, 2), (xn,),
                                (numnet.tensor(v),))


def _bn_relu_pool(inplace=False):
    numnet.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4),
                         nn.ReLU(inplace=inplace), nn.MaxPool2d(2), nn.Flatten())


def test_sequential_fuses_relu_and_pooling_after_batch_norm_bit_for_bit(monkeypatch):
    """``BatchNorm2d, ReLU, MaxPool2d`` (the Fashion-MNIST recipe's stages): the ReLU and
    the pooling run as ``relu_max_pool2d``, with the outputs and gradients of the separate
    layers to the bit; an in-place ReLU (which changes its input) is not fused."""
    net = _bn_relu_pool()
    assert fusion._fusable(list(net)[2:4]) == 2
    assert fusion._fusable(list(_bn_relu_pool(inplace=True))[2:4]) == 0
    x = numpy.random.default_rng(0).standard_normal((3, 2, 8, 8)).astype(numpy.float32)
    seen = []
    real = fusion._relu_then_pool
    monkeypatch.setattr(fusion, "_relu_then_pool", lambda pool, t: seen.append(1)
                        or real(pool, t))
    fused = _run(net, x)
    assert seen
    monkeypatch.setattr(fusion, "_fusable", lambda modules: 0)
    separate = _run(net, x)
    numpy.testing.assert_array_equal(fused[0], separate[0])
    numpy.testing.assert_array_equal(fused[1], separate[1])
    for a, b in zip(fused[2], separate[2]):
        numpy.testing.assert_array_equal(a, b)
